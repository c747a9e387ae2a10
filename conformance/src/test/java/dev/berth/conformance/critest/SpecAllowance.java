package dev.berth.conformance.critest;

import dev.berth.conformance.harness.BerthDaemon;
import dev.berth.conformance.harness.CritestResults;
import dev.berth.conformance.harness.CritestResults.Spec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Which critest specs may fail or skip where berth runs, and why (README, "Conformance"); every
 * other spec must pass. Detected from the host, never assumed: the OOMKilled spec may only fail
 * where the daemon's cgroup2 has no memory controller, the AppArmor specs only skip on a kernel
 * without AppArmor.
 */
record SpecAllowance(boolean memoryController, boolean apparmor) {
    /** critest v1.34's validation suite on Linux: the number of specs that run (pass, fail or skip). */
    static final int SPECS_IN_SUITE = 108;
    static final String DIGEST_SPEC = "[k8s.io] Image Manager public image with digest";
    static final String OOM_SPEC = "[k8s.io] Container OOM";
    static final String APPARMOR_SPECS = "[k8s.io] AppArmor";

    /** What the daemon sees: controllers of its cgroup2 root, AppArmor of the kernel. */
    static SpecAllowance of(BerthDaemon daemon) throws IOException {
        String controllers = daemon.namespace().run("cat", "/sys/fs/cgroup/cgroup.controllers").output();
        Path aa = Path.of("/sys/module/apparmor/parameters/enabled");
        boolean apparmor = Files.isReadable(aa) && Files.readString(aa).trim().startsWith("Y");
        return new SpecAllowance(Arrays.asList(controllers.trim().split("\\s+")).contains("memory"), apparmor);
    }

    Optional<String> mayFail(Spec s) {
        if (s.name().contains(DIGEST_SPEC)) {
            return Optional.of("needs the real upstream image by digest; the offline kit cannot serve it (MIRRORS.md)");
        }
        if (s.name().contains(OOM_SPEC) && !memoryController) {
            return Optional.of("the daemon's cgroup2 has no memory controller here (passes in the cgroup v2 VM)");
        }
        return Optional.empty();
    }

    Optional<String> maySkip(Spec s) {
        if (s.name().contains(APPARMOR_SPECS) && !apparmor) {
            return Optional.of("the kernel has no AppArmor");
        }
        return Optional.empty();
    }

    /** Every spec that failed or skipped without an allowance, and a short census; empty when all is well. */
    List<String> violations(CritestResults r) {
        List<String> out = new ArrayList<>();
        List<Spec> failed = r.withStatus("failed").stream().filter(s -> mayFail(s).isEmpty()).toList();
        List<Spec> skipped = r.withStatus("skipped").stream().filter(s -> maySkip(s).isEmpty()).toList();
        if (!failed.isEmpty()) {
            out.add(failed.size() + " failed spec(s) not allowed here:\n  - "
                    + String.join("\n  - ", failed.stream().map(Spec::toString).toList()));
        }
        if (!skipped.isEmpty()) {
            out.add(skipped.size() + " skipped spec(s) not allowed here:\n  - "
                    + String.join("\n  - ", skipped.stream().map(Spec::toString).toList()));
        }
        List<String> other = r.specs().stream().map(Spec::status)
                .filter(st -> !List.of("passed", "failed", "skipped", "filtered").contains(st)).distinct().toList();
        if (!other.isEmpty()) {
            out.add("unknown statuses in the result table: " + other);
        }
        return out;
    }

    /** The allowances that applied, for the report. */
    String describe() {
        return "allowed here: the digest spec fails (offline)"
                + (memoryController ? "" : "; the OOMKilled spec fails (no memory controller in the daemon's cgroup2)")
                + (apparmor ? "" : "; the AppArmor specs skip (no AppArmor in the kernel)");
    }
}
