package dev.berth.runtime.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import runtime.v1.Int64Value;
import runtime.v1.LinuxContainerSecurityContext;
import runtime.v1.SupplementalGroupsPolicy;

/** The process identity: primary gid, image groups (Merge only) and supplemental_groups. */
class UserSpecTest {
    @TempDir
    Path tmp;

    private Path rootfs;

    @BeforeEach
    void imageLikeTheCritestOne() throws IOException {
        // As critest's test-image-predefined-group: default-user (1000) is in group 50000 in /etc/group.
        rootfs = tmp.resolve("rootfs");
        Files.createDirectories(rootfs.resolve("etc"));
        Files.writeString(rootfs.resolve("etc/passwd"),
                "root:x:0:0:root:/root:/bin/sh\ndefault-user:x:1000:1000::/home/default-user:/bin/sh\n");
        Files.writeString(rootfs.resolve("etc/group"),
                "root:x:0:\ndefault-user:x:1000:\ngroup-defined-in-image:x:50000:default-user\n");
    }

    private static LinuxContainerSecurityContext.Builder runAs1000With1234() {
        return LinuxContainerSecurityContext.newBuilder()
                .setRunAsUser(Int64Value.newBuilder().setValue(1000)).addSupplementalGroups(1234);
    }

    @Test
    void mergeAddsTheImageGroupsOfTheUser() {
        UserSpec.User u = UserSpec.resolve(runAs1000With1234().build(), "1000", rootfs, "c");
        assertEquals(new UserSpec.User(1000, 1000, List.of(1000L, 50000L, 1234L)), u);
    }

    @Test
    void strictTakesOnlyWhatTheRequestNames() {
        UserSpec.User u = UserSpec.resolve(runAs1000With1234()
                .setSupplementalGroupsPolicy(SupplementalGroupsPolicy.Strict).build(), "1000", rootfs, "c");
        assertEquals(new UserSpec.User(1000, 1000, List.of(1000L, 1234L)), u,
                "the gid from /etc/passwd stays; /etc/group adds nothing");
    }

    @Test
    void strictWithRunAsGroupAndNoSupplementalGroups() {
        UserSpec.User u = UserSpec.resolve(LinuxContainerSecurityContext.newBuilder()
                .setRunAsUser(Int64Value.newBuilder().setValue(1000)).setRunAsGroup(Int64Value.newBuilder().setValue(7))
                .setSupplementalGroupsPolicy(SupplementalGroupsPolicy.Strict).build(), "", rootfs, "c");
        assertEquals(new UserSpec.User(1000, 7, List.of(7L)), u);
    }

    @Test
    void specJsonCarriesTheGroupsInOrder() throws IOException {
        var spec = SpecBuilder.JSON.createObjectNode();
        spec.putObject("process");
        UserSpec.User u = UserSpec.resolve(runAs1000With1234().build(), "", rootfs, "c");
        UserSpec.write(spec, u);
        assertEquals("{\"process\":{\"user\":{\"uid\":1000,\"gid\":1000,\"additionalGids\":[1000,50000,1234]}}}",
                SpecBuilder.JSON.writeValueAsString(spec));
    }
}
