package dev.berth.runtime.sandbox;

/**
 * Crash injection for restart-safety tests: when the environment variable BERTH_FAILPOINT names a
 * point the daemon reaches, it halts on the spot as if killed with SIGKILL (no shutdown hooks, no
 * cleanup). Unset in production; reading one variable per point costs nothing measurable.
 */
final class Failpoints {
    private static final String ACTIVE = System.getenv("BERTH_FAILPOINT");

    private Failpoints() {}

    static void hit(String point) {
        if (point.equals(ACTIVE)) {
            System.err.println("berth: failpoint " + point + " reached, halting");
            Runtime.getRuntime().halt(137);
        }
    }
}
