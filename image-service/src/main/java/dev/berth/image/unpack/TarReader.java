package dev.berth.image.unpack;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads a layer tarball (ustar, POSIX pax and GNU long names) one entry at a time, holding only the
 * current header in memory. It is berth's own rather than a library's because a layer comes from
 * anyone: extended headers and long names are refused above {@link LayerUnpacker.Limits#maxHeaderBytes()}
 * before they are read (a library buffers them whole), the entry count is bounded, and xattr values
 * ({@code SCHILY.xattr.*}) are kept as the raw bytes the archive holds: they are binary (for example
 * {@code security.capability}), not text. Global pax headers are read and ignored, as containerd does.
 * Sparse files and vendor entry types are refused.
 */
final class TarReader {
    static final int BLOCK = 512;
    private static final String XATTR = "SCHILY.xattr.";

    /** One entry; {@code type} is normalized: '0' file, '1' hard link, '2' symlink, '3'-'6' nodes and dirs. */
    record Entry(String name, char type, int mode, long uid, long gid, long size, long mtimeNanos, String linkName,
            long devMajor, long devMinor, Map<String, byte[]> xattrs) {
        boolean isDirectory() {
            return type == '5';
        }
    }

    private final InputStream in;
    private final LayerUnpacker.Limits limits;
    private final String what;
    private final byte[] block = new byte[BLOCK];
    private long remaining;
    private int padding;
    private long entries;
    private boolean end;

    TarReader(InputStream in, LayerUnpacker.Limits limits, String what) {
        this.in = in;
        this.limits = limits;
        this.what = what;
    }

    /** The next entry, or null at the end-of-archive marker. Skips what is left of the current one. */
    Entry next() throws IOException {
        if (end) {
            return null;
        }
        skipRest();
        String longName = null;
        String longLink = null;
        Map<String, byte[]> pax = null;
        while (true) {
            if (!readBlock(true)) {
                end = true;
                if (longName != null || longLink != null || pax != null) {
                    throw malformed("the archive ends after an extended header, without its entry");
                }
                return null;
            }
            if (isZero(block)) {
                end = true; // end-of-archive; the caller drains the rest for hashing
                return null;
            }
            checkChecksum();
            char type = (char) (block[156] & 0xff);
            long size = number(124, 12, "size");
            switch (type) {
                case 'x', 'g', 'L', 'K' -> {
                    byte[] data = readMeta(type, size);
                    if (type == 'x') {
                        pax = parsePax(data);
                    } else if (type == 'L') {
                        longName = cString(data);
                    } else if (type == 'K') {
                        longLink = cString(data);
                    } // 'g': global headers apply to no entry here (as in containerd)
                    continue;
                }
                default -> {
                    // a real entry
                }
            }
            if (++entries > limits.maxEntries()) {
                throw new BerthException(ErrorKind.RESOURCE_EXHAUSTED, what + ": the layer has more than "
                        + limits.maxEntries() + " entries, the limit per layer");
            }
            return entry(type, size, longName, longLink, pax == null ? Map.of() : pax);
        }
    }

    /** The current entry's data; ends at the entry's end. */
    InputStream data() {
        return new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (remaining <= 0) {
                    return -1;
                }
                int n = in.read(b, off, (int) Math.min(len, remaining));
                if (n < 0) {
                    throw malformed("the archive is truncated inside an entry's data");
                }
                remaining -= n;
                return n;
            }
        };
    }

    private Entry entry(char rawType, long headerSize, String longName, String longLink, Map<String, byte[]> pax)
            throws IOException {
        boolean gnu = block[257] == 'u' && block[262] == ' '; // "ustar  ": old GNU, no prefix field
        String name = longName != null ? longName : cString(block, 0, 100);
        if (longName == null && !gnu) {
            String prefix = cString(block, 345, 155);
            if (!prefix.isEmpty()) {
                name = prefix + "/" + name;
            }
        }
        String link = longLink != null ? longLink : cString(block, 157, 100);
        long size = headerSize;
        long uid = number(108, 8, "uid");
        long gid = number(116, 8, "gid");
        long mtimeNanos = number(136, 12, "mtime") * 1_000_000_000L;
        Map<String, byte[]> xattrs = new LinkedHashMap<>();
        for (Map.Entry<String, byte[]> r : pax.entrySet()) {
            String k = r.getKey();
            byte[] v = r.getValue();
            if (k.startsWith(XATTR)) {
                xattrs.put(k.substring(XATTR.length()), v);
                continue;
            }
            if (k.startsWith("GNU.sparse.")) {
                throw new BerthException(ErrorKind.FAILED_PRECONDITION, what + ": entry " + name
                        + " is a sparse file, which berth does not unpack");
            }
            if (v.length == 0) {
                continue; // an empty value unsets the keyword
            }
            String s = new String(v, StandardCharsets.UTF_8);
            switch (k) {
                case "path" -> name = s;
                case "linkpath" -> link = s;
                case "size" -> size = decimal(k, s);
                case "uid" -> uid = decimal(k, s);
                case "gid" -> gid = decimal(k, s);
                case "mtime" -> mtimeNanos = paxTime(s);
                default -> {
                    // atime, ctime, uname, gname, comment, charset: not kept in a layer
                }
            }
        }
        char type = switch (rawType) {
            case '0', '\0', '7' -> name.endsWith("/") ? '5' : '0';
            case '1', '2', '3', '4', '5', '6' -> rawType;
            case 'S' -> throw new BerthException(ErrorKind.FAILED_PRECONDITION, what + ": entry " + name
                    + " is a GNU sparse file, which berth does not unpack");
            default -> throw new BerthException(ErrorKind.FAILED_PRECONDITION, String.format(
                    "%s: entry %s has the unsupported tar type '%s'", what, name,
                    rawType >= 0x20 && rawType < 0x7f ? String.valueOf(rawType) : "\\x" + Integer.toHexString(rawType)));
        };
        if (name.length() > limits.maxNameBytes() || link.length() > limits.maxNameBytes()) {
            throw new BerthException(ErrorKind.RESOURCE_EXHAUSTED, what + ": an entry name or link target is longer "
                    + "than " + limits.maxNameBytes() + " bytes");
        }
        if (size < 0) {
            throw malformed("entry " + name + " has a negative size");
        }
        // Only regular-file types carry data blocks (links, devices, fifos and directories are header only).
        boolean carriesData = rawType == '0' || rawType == '\0' || rawType == '7';
        long data = type == '0' ? size : 0;
        int mode = (int) number(100, 8, "mode");
        long major = type == '3' || type == '4' ? number(329, 8, "devmajor") : 0;
        long minor = type == '3' || type == '4' ? number(337, 8, "devminor") : 0;
        startData(carriesData ? size : 0);
        return new Entry(name, type, mode, uid, gid, data, mtimeNanos, link, major, minor, xattrs);
    }

    private void startData(long size) {
        remaining = size;
        padding = (int) ((BLOCK - size % BLOCK) % BLOCK);
    }

    private byte[] readMeta(char type, long size) throws IOException {
        if (size > limits.maxHeaderBytes()) {
            String kind = type == 'x' || type == 'g' ? "a pax extended header" : "a GNU long name";
            throw new BerthException(ErrorKind.RESOURCE_EXHAUSTED, what + ": " + kind + " of " + size
                    + " bytes is larger than the " + limits.maxHeaderBytes() + "-byte limit");
        }
        startData(size);
        byte[] data = data().readNBytes((int) size);
        if (data.length != size) {
            throw malformed("the archive is truncated inside an extended header");
        }
        skipRest();
        return data;
    }

    /** Records "len key=value\n"; values stay raw bytes. */
    private Map<String, byte[]> parsePax(byte[] d) throws IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        int pos = 0;
        while (pos < d.length) {
            if (d[pos] == 0) {
                break; // some writers pad with NULs
            }
            int sp = pos;
            long len = 0;
            while (sp < d.length && d[sp] >= '0' && d[sp] <= '9' && sp - pos < 10) {
                len = len * 10 + (d[sp] - '0');
                sp++;
            }
            if (sp == pos || sp >= d.length || d[sp] != ' ' || len <= sp - pos + 1 || pos + len > d.length
                    || d[(int) (pos + len - 1)] != '\n') {
                throw malformed("a pax extended header record is malformed");
            }
            int end = (int) (pos + len - 1);
            int eq = sp + 1;
            while (eq < end && d[eq] != '=') {
                eq++;
            }
            if (eq >= end || eq == sp + 1) {
                throw malformed("a pax extended header record has no key");
            }
            String key = new String(d, sp + 1, eq - sp - 1, StandardCharsets.UTF_8);
            byte[] value = java.util.Arrays.copyOfRange(d, eq + 1, end);
            out.put(key, value);
            pos = end + 1;
        }
        return out;
    }

    private void skipRest() throws IOException {
        long skip = remaining + padding;
        remaining = 0;
        padding = 0;
        byte[] buf = new byte[8192];
        while (skip > 0) {
            int n = in.read(buf, 0, (int) Math.min(buf.length, skip));
            if (n < 0) {
                throw malformed("the archive is truncated inside an entry");
            }
            skip -= n;
        }
    }

    /** Reads one header block; false at the end of the stream (tolerated only at a block boundary). */
    private boolean readBlock(boolean headerExpected) throws IOException {
        int n = in.readNBytes(block, 0, BLOCK);
        if (n == 0 && headerExpected) {
            return false;
        }
        if (n != BLOCK) {
            throw malformed("the archive is truncated inside a header");
        }
        return true;
    }

    private void checkChecksum() throws IOException {
        long stored = number(148, 8, "checksum");
        long unsigned = 0;
        long signed = 0;
        for (int i = 0; i < BLOCK; i++) {
            int b = i >= 148 && i < 156 ? ' ' : block[i];
            unsigned += b & 0xff;
            signed += b;
        }
        if (stored != unsigned && stored != signed) {
            throw malformed("a header's checksum is wrong (not a tar archive, or a corrupt one)");
        }
    }

    /** An octal field (NUL/space terminated) or a base-256 one (high bit set), as GNU tar writes big values. */
    private long number(int off, int len, String field) throws IOException {
        if ((block[off] & 0x80) != 0) {
            if ((block[off] & 0x40) != 0) {
                throw malformed("a header's " + field + " is negative");
            }
            long v = block[off] & 0x3f;
            for (int i = 1; i < len; i++) {
                if ((v >>> 55) != 0) {
                    throw malformed("a header's " + field + " is too large");
                }
                v = (v << 8) | (block[off + i] & 0xff);
            }
            return v;
        }
        int i = off;
        int end = off + len;
        while (i < end && (block[i] == ' ' || block[i] == 0)) {
            i++;
        }
        long v = 0;
        for (; i < end && block[i] != 0 && block[i] != ' '; i++) {
            int c = block[i] - '0';
            if (c < 0 || c > 7) {
                throw malformed("a header's " + field + " is not an octal number");
            }
            if ((v >>> 60) != 0) {
                throw malformed("a header's " + field + " is too large");
            }
            v = (v << 3) | c;
        }
        return v;
    }

    private long decimal(String key, String s) throws IOException {
        try {
            long v = Long.parseLong(s);
            if (v < 0) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            throw malformed("the pax " + key + " record is not a number");
        }
    }

    /** "1700000000.123456789" seconds, possibly negative, as nanoseconds. */
    private long paxTime(String s) throws IOException {
        try {
            java.math.BigDecimal secs = new java.math.BigDecimal(s);
            return secs.movePointRight(9).setScale(0, java.math.RoundingMode.FLOOR).longValueExact();
        } catch (NumberFormatException | ArithmeticException e) {
            throw malformed("the pax mtime record is not a time");
        }
    }

    private IOException malformed(String detail) {
        return new MalformedTarException(detail);
    }

    private static boolean isZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    private static String cString(byte[] b, int off, int len) {
        int end = off;
        while (end < off + len && b[end] != 0) {
            end++;
        }
        return new String(b, off, end - off, StandardCharsets.UTF_8);
    }

    private static String cString(byte[] data) {
        return cString(data, 0, data.length);
    }
}
