package dev.berth.server;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** berth's own version, stamped into berth-version.properties by the build. */
public final class BerthVersion {
    public static final String VERSION = load();

    private BerthVersion() {}

    private static String load() {
        try (InputStream in = BerthVersion.class.getResourceAsStream("/berth-version.properties")) {
            Properties p = new Properties();
            if (in != null) {
                p.load(in);
            }
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
