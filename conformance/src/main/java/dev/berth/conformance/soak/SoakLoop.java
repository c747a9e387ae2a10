package dev.berth.conformance.soak;

import dev.berth.conformance.harness.BerthDaemon;
import dev.berth.conformance.harness.Commands;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import runtime.v1.ListPodSandboxRequest;
import runtime.v1.PodSandbox;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.StopPodSandboxRequest;

/**
 * Pod cycles with a number in flight, optionally with kill -9 of the daemon at random points: on a
 * kill new cycles wait, the cycles under way end at their failed call, the daemon is restarted, and
 * every cycle cut short is judged ({@link PodCycle#judge}) and cleaned up before the loop goes on.
 * Pods berth made for a RunPodSandbox it never answered must be removable too.
 */
public final class SoakLoop {
    /** What one run gives: per-step timings, daemon RSS samples (KiB), kills done and violations. */
    public record Result(Timings timings, List<long[]> rss, int completed, int interrupted, List<String> killedDuring,
            List<String> violations, double seconds) {}

    private final BerthDaemon d;
    private final String image;
    private final int cycles;
    private final int parallel;
    private final int kills;
    private final Random random;
    private final Timings timings = new Timings(PodCycle.STEPS);
    private final List<String> violations = Collections.synchronizedList(new ArrayList<>());
    private final List<PodCycle> limbo = Collections.synchronizedList(new ArrayList<>());
    private final List<long[]> rss = Collections.synchronizedList(new ArrayList<>());
    private final List<String> killedDuring = new ArrayList<>();
    private final AtomicInteger next = new AtomicInteger();
    /** Cycles that ran to the end; the loop runs until this reaches {@code cycles}. */
    private final AtomicInteger completed = new AtomicInteger();
    private final AtomicInteger busy = new AtomicInteger();
    private final Object gate = new Object();
    private final Set<PodCycle> running = Collections.synchronizedSet(new HashSet<>());
    private volatile boolean open = true;
    private volatile int generation;

    public SoakLoop(BerthDaemon d, String image, int cycles, int parallel, int kills, long seed) {
        this.d = d;
        this.image = image;
        this.cycles = cycles;
        this.parallel = parallel;
        this.kills = kills;
        this.random = new Random(seed);
    }

    public Result run() throws Exception {
        long t0 = System.nanoTime();
        ExecutorService pool = Executors.newFixedThreadPool(parallel);
        List<Future<?>> workers = new ArrayList<>();
        for (int i = 0; i < parallel; i++) {
            workers.add(pool.submit(this::work));
        }
        int stretch = Math.max(1, cycles / (kills + 1));
        for (int k = 0; k < kills; k++) {
            // spread kills over the loop, each at a random moment of its stretch of completed cycles
            int at = (k + 1) * stretch - random.nextInt(Math.max(1, stretch / 2));
            while (completed.get() < at) {
                Thread.sleep(20);
            }
            Thread.sleep(random.nextInt(1500));
            if (completed.get() >= cycles) {
                break;
            }
            killAndRecover();
        }
        for (Future<?> w : workers) {
            w.get();
        }
        pool.shutdown();
        return new Result(timings, List.copyOf(rss), completed.get(), limbo.size(), killedDuring,
                List.copyOf(violations), (System.nanoTime() - t0) / 1e9);
    }

    private void work() {
        int n;
        while (true) {
            synchronized (gate) {
                while (!open) {
                    try {
                        gate.wait();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
                if (completed.get() + busy.get() >= cycles) {
                    return;
                }
                n = next.getAndIncrement();
                busy.incrementAndGet();
            }
            PodCycle c = new PodCycle(n);
            int gen = generation;
            running.add(c);
            boolean done = false;
            try {
                c.run(d, image, timings);
                Commands.run("rm", "-rf", PodCycle.logDir(d).resolve("cycle-" + n).toString());
                done = true;
            } catch (RuntimeException e) {
                if (generation != gen || !open) {
                    limbo.add(c); // cut short by a kill: judged after the restart
                } else {
                    violations.add("cycle " + n + ": " + c.inFlight + " failed: " + describe(e));
                    violations.addAll(c.cleanUp(d));
                    done = true; // counted, so that a runtime failing every cycle still ends the loop
                }
            } finally {
                running.remove(c);
                if (done) {
                    int count = completed.incrementAndGet();
                    if (count % Math.max(1, cycles / 10) == 0) {
                        rss.add(new long[] {count, Census.statusField(Census.daemonJavaPid(d), "VmRSS:")});
                    }
                }
                busy.decrementAndGet();
            }
        }
    }

    static String describe(Throwable e) {
        return e instanceof StatusRuntimeException s ? s.getStatus().toString() : e.toString();
    }

    private void killAndRecover() throws Exception {
        synchronized (gate) {
            open = false;
        }
        List<String> steps = new ArrayList<>();
        synchronized (running) {
            running.forEach(c -> steps.add(String.valueOf(c.inFlight)));
        }
        generation++;
        d.kill9();
        killedDuring.add(steps.isEmpty() ? "(between calls)" : String.join(",", steps));
        while (busy.get() > 0) {
            Thread.sleep(20);
        }
        d.startProcess(Soak.START_TIMEOUT);
        List<PodCycle> cut;
        synchronized (limbo) {
            cut = limbo.stream().filter(c -> !c.judged).toList();
        }
        for (PodCycle c : cut) {
            c.judged = true;
            violations.addAll(c.judge(d));
            violations.addAll(c.cleanUp(d));
        }
        // pods made for a RunPodSandbox berth never answered: they must go like any other
        for (PodSandbox p : PodCycle.rt(d).listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList()) {
            if (!p.getMetadata().getNamespace().equals(PodCycle.NAMESPACE)) {
                continue;
            }
            try {
                PodCycle.rt(d).stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(p.getId()).build());
                PodCycle.rt(d).removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(p.getId()).build());
            } catch (StatusRuntimeException e) {
                violations.add("unanswered pod " + p.getMetadata().getName() + " not removable: " + e.getStatus());
            }
        }
        synchronized (gate) {
            open = true;
            gate.notifyAll();
        }
    }
}
