package dev.berth.runtime.container;

import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;
import org.junit.platform.engine.discovery.DiscoverySelectors;

/**
 * Runs JUnit test classes inside the cgroup v2 VM, where Maven cannot resolve this build's
 * modules: the host passes its test classpath and this prints one summary line and exits 0 only
 * when every test ran and passed (a skipped test counts as a failure here: in the VM nothing
 * should be missing).
 */
public final class VmJUnitRunner {
    private VmJUnitRunner() {}

    public static void main(String[] classes) {
        LauncherDiscoveryRequestBuilder request = LauncherDiscoveryRequestBuilder.request();
        for (String c : classes) {
            request.selectors(DiscoverySelectors.selectClass(c));
        }
        LauncherDiscoveryRequest built = request.build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        launcher.execute(built, listener);
        TestExecutionSummary s = listener.getSummary();
        s.printFailuresTo(new java.io.PrintWriter(System.out, true), 30);
        long skipped = s.getTestsSkippedCount() + s.getTestsAbortedCount() + s.getContainersAbortedCount();
        System.out.printf("vm-junit: succeeded=%d failed=%d skipped=%d%n",
                s.getTestsSucceededCount(), s.getTestsFailedCount() + s.getContainersFailedCount(), skipped);
        boolean ok = s.getTestsFailedCount() == 0 && s.getContainersFailedCount() == 0 && skipped == 0
                && s.getTestsSucceededCount() > 0;
        System.exit(ok ? 0 : 1);
    }
}
