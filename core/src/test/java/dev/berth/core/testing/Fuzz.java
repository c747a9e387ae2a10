package dev.berth.core.testing;

import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A small property-based fuzz loop: runs a check on many generated inputs, bounded by a count and a
 * time budget (CI stays within its minutes). Every run draws a new seed, so CI keeps exploring; a
 * failure names the seed and the case, and {@code -Dberth.fuzz.seed=S} replays that run exactly.
 * {@code -Dberth.fuzz.scale=N} multiplies the count and the budget for a longer local session.
 */
public final class Fuzz {
    /** One generated case: draws its input from {@code random} and asserts its properties. */
    public interface Case {
        void run(SplittableRandom random) throws Exception;
    }

    private Fuzz() {}

    /** Runs {@code tries} cases (or as many as {@code budget} allows); returns how many ran. */
    public static int run(String what, int tries, Duration budget, Case check) {
        long seed = Long.getLong("berth.fuzz.seed", System.nanoTime() ^ 0x9E3779B97F4A7C15L);
        int scale = Integer.getInteger("berth.fuzz.scale", 1);
        long deadline = System.nanoTime() + budget.toNanos() * scale;
        int n = 0;
        for (; n < tries * scale && System.nanoTime() < deadline; n++) {
            // Each case has its own stream, so case n replays without cases 0..n-1 being re-drawn alike.
            SplittableRandom r = new SplittableRandom(seed + n * 0x9E3779B97F4A7C15L);
            try {
                check.run(r);
            } catch (Throwable t) {
                throw new AssertionError(what + ": case " + n + " failed (replay with -Dberth.fuzz.seed=" + seed
                        + "): " + t, t);
            }
        }
        return n;
    }

    // ---- drawing helpers ----

    public static <T> T pick(SplittableRandom r, List<T> from) {
        return from.get(r.nextInt(from.size()));
    }

    @SafeVarargs
    public static <T> T pick(SplittableRandom r, T... from) {
        return from[r.nextInt(from.length)];
    }

    /** Lowercase letters, {@code min..max} long. */
    public static String letters(SplittableRandom r, int min, int max) {
        int len = min + r.nextInt(max - min + 1);
        StringBuilder sb = new StringBuilder(len);
        for (int i = 0; i < len; i++) {
            sb.append((char) ('a' + r.nextInt(26)));
        }
        return sb.toString();
    }

    /** Any characters, mostly printable ASCII, some control and non-ASCII ones, up to {@code max} long. */
    public static String anyString(SplittableRandom r, int max) {
        int len = r.nextInt(max + 1);
        StringBuilder sb = new StringBuilder(len);
        for (int i = 0; i < len; i++) {
            int k = r.nextInt(20);
            sb.append(k == 0 ? (char) r.nextInt(32) : k == 1 ? (char) (0x80 + r.nextInt(0x2000))
                    : (char) (32 + r.nextInt(95)));
        }
        return sb.toString();
    }

    public static byte[] bytes(SplittableRandom r, int max) {
        byte[] b = new byte[r.nextInt(max + 1)];
        r.nextBytes(b);
        return b;
    }
}
