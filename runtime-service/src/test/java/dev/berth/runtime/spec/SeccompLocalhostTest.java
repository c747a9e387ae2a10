package dev.berth.runtime.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import runtime.v1.LinuxContainerSecurityContext;
import runtime.v1.SecurityProfile;

/** Localhost seccomp profiles: which files may be read, how much of them, and that edits are seen. */
class SeccompLocalhostTest {
    @TempDir
    Path tmp;

    private static ObjectNode profile(String ref) {
        return SeccompProfiles.forContainer(LinuxContainerSecurityContext.newBuilder().setSeccomp(
                SecurityProfile.newBuilder().setProfileType(SecurityProfile.ProfileType.Localhost)
                        .setLocalhostRef(ref)).build(), Path.of("/nonexistent-default.json"), Set.of()).orElseThrow();
    }

    private static BerthException refused(String ref) {
        return assertThrows(BerthException.class, () -> profile(ref));
    }

    private static String allow(String syscall) {
        return "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"" + syscall
                + "\"],\"action\":\"SCMP_ACT_ALLOW\"}]}";
    }

    @Test
    void anEditedProfileIsReadAgain() throws IOException {
        Path f = Files.writeString(tmp.resolve("p.json"), allow("read"));
        assertTrue(profile(f.toString()).get("syscalls").toString().contains("\"read\""));
        Files.writeString(f, allow("write"));
        // same size: the modification time alone tells the change
        Files.setLastModifiedTime(f, FileTime.fromMillis(Files.getLastModifiedTime(f).toMillis() + 5_000));
        String rules = profile(f.toString()).get("syscalls").toString();
        assertTrue(rules.contains("\"write\"") && !rules.contains("\"read\""), rules);
    }

    @Test
    void theCacheIsBounded() throws IOException {
        for (int i = 0; i < SeccompProfiles.MAX_CACHED + 10; i++) {
            profile(Files.writeString(tmp.resolve("p" + i + ".json"), allow("read")).toString());
        }
        assertTrue(SeccompProfiles.cached() <= SeccompProfiles.MAX_CACHED, "cached: " + SeccompProfiles.cached());
    }

    @Test
    void onlyAbsoluteNormalPathsOfRegularFiles() throws IOException {
        assertEquals(ErrorKind.INVALID_ARGUMENT, refused("profiles/p.json").kind());
        assertEquals(ErrorKind.INVALID_ARGUMENT, refused("").kind());
        Files.writeString(tmp.resolve("p.json"), allow("read"));
        assertEquals(ErrorKind.INVALID_ARGUMENT, refused(tmp + "/sub/../p.json").kind());
        assertEquals(ErrorKind.INVALID_ARGUMENT, refused(tmp + "//p.json").kind());
        assertEquals(ErrorKind.NOT_FOUND, refused(tmp + "/missing.json").kind());
        Files.createDirectories(tmp.resolve("dir.json"));
        BerthException dir = refused(tmp + "/dir.json");
        assertEquals(ErrorKind.INVALID_ARGUMENT, dir.kind());
        assertTrue(dir.getMessage().contains("not a regular file"), dir.getMessage());
    }

    @Test
    void kernelPseudoFilesAreRefusedAlsoBehindALink() throws IOException {
        BerthException proc = refused("/proc/self/environ");
        assertEquals(ErrorKind.INVALID_ARGUMENT, proc.kind());
        assertTrue(proc.getMessage().contains("/proc"), proc.getMessage());
        assertEquals(ErrorKind.INVALID_ARGUMENT, refused("/dev/zero").kind());
        Path link = Files.createSymbolicLink(tmp.resolve("link.json"), Path.of("/proc/self/environ"));
        BerthException viaLink = refused(link.toString());
        assertEquals(ErrorKind.INVALID_ARGUMENT, viaLink.kind());
        assertTrue(viaLink.getMessage().contains("resolved"), viaLink.getMessage());
        Path fifo = tmp.resolve("fifo.json");
        new ProcessBuilder("mkfifo", fifo.toString()).start().onExit().join();
        assertEquals(ErrorKind.INVALID_ARGUMENT, refused(fifo.toString()).kind(), "a FIFO would block the read");
    }

    @Test
    void oversizedOrMalformedProfilesAreRefused() throws IOException {
        Path big = tmp.resolve("big.json");
        Files.write(big, new byte[SeccompProfiles.MAX_PROFILE_BYTES + 1]);
        BerthException tooBig = refused(big.toString());
        assertEquals(ErrorKind.INVALID_ARGUMENT, tooBig.kind());
        assertTrue(tooBig.getMessage().contains("more than"), tooBig.getMessage());
        assertEquals(ErrorKind.INVALID_ARGUMENT, refused(Files.writeString(tmp.resolve("bad.json"), "{").toString())
                .kind());
        assertEquals(ErrorKind.INVALID_ARGUMENT, refused(Files.writeString(tmp.resolve("arr.json"), "[]").toString())
                .kind());
    }

    @Test
    void aMissingDefaultProfileIsAPreconditionOfTheNode() {
        BerthException e = assertThrows(BerthException.class, () -> SeccompProfiles.forContainer(
                LinuxContainerSecurityContext.newBuilder().setSeccomp(SecurityProfile.newBuilder()
                        .setProfileType(SecurityProfile.ProfileType.RuntimeDefault)).build(),
                tmp.resolve("none.json"), Set.of()));
        assertEquals(ErrorKind.FAILED_PRECONDITION, e.kind());
        assertTrue(e.getMessage().contains("seccomp.default_profile"), e.getMessage());
    }
}
