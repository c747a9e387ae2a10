package dev.berth.server.rpc.fuzz;

import dev.berth.core.testing.Fuzz;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import dev.berth.core.testing.Fuzz;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Draws protobuf messages from their descriptors: every scalar, enum (known values and unknown
 * numbers), nested message, repeated field and map, with strings chosen to hurt (path escapes,
 * absolute paths, NULs and control characters, a megabyte string, ids of objects that exist). Or
 * mutates a message that worked: one to three fields, at any depth, replaced with drawn values.
 */
final class MessageFuzzer {
    private static final int MAX_DEPTH = 5;
    private static final int HUGE = 1 << 20;

    private final SplittableRandom r;
    private final Pools pools;

    /** Strings worth trying where a field asks for an id, an image or a path. */
    record Pools(List<String> pods, List<String> containers, List<String> images, String outside) {}

    MessageFuzzer(SplittableRandom random, Pools pools) {
        this.r = random;
        this.pools = pools;
    }

    Message generate(Message prototype) {
        Message.Builder b = prototype.newBuilderForType();
        fill(b, 0);
        return b.build();
    }

    Message mutate(Message base) {
        Message.Builder b = base.toBuilder();
        // mostly one field, so the rest of a request that worked still holds and the call goes deep
        int n = r.nextInt(10) < 7 ? 1 : 2 + r.nextInt(2);
        for (int i = 0; i < n; i++) {
            mutateOne(b, 0);
        }
        return b.build();
    }

    private void mutateOne(Message.Builder b, int depth) {
        List<FieldDescriptor> fields = b.getDescriptorForType().getFields();
        if (fields.isEmpty()) {
            return;
        }
        FieldDescriptor f = fields.get(r.nextInt(fields.size()));
        // descend into a set message field half the time, so deep fields get mutated too
        if (!f.isRepeated() && f.getJavaType() == FieldDescriptor.JavaType.MESSAGE && b.hasField(f)
                && depth < MAX_DEPTH && r.nextBoolean()) {
            Message.Builder sub = ((Message) b.getField(f)).toBuilder();
            mutateOne(sub, depth + 1);
            b.setField(f, sub.build());
            return;
        }
        if (r.nextInt(6) == 0) {
            b.clearField(f);
        } else {
            b.clearField(f);
            setField(b, f, depth);
        }
    }

    private void fill(Message.Builder b, int depth) {
        for (FieldDescriptor f : b.getDescriptorForType().getFields()) {
            if (r.nextInt(100) < (depth == 0 ? 75 : 55)) {
                setField(b, f, depth);
            }
        }
    }

    private void setField(Message.Builder b, FieldDescriptor f, int depth) {
        if (f.isRepeated()) {
            int n = r.nextInt(20) == 0 ? 10 + r.nextInt(60) : r.nextInt(4);
            for (int i = 0; i < n; i++) {
                Object v = value(b, f, depth);
                if (v != null) {
                    b.addRepeatedField(f, v);
                }
            }
        } else {
            Object v = value(b, f, depth);
            if (v != null) {
                b.setField(f, v);
            }
        }
    }

    private Object value(Message.Builder b, FieldDescriptor f, int depth) {
        return switch (f.getJavaType()) {
            case STRING -> string(f.getName());
            case BYTE_STRING -> ByteString.copyFrom(bytes());
            case BOOLEAN -> r.nextBoolean();
            case INT -> intValue();
            case LONG -> longValue();
            case FLOAT -> (float) doubleValue();
            case DOUBLE -> doubleValue();
            case ENUM -> enumValue(f.getEnumType());
            case MESSAGE -> {
                if (depth >= MAX_DEPTH) {
                    yield null;
                }
                Message.Builder sub = b.newBuilderForField(f);
                fill(sub, depth + 1);
                yield sub.build();
            }
        };
    }

    private Object enumValue(EnumDescriptor e) {
        if (r.nextInt(5) == 0 && !e.isClosed()) {
            // an open (proto3) enum carries numbers the schema does not name
            int n = r.nextBoolean() ? 1000 + r.nextInt(1000) : -1 - r.nextInt(5);
            return e.findValueByNumberCreatingIfUnknown(n);
        }
        return e.getValues().get(r.nextInt(e.getValues().size()));
    }

    private int intValue() {
        return switch (r.nextInt(8)) {
            case 0 -> 0;
            case 1 -> -1;
            case 2 -> Integer.MAX_VALUE;
            case 3 -> Integer.MIN_VALUE;
            case 4 -> 65535 + r.nextInt(3);
            default -> r.nextInt(2000) - 100;
        };
    }

