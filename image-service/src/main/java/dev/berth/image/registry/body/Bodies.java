package dev.berth.image.registry.body;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import java.io.IOException;
import java.io.InputStream;

/** Reading small response bodies whole, within a bound, and throwing clear errors. */
public final class Bodies {
    private Bodies() {}

    /**
     * Reads {@code body} fully and closes it, refusing more than {@code limit} bytes
     * (RESOURCE_EXHAUSTED naming the limit). A stall or a cut connection is UNAVAILABLE; an
     * interrupted read (the client cancelled) says so.
     */
    public static byte[] readLimited(InputStream body, int limit, String what) {
        try (InputStream in = body) {
            byte[] data = in.readNBytes(limit + 1);
            if (data.length > limit) {
                throw new BerthException(ErrorKind.RESOURCE_EXHAUSTED, what + ": the response is larger than the "
                        + limit + "-byte limit");
            }
            return data;
        } catch (IOException e) {
            if (Thread.currentThread().isInterrupted()) {
                throw cancelled(what, e);
            }
            throw BerthException.unavailable(what + ": reading the response failed: " + e.getMessage(), e);
        }
    }

    /** The pull was cancelled: the client went away (its thread was interrupted). */
    public static BerthException cancelled(String what, Throwable cause) {
        return new BerthException(ErrorKind.UNAVAILABLE, what + ": cancelled by the client", cause);
    }
}
