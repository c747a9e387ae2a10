package dev.berth.linux.host;

import java.nio.file.Path;
import java.util.Map;

/**
 * Namespaces kept alive by a bind mount of their nsfs file ("pinned"), with no process in them.
 * Keys of the file maps are the kinds as /proc/PID/ns names them: "user", "net", "ipc", "uts".
 * Undo a pin with {@link MountTable#ensureUnmounted}.
 */
public interface NamespacePins {
    /**
     * Makes fresh namespaces of the kinds in {@code files} (net, ipc, uts) and pins each on its
     * file, which must exist; with a new UTS namespace its host name is set to {@code hostname}.
     */
    void createAndPin(Map<String, Path> files, String hostname);

    /**
     * Makes a user namespace with these id maps (lines of /proc/PID/uid_map) and net, ipc and uts
     * namespaces it owns, and pins all four on their files ("user", "net", "ipc", "uts").
     */
    void createAndPinWithUser(Map<String, Path> files, String uidMap, String gidMap);

    /** sethostname(2) inside the UTS namespace pinned at {@code utsns}. */
    void setHostname(Path utsns, String hostname);
}
