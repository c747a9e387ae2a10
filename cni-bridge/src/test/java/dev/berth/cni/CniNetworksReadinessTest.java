package dev.berth.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** NetworkReady follows the real state of the config dir and plugin dirs. */
class CniNetworksReadinessTest {
    @TempDir
    Path dir;

    CniNetworks networks() {
        return new CniNetworks(new CniSettings(dir.resolve("net.d"), List.of(dir.resolve("bin")), dir.resolve("state"),
                "10.66.0.0/16", "berth0"), dev.berth.linux.host.LinuxHost.system());
    }

    @Test
    void readyOnTheBuiltinNetworkUntilTheConfDirHoldsAConfigThenThatOnesState() throws Exception {
        CniNetworks n = networks();
        assertEquals(Optional.empty(), n.notReadyReason());
        assertTrue(n.networkInUse().startsWith("berth from berth's built-in network"), n.networkInUse());
        assertFalse(Files.exists(dir.resolve("net.d")));
        // the cluster's add-on writes its config, naming a plugin not installed yet: not ready, saying why
        Files.createDirectories(dir.resolve("net.d"));
        Files.writeString(dir.resolve("net.d").resolve("10-calico.conflist"),
                "{\"cniVersion\":\"1.0.0\",\"name\":\"k8s-pod-network\",\"plugins\":[{\"type\":\"calico\"}]}");
        String reason = n.notReadyReason().orElseThrow();
        assertTrue(reason.contains("k8s-pod-network") && reason.contains("10-calico.conflist")
                && reason.contains("calico"), reason);
        assertTrue(n.networkInUse().startsWith("k8s-pod-network from "), n.networkInUse());
        Files.createDirectories(dir.resolve("bin"));
        Path exe = dir.resolve("bin").resolve("calico");
        Files.writeString(exe, "#!/bin/sh\nexit 0\n");
        exe.toFile().setExecutable(true);
        assertEquals(Optional.empty(), n.notReadyReason());
        try (var files = Files.list(dir.resolve("net.d"))) {
            assertEquals(List.of("10-calico.conflist"), files.map(p -> p.getFileName().toString()).toList());
        }
    }

    @Test
    void brokenConfigAndMissingPluginAreReported() throws Exception {
        Files.createDirectories(dir.resolve("net.d"));
        Files.writeString(dir.resolve("net.d").resolve("10-x.conflist"), "{broken");
        CniNetworks n = networks();
        assertTrue(n.notReadyReason().orElseThrow().contains("not valid JSON"));
        Files.writeString(dir.resolve("net.d").resolve("10-x.conflist"),
                "{\"cniVersion\":\"1.0.0\",\"name\":\"x\",\"plugins\":[{\"type\":\"nosuchplugin\"}]}");
        String reason = n.notReadyReason().orElseThrow();
        assertTrue(reason.contains("nosuchplugin") && reason.contains(dir.resolve("bin").toString()), reason);
        // the plugin appears: ready without a restart
        Files.createDirectories(dir.resolve("bin"));
        Path exe = dir.resolve("bin").resolve("nosuchplugin");
        Files.writeString(exe, "#!/bin/sh\nexit 0\n");
        exe.toFile().setExecutable(true);
        assertEquals(Optional.empty(), n.notReadyReason());
    }

    @Test
    void statusIsAskedWhereTheSpecHasIt() throws Exception {
        Files.createDirectories(dir.resolve("net.d"));
        Files.createDirectories(dir.resolve("bin"));
        Path exe = dir.resolve("bin").resolve("sick");
        Files.writeString(exe, "#!/bin/sh\ncat >/dev/null\n[ \"$CNI_COMMAND\" = STATUS ] && "
                + "echo '{\"code\":50,\"msg\":\"no upstream\"}' && exit 1\nexit 0\n");
        exe.toFile().setExecutable(true);
        Files.writeString(dir.resolve("net.d").resolve("10-x.conflist"),
                "{\"cniVersion\":\"1.1.0\",\"name\":\"x\",\"plugins\":[{\"type\":\"sick\"}]}");
        assertTrue(networks().notReadyReason().orElseThrow().contains("no upstream"));
    }
}
