package dev.berth.server.metrics;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.config.MeterFilter;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/**
 * Keeps /metrics clean for {@code promtool check metrics} where meters come from Micrometer's own
 * binders: help texts with double quotes (escaped as {@code \"}, which the text format does not
 * know) get apostrophes; {@code system.cpu.count} (a gauge must not end in _count) is published as
 * {@code system.cpus}; {@code process.cpu.time} (in "ns", an abbreviated unit) is left out: the
 * pod and container CPU figures come from cgroups, and the JVM's own from process_cpu_usage.
 */
@Singleton
public class ExpositionFilters {
    @Produces
    @Singleton
    MeterFilter noAbbreviatedUnits() {
        // Netty's allocator meters (should the binder be on) have no help text either.
        return MeterFilter.deny(id -> id.getName().equals("process.cpu.time") || id.getName().startsWith("netty."));
    }

    @Produces
    @Singleton
    MeterFilter promtoolClean() {
        return new MeterFilter() {
            @Override
            public Meter.Id map(Meter.Id id) {
                Meter.Id out = id.getName().equals("system.cpu.count") ? id.withName("system.cpus") : id;
                String d = out.getDescription();
                if (d == null || d.indexOf('"') < 0) {
                    return out;
                }
                return new Meter.Id(out.getName(), Tags.of(out.getTags()), out.getBaseUnit(), d.replace('"', '\''),
                        out.getType());
            }
        };
    }
}
