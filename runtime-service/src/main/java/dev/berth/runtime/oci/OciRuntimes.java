package dev.berth.runtime.oci;

import dev.berth.core.error.BerthException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** The configured runtimes by RuntimeClass handler ({@code runtimes.<handler>} in the config). */
public final class OciRuntimes {
    private final Map<String, OciRuntime> byHandler = new LinkedHashMap<>();
    private final String defaultHandler;

    /**
     * @param binaries handler -> runtime binary
     * @param stateDir each runtime keeps its state under {@code stateDir/<handler>}
     */
    public OciRuntimes(Map<String, Path> binaries, String defaultHandler, Path stateDir) {
        binaries.forEach((h, bin) -> byHandler.put(h, new RuncCli(h, bin, stateDir.resolve(h))));
        if (!byHandler.containsKey(defaultHandler)) {
            throw BerthException.invalid("runtime.default_handler %s has no runtimes.%s entry", defaultHandler,
                    defaultHandler);
        }
        this.defaultHandler = defaultHandler;
    }

    /** Runtimes already made (tests drive a fake one); the first with {@code defaultHandler}'s name is the default. */
    public OciRuntimes(java.util.List<OciRuntime> runtimes, String defaultHandler) {
        runtimes.forEach(r -> byHandler.put(r.handler(), r));
        if (!byHandler.containsKey(defaultHandler)) {
            throw BerthException.invalid("no runtime serves the default handler %s", defaultHandler);
        }
        this.defaultHandler = defaultHandler;
    }

    /** The runtime for a handler; "" means the default. Unknown -> INVALID_ARGUMENT. */
    public OciRuntime forHandler(String handler) {
        String h = handler == null || handler.isEmpty() ? defaultHandler : handler;
        OciRuntime r = byHandler.get(h);
        if (r == null) {
            throw BerthException.invalid("unknown runtime handler \"%s\": configured handlers are %s", h,
                    byHandler.keySet());
        }
        return r;
    }

    /** Every configured runtime, in configuration order. */
    public java.util.Collection<OciRuntime> all() {
        return java.util.Collections.unmodifiableCollection(byHandler.values());
    }

    public String defaultHandler() {
        return defaultHandler;
    }
}
