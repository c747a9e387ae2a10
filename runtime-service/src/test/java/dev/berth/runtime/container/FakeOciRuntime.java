package dev.berth.runtime.container;

import dev.berth.core.error.BerthException;
import dev.berth.linux.testing.FakeLinuxHost;
import dev.berth.runtime.oci.OciFeatures;
import dev.berth.runtime.oci.OciRuntime;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;

/**
 * The OCI runtime as berth drives it after create (start, kill, delete, state), against the
 * process table of the recording {@link FakeLinuxHost}: the container's init is the process
 * {@code runc-init ID} that {@link FakeConmon} made. Its state directory is {@code run/HANDLER}
 * and the exit files go to {@code run/exits}, where berth's conmon settings put them. Shared by
 * the runtime-service tests and (through the test-jar) cri-server's in-process daemon.
 */
public final class FakeOciRuntime implements OciRuntime {
    private final String handler;
    private final Path run;
    private final FakeLinuxHost host;
    /** The calls as made: "start ID", "kill ID SIGNAL", "delete ID". */
    public final List<String> calls = Collections.synchronizedList(new ArrayList<>());
    /** Set: start fails as runc's does when the command is not found. */
    public volatile boolean startFails;

    public FakeOciRuntime(String handler, Path run, FakeLinuxHost host) {
        this.handler = handler;
        this.run = run;
        this.host = host;
    }

    @Override
    public String handler() {
        return handler;
    }

    @Override
    public Path binary() {
        return Path.of("/usr/sbin/" + handler);
    }

    @Override
    public Path root() {
        return run.resolve(handler);
    }

    @Override
    public OciFeatures features() {
        return OciFeatures.NONE;
    }

    @Override
    public void start(String id) {
        calls.add("start " + id);
        if (startFails) {
            throw BerthException.internal("runc start: exec: \"nope\": executable file not found", null);
        }
    }

    /** The init dies; its monitor records the exit code and exits, as conmon does. */
    @Override
    public void kill(String id, String signal) {
        calls.add("kill " + id + " " + signal);
        if (host.processes().find("runc-init " + id).isEmpty()) {
            return;
        }
        try {
            Files.writeString(Files.createDirectories(run.resolve("exits")).resolve(id), "137");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        host.processes().find("-c " + id).forEach(host.processes()::end);
        host.processes().find("runc-init " + id).forEach(host.processes()::end);
    }

    @Override
    public void delete(String id, boolean force) {
        calls.add("delete " + id);
    }

    @Override
    public Optional<OciState> state(String id) {
        List<Integer> init = host.processes().find("runc-init " + id);
        return Optional.of(new OciState(init.isEmpty() ? "stopped" : "running", init.isEmpty() ? 0 : init.get(0)));
    }

    @Override
    public void update(String id, Path resourcesJson) {}

    @Override
    public List<String> execCommand(String id, Path processJson, Path pidFile) {
        return List.of(binary().toString(), "exec", "--process", processJson.toString(), id);
    }
}
