package dev.berth.conformance.critest;

import dev.berth.conformance.harness.BerthDaemon;
import dev.berth.conformance.harness.Commands;
import dev.berth.conformance.harness.CritestKit;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The guest half of {@link CritestOomInVmTest}: inside the cgroup v2 VM, starts the kit's registry
 * (on a copy of the host's kit state: the guest has no network to build images), a berth daemon as
 * on the host, and critest with the given ginkgo focus; the result table goes to the report directory
 * the host shares. Exit status 0 when critest ran and wrote its table (the host judges the specs).
 *
 * <p>Arguments: REPORT_DIR HOST_KIT_STATE GINKGO_FOCUS
 */
public final class CritestInVm {
    private CritestInVm() {}

    public static void main(String[] args) throws Exception {
        Path report = Path.of(args[0]);
        Path hostState = Path.of(args[1]);
        String focus = args[2];
        Path guestState = Path.of("/tmp/critest-kit-vm");
        // What start-registry.sh reads when every image is already in the registry: the image list,
        // the unpacked busybox (else it would apt-get download it) and the registry's storage.
        for (String part : List.of("images/images.tsv", "busybox-deb", "registry/data")) {
            Files.createDirectories(guestState.resolve(part).getParent());
            Commands.run("cp", "-a", hostState.resolve(part).toString(), guestState.resolve(part).getParent().toString())
                    .orThrow();
        }
        CritestKit kit = CritestKit.locate().withState(guestState);
        step("kit state copied; starting the registry and berth");
        try (CritestKit.Registry registry = kit.startRegistry(); BerthDaemon daemon = CritestSuiteTest.startDaemon(kit, Duration.ofMinutes(5))) {
            step("berth answers; critest --ginkgo.focus=" + focus);
            CritestKit.Run run;
            try {
                run = kit.run(daemon.namespace()::wrap, daemon.endpoint(), report, Duration.ofMinutes(20),
                        List.of("--ginkgo.focus=" + focus));
            } finally {
                CritestSuiteTest.removeAllPods(daemon);
                Files.writeString(report.resolve("berth-daemon.log"), daemon.logText());
            }
            System.out.println("critest-in-vm: " + run.results().summary() + " in " + run.took().toSeconds() + " s");
        }
        System.exit(0);
    }

    private static void step(String what) {
        System.out.println("critest-in-vm: " + java.time.LocalTime.now().withNano(0) + " " + what);
    }
}
