package dev.berth.linux;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;

/**
 * A process' {@code /proc/<pid>/status}, read once and split into its "Name:\tvalue" fields: the
 * one parser for the memory figures, thread count and capability masks the kernel reports there.
 * A field the kernel does not report (an older kernel, a process gone to zombie) is empty.
 */
public final class ProcStatus {
    private final Map<String, String> fields;

    private ProcStatus(Map<String, String> fields) {
        this.fields = fields;
    }

    /** This process' status. */
    public static ProcStatus ofSelf() throws IOException {
        return parse(Files.readString(Path.of("/proc/self/status")));
    }

    /** From the text of a status file. */
    public static ProcStatus parse(String text) {
        Map<String, String> fields = new HashMap<>();
        for (String line : text.split("\n")) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                fields.put(line.substring(0, colon), line.substring(colon + 1).strip());
            }
        }
        return new ProcStatus(fields);
    }

    /** A memory figure such as VmRSS (which the kernel gives in kB), in bytes. */
    public OptionalLong bytes(String name) {
        OptionalLong kib = number(name);
        return kib.isPresent() ? OptionalLong.of(kib.getAsLong() << 10) : kib;
    }

    /** A decimal field such as Threads; for a figure with a unit or several figures, the first ("1234 kB": 1234). */
    public OptionalLong number(String name) {
        String v = fields.get(name);
        if (v == null) {
            return OptionalLong.empty();
        }
        int end = 0;
        while (end < v.length() && !Character.isWhitespace(v.charAt(end))) {
            end++;
        }
        return OptionalLong.of(Long.parseLong(v, 0, end, 10));
    }

    /** A hexadecimal mask such as CapEff or CapBnd. */
    public OptionalLong mask(String name) {
        String v = fields.get(name);
        return v == null ? OptionalLong.empty() : OptionalLong.of(Long.parseUnsignedLong(v, 16));
    }
}
