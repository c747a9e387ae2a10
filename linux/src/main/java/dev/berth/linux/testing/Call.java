package dev.berth.linux.testing;

import java.util.List;
import java.util.stream.Collectors;

/** One recorded call: {@code op} is "concern.method" ("mounts.mount", "cgroups.mkdir"), with its arguments. */
public record Call(String op, List<Object> args) {
    /** The argument at {@code i} as text ("" for null). */
    public String arg(int i) {
        Object a = args.get(i);
        return a == null ? "" : a.toString();
    }

    @Override
    public String toString() {
        return op + "(" + args.stream().map(String::valueOf).collect(Collectors.joining(", ")) + ")";
    }
}
