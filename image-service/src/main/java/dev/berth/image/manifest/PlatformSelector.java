package dev.berth.image.manifest;

import dev.berth.core.error.BerthException;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Chooses the manifest for this node from an index: same os and architecture; for the variant, an
 * exact match if the node has one, else an entry without variant, else the lowest variant (amd64 "v1"
 * runs everywhere "v2".. does not).
 */
public record PlatformSelector(String os, String architecture, String variant) {
    public static final PlatformSelector LINUX_AMD64 = new PlatformSelector("linux", "amd64", "");

    /** "linux/amd64" or "linux/arm/v7". */
    public static PlatformSelector parse(String s) {
        String[] p = s.split("/");
        if (p.length < 2 || p.length > 3) {
            throw BerthException.invalid("platform %s must be os/architecture[/variant]", s);
        }
        return new PlatformSelector(p[0], p[1], p.length == 3 ? p[2] : "");
    }

    public Descriptor select(List<Descriptor> manifests, String what) {
        List<Descriptor> same = manifests.stream()
                .filter(d -> d.platform() != null && os.equals(d.platform().os())
                        && architecture.equals(d.platform().architecture()))
                .filter(d -> d.mediaType() == null || MediaTypes.isManifest(d.mediaType()))
                .toList();
        Optional<Descriptor> chosen;
        if (!variant.isEmpty()) {
            chosen = same.stream().filter(d -> variant.equals(d.platform().variant())).findFirst();
        } else {
            chosen = same.stream().filter(d -> d.platform().variant() == null || d.platform().variant().isEmpty())
                    .findFirst()
                    .or(() -> same.stream().min(Comparator.comparing(d -> d.platform().variant())));
        }
        if (chosen.isEmpty() && manifests.stream().anyMatch(d -> d.platform() != null
                && os.equals(d.platform().os()) && architecture.equals(d.platform().architecture())
                && d.mediaType() != null && MediaTypes.isIndex(d.mediaType()))) {
            // an index whose entry for this node is itself an index: one level is what the spec asks for
            throw BerthException.precondition("%s: the image index names another index for platform %s; nested "
                    + "indexes are not supported", what, this);
        }
        return chosen.orElseThrow(() -> BerthException.notFound("%s: the image index has no manifest for platform %s "
                + "(it offers %s)", what, this, manifests.stream()
                        .map(d -> d.platform() == null ? "?" : d.platform().os() + "/" + d.platform().architecture()
                                + (d.platform().variant() == null ? "" : "/" + d.platform().variant()))
                        .toList()));
    }

    @Override
    public String toString() {
        return os + "/" + architecture + (variant.isEmpty() ? "" : "/" + variant);
    }
}
