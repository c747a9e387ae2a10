package dev.berth.runtime.oci;

import dev.berth.core.error.BerthException;
import java.nio.file.Path;
import java.util.AbstractSet;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The configured runtimes by RuntimeClass handler ({@code runtimes.<handler>} in the config).
 * A reload ({@link #replace}) swaps the whole set at once; a handler it drops stays reachable by
 * name for the containers that already run on it, but new pods cannot ask for it.
 */
public final class OciRuntimes {
    private volatile Map<String, OciRuntime> byHandler;
    private final Map<String, OciRuntime> retired = new ConcurrentHashMap<>();
    private final String defaultHandler;
    private final Path stateDir;

    /**
     * @param binaries handler -> runtime binary
     * @param stateDir each runtime keeps its state under {@code stateDir/<handler>}
     */
    public OciRuntimes(Map<String, Path> binaries, String defaultHandler, Path stateDir) {
        this.stateDir = stateDir;
        this.defaultHandler = defaultHandler;
        this.byHandler = build(binaries);
    }

    private Map<String, OciRuntime> build(Map<String, Path> binaries) {
        Map<String, OciRuntime> m = new LinkedHashMap<>();
        binaries.forEach((h, bin) -> m.put(h, new RuncCli(h, bin, stateDir.resolve(h))));
        if (!m.containsKey(defaultHandler)) {
            throw BerthException.invalid("runtime.default_handler %s has no runtimes.%s entry", defaultHandler,
                    defaultHandler);
        }
        return Collections.unmodifiableMap(m);
    }

    /** Swaps in a new handler -> binary map (the default handler must stay); returns what it was. */
    public synchronized Map<String, Path> replace(Map<String, Path> binaries) {
        if (stateDir == null) {
            throw new IllegalStateException("runtimes made by the caller cannot be reloaded from binaries");
        }
        Map<String, Path> before = binaries();
        Map<String, OciRuntime> next = build(binaries);
        byHandler.forEach((h, r) -> {
            if (!next.containsKey(h)) {
                retired.put(h, r);
            }
        });
        next.keySet().forEach(retired::remove);
        byHandler = next;
        return before;
    }

    /** The current handler -> binary map. */
    public Map<String, Path> binaries() {
        Map<String, Path> m = new LinkedHashMap<>();
        byHandler.forEach((h, r) -> m.put(h, r.binary()));
        return m;
    }

    /** Runtimes already made (tests drive a fake one); the first with {@code defaultHandler}'s name is the default. */
    public OciRuntimes(java.util.List<OciRuntime> runtimes, String defaultHandler) {
        Map<String, OciRuntime> m = new LinkedHashMap<>();
        runtimes.forEach(r -> m.put(r.handler(), r));
        if (!m.containsKey(defaultHandler)) {
            throw BerthException.invalid("no runtime serves the default handler %s", defaultHandler);
        }
        this.byHandler = Collections.unmodifiableMap(m);
        this.defaultHandler = defaultHandler;
        this.stateDir = null; // made runtimes: a reload (replace) needs the binaries' constructor
    }

    /** The runtime for a handler; "" means the default. Unknown -> INVALID_ARGUMENT. */
    public OciRuntime forHandler(String handler) {
        String h = handler == null || handler.isEmpty() ? defaultHandler : handler;
        Map<String, OciRuntime> now = byHandler;
        OciRuntime r = now.get(h);
        if (r == null) {
            r = retired.get(h);
        }
        if (r == null) {
            throw BerthException.invalid("unknown runtime handler \"%s\": configured handlers are %s", h,
                    now.keySet());
        }
        return r;
    }

    /** Every configured runtime, in configuration order. */
    public java.util.Collection<OciRuntime> all() {
        return byHandler.values();
    }

    /** The configured handler names, as a live view (follows {@link #replace}). */
    public Set<String> handlers() {
        return new AbstractSet<>() {
            @Override
            public Iterator<String> iterator() {
                return byHandler.keySet().iterator();
            }

            @Override
            public int size() {
                return byHandler.size();
            }

            @Override
            public boolean contains(Object o) {
                return byHandler.containsKey(o);
            }
        };
    }

    public String defaultHandler() {
        return defaultHandler;
    }
}
