package dev.berth.image.unpack;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Writes tar bytes by hand, for archives a tar library would refuse to write (binary PAX values, lying sizes). */
final class RawTar {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    /** A ustar header; {@code data} (may be null) follows, padded to 512. {@code size} is what the header claims. */
    RawTar entry(char type, String name, long size, byte[] data, long mtimeSeconds) {
        return entry(type, name, "", size, data, mtimeSeconds);
    }

    /** A symlink ('2') or hard link ('1') to {@code target}. */
    RawTar link(char type, String name, String target) {
        return entry(type, name, target, 0, null, 1_000_000);
    }

    private RawTar entry(char type, String name, String link, long size, byte[] data, long mtimeSeconds) {
        byte[] h = new byte[512];
        put(h, 0, name.getBytes(StandardCharsets.UTF_8), 100);
        put(h, 157, link.getBytes(StandardCharsets.UTF_8), 100);
        octal(h, 100, 8, type == '5' ? 0755 : 0644);
        octal(h, 108, 8, 0);
        octal(h, 116, 8, 0);
        octal(h, 124, 12, size);
        octal(h, 136, 12, mtimeSeconds);
        h[156] = (byte) type;
        put(h, 257, "ustar\0".getBytes(StandardCharsets.US_ASCII), 6);
        put(h, 263, "00".getBytes(StandardCharsets.US_ASCII), 2);
        for (int i = 148; i < 156; i++) {
            h[i] = ' ';
        }
        long sum = 0;
        for (byte b : h) {
            sum += b & 0xff;
        }
        byte[] cs = String.format("%06o\0 ", sum).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(cs, 0, h, 148, 8);
        out.writeBytes(h);
        if (data != null) {
            out.writeBytes(data);
            int pad = (int) ((512 - data.length % 512) % 512);
            out.writeBytes(new byte[pad]);
        }
        return this;
    }

    RawTar file(String name, String content) {
        byte[] d = content.getBytes(StandardCharsets.UTF_8);
        return entry('0', name, d.length, d, 1_000_000);
    }

    RawTar dir(String name, long mtimeSeconds) {
        return entry('5', name, 0, null, mtimeSeconds);
    }

    /** A PAX extended header whose records are given as raw key and value bytes. */
    RawTar pax(Object... keyValues) {
        ByteArrayOutputStream recs = new ByteArrayOutputStream();
        for (int i = 0; i < keyValues.length; i += 2) {
            byte[] k = ((String) keyValues[i]).getBytes(StandardCharsets.UTF_8);
            byte[] v = keyValues[i + 1] instanceof byte[] b ? b : ((String) keyValues[i + 1]).getBytes(StandardCharsets.UTF_8);
            int body = 1 + k.length + 1 + v.length + 1; // " k=v\n"
            int len = body + Integer.toString(body).length();
            if (Integer.toString(len).length() != Integer.toString(body).length()) {
                len++;
            }
            recs.writeBytes(Integer.toString(len).getBytes(StandardCharsets.US_ASCII));
            recs.write(' ');
            recs.writeBytes(k);
            recs.write('=');
            recs.writeBytes(v);
            recs.write('\n');
        }
        byte[] d = recs.toByteArray();
        return entry('x', "PaxHeaders/x", d.length, d, 0);
    }

    byte[] bytes() {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        all.writeBytes(out.toByteArray());
        all.writeBytes(new byte[1024]);
        return all.toByteArray();
    }

    private static void put(byte[] h, int off, byte[] v, int max) {
        System.arraycopy(v, 0, h, off, Math.min(v.length, max));
    }

    private static void octal(byte[] h, int off, int len, long v) {
        String s = String.format("%0" + (len - 1) + "o", v);
        if (s.length() > len - 1) {
            s = s.substring(s.length() - (len - 1)); // a generated size too big for the field: keep its low digits
        }
        put(h, off, s.getBytes(StandardCharsets.US_ASCII), len - 1);
        h[off + len - 1] = 0;
    }
}
