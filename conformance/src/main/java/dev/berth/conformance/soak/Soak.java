package dev.berth.conformance.soak;

import dev.berth.conformance.harness.BerthDaemon;
import dev.berth.conformance.harness.LocalRegistry;
import dev.berth.conformance.harness.TestImages;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import runtime.v1.ImageSpec;
import runtime.v1.PullImageRequest;

/**
 * {@code ./berth soak cycles [N] [--parallel P] [--seed S]} and {@code ./berth soak chaos [--cycles N]
 * [--parallel P] [--kills K] [--seed S]}: a private berth daemon (own mount namespace, socket, state,
 * bridge and subnet) against a local registry's busybox image; prints tables and exits 1 on any
 * violation (a census difference, a failed call, an untruthful status after a crash).
 */
public final class Soak {
    /** The JVM's start takes 5-50 s on a loaded 2-core machine. */
    static final java.time.Duration START_TIMEOUT = java.time.Duration.ofSeconds(180);

    private Soak() {}

    /** Registry, daemon and pulled image of one soak run. */
    record Setup(LocalRegistry registry, BerthDaemon daemon, String image) implements AutoCloseable {
        static Setup start(Map<String, String> env) throws Exception {
            LocalRegistry reg = LocalRegistry.start();
            BerthDaemon d = null;
            try {
                String image = TestImages.pushBusybox(reg, "soak/busybox", "1").reference();
                d = BerthDaemon.prepare(env);
                d.startProcess(START_TIMEOUT);
                d.client().images().pullImage(PullImageRequest.newBuilder()
                        .setImage(ImageSpec.newBuilder().setImage(image)).build());
                return new Setup(reg, d, image);
            } catch (Exception | Error e) {
                if (d != null) {
                    d.close();
                }
                reg.close();
                throw e;
            }
        }

        @Override
        public void close() {
            Census.removeTop(daemon);
            daemon.close();
            registry.close();
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0 || !(args[0].equals("cycles") || args[0].equals("chaos"))) {
            System.err.println("usage: ./berth soak cycles [N=1000] [--parallel 8] [--seed S]\n"
                    + "       ./berth soak chaos [--cycles 200] [--parallel 8] [--kills 20] [--seed S]");
            System.exit(2);
        }
        Options o = Options.parse(args);
        List<String> violations = args[0].equals("cycles") ? cycles(o) : Chaos.run(o);
        System.out.println(violations.isEmpty() ? "\nsoak: no violations"
                : "\nsoak: " + violations.size() + " violation(s):\n  " + String.join("\n  ", violations));
        System.exit(violations.isEmpty() ? 0 : 1);
    }

    record Options(int cycles, int parallel, int kills, long seed) {
        static Options parse(String[] args) {
            boolean chaos = args[0].equals("chaos");
            int cycles = chaos ? 200 : 1000;
            int parallel = 8;
            int kills = 20;
            long seed = System.nanoTime();
            for (int i = 1; i < args.length; i++) {
                switch (args[i]) {
                    case "--parallel" -> parallel = Integer.parseInt(args[++i]);
                    case "--kills" -> kills = Integer.parseInt(args[++i]);
                    case "--seed" -> seed = Long.parseLong(args[++i]);
                    case "--cycles" -> cycles = Integer.parseInt(args[++i]);
                    default -> cycles = Integer.parseInt(args[i]);
                }
            }
            return new Options(cycles, parallel, kills, seed);
        }
    }

    static List<String> cycles(Options o) throws Exception {
        System.out.printf("soak cycles: %d pod cycles, %d in flight, seed %d%n", o.cycles(), o.parallel(), o.seed());
        try (Setup s = Setup.start(Map.of())) {
            return loop(s, o.cycles(), o.parallel(), 0, o.seed());
        }
    }

    /**
     * Warm-up (2 x parallel cycles, so pools and caches have grown), census, the loop, census again
     * once the daemon settled; prints the tables. Shared by cycles, chaos and the CI test.
     */
    static List<String> loop(Setup s, int cycles, int parallel, int kills, long seed) throws Exception {
        BerthDaemon d = s.daemon();
        List<String> violations = new ArrayList<>(new SoakLoop(d, s.image(), 2 * parallel, parallel, 0, seed)
                .run().violations());
        Census before = Census.take(d);
        SoakLoop.Result r = new SoakLoop(d, s.image(), cycles, parallel, kills, seed).run();
        violations.addAll(r.violations());
        if (r.killedDuring().size() < kills) {
            violations.add("only " + r.killedDuring().size() + " of " + kills + " daemon kills happened");
        }
        Census after = settle(d, before);
        violations.addAll(after.differencesFrom(before));
        System.out.printf("%n%d cycles (%d cut short by kills) in %.1f s: %.2f cycles/s, %d in flight%n%n",
                r.completed(), r.interrupted(), r.seconds(), r.completed() / r.seconds(), parallel);
        System.out.print(r.timings().table());
        System.out.println();
        System.out.print(before.table(after));
        if (kills == 0) {
            // after a restart the daemon is a new process: RSS is compared within one process only
            System.out.printf("%ndaemon RSS: %.1f MiB after warm-up, %.1f MiB at the end (%+.1f MiB); samples:",
                    before.rssKiB() / 1024.0, after.rssKiB() / 1024.0, (after.rssKiB() - before.rssKiB()) / 1024.0);
            for (long[] x : r.rss()) {
                System.out.printf(" %d:%.1f", x[0], x[1] / 1024.0);
            }
            System.out.println(" (cycle:MiB)");
        } else {
            System.out.printf("%n%d daemon kills; calls in flight at each: %s%n", r.killedDuring().size(),
                    r.killedDuring());
            // what the restarts found of attachments no pod held (the daemon logs each at start)
            List<String> released = d.logText().lines().filter(l -> l.contains("released network state no pod holds"))
                    .map(l -> l.substring(l.indexOf("holds: ") + 7)).toList();
            System.out.printf("network state released at restarts: %d%s%n", released.size(),
                    released.isEmpty() ? "" : " " + released);
        }
        return violations;
    }

    /**
     * The census once it equals {@code before}, or as it is after 70 s: exits and reaping are
     * asynchronous, and the JVM's idle pool threads (the process reaper's, the virtual-thread
     * scheduler's compensating carriers) end only after a keep-alive of up to 60 s.
     */
    static Census settle(BerthDaemon d, Census before) throws InterruptedException {
        long deadline = System.nanoTime() + 70_000_000_000L;
        Census after = Census.take(d);
        while (!after.differencesFrom(before).isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(1000);
            after = Census.take(d);
        }
        return after;
    }
}
