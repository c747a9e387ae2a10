package dev.berth.linux.testing;

import dev.berth.linux.Errno;
import dev.berth.linux.host.NamespacePins;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Namespaces as numbered objects pinned by mount entries whose source is {@code nsfs:KIND:N}: a
 * namespace lives while a mount pins it, as in the kernel (where no process holds it either).
 */
public final class FakeNamespacePins implements NamespacePins {
    private final FakeLinuxHost host;
    private final AtomicInteger next = new AtomicInteger(1);
    private final java.util.Map<String, String> hostnames = new java.util.HashMap<>();

    FakeNamespacePins(FakeLinuxHost host) {
        this.host = host;
    }

    @Override
    public void createAndPin(Map<String, Path> files, String hostname) {
        synchronized (host) {
            host.record("namespaces.createAndPin", Map.copyOf(files), hostname);
            pinAll(files, files.containsKey("uts") ? hostname : null);
        }
    }

    @Override
    public void createAndPinWithUser(Map<String, Path> files, String uidMap, String gidMap) {
        synchronized (host) {
            host.record("namespaces.createAndPinWithUser", Map.copyOf(files), uidMap, gidMap);
            pinAll(files, null);
        }
    }

    @Override
    public void setHostname(Path utsns, String hostname) {
        synchronized (host) {
            host.record("namespaces.setHostname", utsns, hostname);
            FakeMounts.Entry e = host.mounts().at(utsns);
            if (e == null || !e.source().startsWith("nsfs:uts:")) {
                throw FakeLinuxHost.error("setns", utsns, Errno.EINVAL, "Invalid argument");
            }
            hostnames.put(e.source(), hostname);
        }
    }

    /** Namespaces some mount still pins ("net:3"), each once. */
    public Set<String> live() {
        synchronized (host) {
            Set<String> out = new LinkedHashSet<>();
            for (FakeMounts.Entry e : host.mounts().entries()) {
                if (e.source().startsWith("nsfs:")) {
                    out.add(e.source().substring("nsfs:".length()));
                }
            }
            return out;
        }
    }

    /** The host name set in the UTS namespace pinned at {@code utsns}, or null. */
    public String hostnameOf(Path utsns) {
        synchronized (host) {
            FakeMounts.Entry e = host.mounts().at(utsns);
            return e == null ? null : hostnames.get(e.source());
        }
    }

    private void pinAll(Map<String, Path> files, String hostname) {
        // all made before any is pinned: a failing pin leaves earlier pins, as the real thread does
        for (Map.Entry<String, Path> f : files.entrySet()) {
            String source = "nsfs:" + f.getKey() + ":" + next.getAndIncrement();
            host.mounts().add(new FakeMounts.Entry(source, f.getValue(), "nsfs"));
            if (f.getKey().equals("uts") && hostname != null) {
                hostnames.put(source, hostname);
            }
        }
    }
}
