package dev.berth.image;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Which mount a path lives on, from /proc/self/mountinfo (for ImageFsInfo's fs_id). */
final class Mountpoints {
    private Mountpoints() {}

    static Path of(Path path) {
        Path real;
        try {
            real = path.toRealPath();
        } catch (IOException e) {
            real = path.toAbsolutePath().normalize();
        }
        Path best = Path.of("/");
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                String[] f = line.split(" ");
                if (f.length < 5) {
                    continue;
                }
                Path mp = Path.of(unescape(f[4]));
                if (real.startsWith(mp) && mp.getNameCount() >= best.getNameCount()) {
                    best = mp;
                }
            }
        } catch (IOException e) {
            // no /proc: "/" is the honest answer
        }
        return best;
    }

    /**
     * Every directory used as an overlay lowerdir by a mount visible here (from the super options
     * of overlay mounts in /proc/self/mountinfo): layers a container's root filesystem still uses.
     */
    static java.util.Set<Path> overlayLowerDirs() {
        java.util.Set<Path> out = new java.util.HashSet<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                int sep = line.indexOf(" - ");
                if (sep < 0) {
                    continue;
                }
                String[] f = line.substring(sep + 3).split(" ");
                if (f.length < 3 || !f[0].equals("overlay")) {
                    continue;
                }
                for (String opt : f[2].split(",")) {
                    if (opt.startsWith("lowerdir")) {
                        String v = opt.substring(opt.indexOf('=') + 1);
                        for (String d : v.split(":")) {
                            if (!d.isEmpty()) {
                                out.add(Path.of(unescape(d)));
                            }
                        }
                    }
                }
            }
        } catch (IOException e) {
            // no /proc: nothing known to be mounted
        }
        return out;
    }

    /** mountinfo escapes space, tab, newline and backslash as \\ooo. */
    private static String unescape(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length()) {
                try {
                    sb.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                    i += 3;
                    continue;
                } catch (NumberFormatException e) {
                    // literal backslash
                }
            }
            sb.append(c);
        }
        return sb.toString();
    }
}
