package dev.berth.server.config;

import java.util.List;

/**
 * Every configuration key berth knows, with its default and the line of documentation the README
 * and {@code berth config default} show. Adding a key is adding one line here.
 *
 * <p>Keys are dotted paths into {@code /etc/berth/config.yaml}; the environment variable for key
 * {@code a.b_c} is {@code BERTH_A_B_C}. Keys under {@code runtimes.} are open: one per RuntimeClass
 * handler.
 */
public final class ConfigKeys {
    /**
     * One documented key. A list default is comma-separated. {@code envAlias} is a second, shorter
     * variable some keys also answer to (for example BERTH_REGISTRIES_CONF).
     */
    public record Key(String name, String defaultValue, String doc, String envAlias) {
        public Key(String name, String defaultValue, String doc) {
            this(name, defaultValue, doc, null);
        }

        public String envName() {
            return "BERTH_" + name.toUpperCase().replace('.', '_');
        }
    }

    public static final String RUNTIMES_PREFIX = "runtimes.";

    public static final List<Key> ALL = List.of(
            new Key("socket", "/run/berth/berth.sock", "unix socket serving CRI v1 (mode 0660)"),
            new Key("root", "/var/lib/berth", "persistent state: metadata store, images, layers"),
            new Key("run", "/run/berth", "runtime state that a reboot clears: namespaces, bundles, monitors"),
            new Key("http.host", "127.0.0.1", "address of /metrics and /q/health"),
            new Key("http.port", "10360", "port of /metrics and /q/health"),
            new Key("stream.host", "127.0.0.1",
                    "address of the streaming server (exec, attach, port-forward); the URLs Exec, Attach and "
                            + "PortForward return name it (a wildcard address is named as 127.0.0.1)"),
            new Key("stream.port", "10361", "port of the streaming server (0: any free port)"),
            new Key("stream.idle_timeout_seconds", "14400",
                    "a streaming session with no traffic either way for this long is closed (kubelet's 4h)"),
            new Key("stream.max_sessions", "128",
                    "exec, attach and port-forward sessions open at once; more are refused with RESOURCE_EXHAUSTED"),
            new Key("log_level", "INFO", "daemon log level: ERROR, WARN, INFO, DEBUG, TRACE (SIGHUP applies a change)"),
            new Key("log_format", "text",
                    "text: plain lines (without a timestamp of their own under journald, JOURNAL_STREAM set); "
                            + "json: one JSON object per line"),
            new Key("runtime.default_handler", "runc", "OCI runtime used when a pod names no RuntimeClass handler"),
            new Key("runtimes.runc", "/usr/sbin/runc", "binary of the 'runc' handler"),
            new Key("runtimes.crun", "/usr/bin/crun", "binary of the 'crun' handler (optional)"),
            new Key("conmon", "/usr/bin/conmon", "the per-container monitor binary"),
            new Key("cgroup.driver", "cgroupfs", "cgroup driver reported to kubelet (cgroupfs)"),
            new Key("cgroup.mount", "/sys/fs/cgroup", "where the cgroup v2 hierarchy is mounted"),
            new Key("cgroup.skip_missing_controllers", "false",
                    "true: skip limits whose controller the host lacks (warn once, say so in Status)"),
            new Key("image.registries_conf", "/etc/berth/registries.conf",
                    "mirrors, insecure and blocked registries in containers registries.conf v2 format",
                    "BERTH_REGISTRIES_CONF"),
            new Key("image.max_concurrent_downloads", "3", "layer downloads running at once, across all pulls on the node"),
            new Key("cni.conf_dir", "/etc/cni/net.d", "directory of CNI network configs; the first conflist is used"),
            new Key("cni.bin_dirs", "/opt/cni/bin,/usr/lib/cni", "directories searched for CNI plugin binaries"),
            new Key("cni.default_subnet", "10.66.0.0/16", "pod subnet of berth's built-in bridge network"),
            new Key("cni.bridge", "berth0", "bridge device of the built-in network"),
            new Key("seccomp.default_profile", "/usr/share/containers/seccomp.json",
                    "profile applied for seccomp RuntimeDefault"),
            new Key("exec.max_output_bytes", "16777216", "ExecSync output kept per stream; the rest is dropped"),
            new Key("events.subscriber_queue", "512",
                    "GetContainerEvents events queued per subscriber; one that falls this far behind is dropped"));

    private ConfigKeys() {}

    public static Key find(String name) {
        for (Key k : ALL) {
            if (k.name().equals(name)) {
                return k;
            }
        }
        return null;
    }
}