    private long longValue() {
        return switch (r.nextInt(8)) {
            case 0 -> 0L;
            case 1 -> -1L;
            case 2 -> Long.MAX_VALUE;
            case 3 -> Long.MIN_VALUE;
            case 4 -> 1L << (20 + r.nextInt(43));
            default -> r.nextLong(-100, 1_000_000);
        };
    }

    private double doubleValue() {
        return switch (r.nextInt(6)) {
            case 0 -> Double.NaN;
            case 1 -> Double.POSITIVE_INFINITY;
            case 2 -> -1.5;
            case 3 -> Double.MAX_VALUE;
            default -> r.nextDouble() * 100;
        };
    }

    /** The directory for paths the runtime may create on the caller's word (see {@link #string}). */
    static String hostWritable(Pools pools) {
        return pools.outside() + "-writable";
    }

    private byte[] bytes() {
        byte[] b = new byte[r.nextInt(20) == 0 ? 64 * 1024 : r.nextInt(64)];
        r.nextBytes(b);
        return b;
    }

    String string(String fieldName) {
        String name = fieldName.toLowerCase();
        if (name.equals("host_path") || name.equals("location")) {
            // Where the caller asks the runtime to write by contract (a missing mount source is made,
            // as containerd and CRI-O do; a checkpoint goes where kubelet says): the test's own
            // place, apart from the sentinel that nothing may touch.
            return hostWritable(pools) + "/" + letters(1, 8) + (r.nextBoolean() ? "/" + letters(1, 8) : "");
        }
        int k = r.nextInt(100);
        List<String> ids = name.contains("container") ? pools.containers()
                : name.contains("sandbox") || name.contains("pod") ? pools.pods() : both();
        if (name.endsWith("id") && !ids.isEmpty() && k < 60) {
            String id = ids.get(r.nextInt(ids.size()));
            // a prefix is a valid short id; a longer one is not
            return switch (r.nextInt(6)) {
                case 0 -> id.substring(0, 1 + r.nextInt(Math.max(1, id.length() - 1)));
                case 1 -> id + "x";
                default -> id;
            };
        }
        if ((name.contains("path") || name.contains("dir")) && k < 30) {
            // a host path that does not exist: whatever berth makes of it must stay out of the host
            return pools.outside() + "/" + letters(1, 8) + (r.nextBoolean() ? "/" + letters(1, 8) : "");
        }
        if (name.contains("image") && k < 45) {
            return pools.images().get(r.nextInt(pools.images().size()));
        }
        if (k < 55) {
            return nasty();
        }
        if (k < 60) {
            return pools.outside() + "/" + letters(1, 8);
        }
        if (k < 63) {
            return "x".repeat(r.nextBoolean() ? HUGE : 300 + r.nextInt(5000));
        }
        if (k < 80) {
            return letters(1, 12);
        }
        return anyString(40);
    }

    private List<String> both() {
        List<String> all = new ArrayList<>(pools.pods());
        all.addAll(pools.containers());
        return all;
    }

    private static final List<String> NASTY = List.of("", ".", "..", "../", "../../../../etc/passwd",
            "a/../../b", "/", "/etc", "/etc/shadow", "/proc/self/root", "/proc/1/ns/net", "/dev/zero", "/sys",
            "/var/run/docker.sock", "a\0b", "\0", "\n", "a\nb", "name with spaces", "-rf", "--help", "$(id)",
            "`id`", "a;b", "a=b", "*", "%s%n", "ĉĥ\u202e", "\uD800", "0", "-1", "99999999999999999999",
            "c", "busybox", "default", "kube-system", "abc/def", "a:b", "@sha256:", "sha256:",
            "sha256:" + "0".repeat(64), "runc", "crun", "kata", "unconfined", "runtime/default",
            "localhost/../../etc", "RuntimeDefault", "127.0.0.1", "::1", "1.2.3.4\n-A INPUT -j ACCEPT",
            "TCP", "tcp", "kernel.shm_rmid_forced", "net.ipv4.ip_forward", "/bin/sh", "sh");

    private String nasty() {
        String s = NASTY.get(r.nextInt(NASTY.size()));
        return r.nextInt(5) == 0 ? s + letters(0, 4) : s;
    }

    String letters(int min, int max) {
        return Fuzz.letters(r, min, max);
    }

    private String anyString(int max) {
        return Fuzz.anyString(r, max);
    }

}
