package dev.berth.runtime.oci;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.core.error.BerthException;
import dev.berth.linux.RuntimeCommand;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** runc and crun share the subcommands berth uses, so one class drives both. */
public final class RuncCli implements OciRuntime {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final String handler;
    private final Path binary;
    private final Path root;
    private volatile OciFeatures features;

    public RuncCli(String handler, Path binary, Path root) {
        this.handler = handler;
        this.binary = binary;
        this.root = root;
    }

    @Override
    public String handler() {
        return handler;
    }

    @Override
    public Path binary() {
        return binary;
    }

    @Override
    public Path root() {
        return root;
    }

    @Override
    public OciFeatures features() {
        OciFeatures f = features;
        if (f == null) {
            // A race probes twice at worst; both answers are the same.
            f = OciFeatures.probe(binary);
            features = f;
        }
        return f;
    }

    @Override
    public void start(String id) {
        runChecked("start", List.of("start", id), id);
    }

    /**
     * A container that ends on its own while it is being stopped makes kill fail ("container not
     * running" from runc, ESRCH from crun): its state, read again, tells whether that is the case.
     */
    @Override
    public void kill(String id, String signal) {
        RuntimeCommand.Result r = run(List.of("kill", id, signal));
        if (!r.ok() && !gone(r) && !ended(id)) {
            throw BerthException.internal(handler + " kill " + id + " " + signal + " failed: " + r.err(), null);
        }
    }

    @Override
    public void delete(String id, boolean force) {
        RuntimeCommand.Result r = run(force ? List.of("delete", "--force", id) : List.of("delete", id));
        if (r.ok() || gone(r)) {
            return;
        }
        if (ended(id)) {
            // a forced delete may find the container ending under it; once ended, a plain delete
            // has nothing left to kill
            r = run(List.of("delete", id));
            if (r.ok() || gone(r)) {
                return;
            }
        }
        throw BerthException.internal(handler + " delete " + id + " failed: " + r.err(), null);
    }

    /** Whether the runtime now reports the container stopped or no longer knows it. */
    private boolean ended(String id) {
        try {
            return state(id).map(s -> s.status().equals("stopped")).orElse(true);
        } catch (BerthException e) {
            return false;
        }
    }

    @Override
    public Optional<OciState> state(String id) {
        RuntimeCommand.Result r = run(List.of("state", id));
        if (!r.ok()) {
            if (gone(r)) {
                return Optional.empty();
            }
            throw BerthException.internal(handler + " state " + id + " failed: " + r.err(), null);
        }
        try {
            JsonNode n = JSON.readTree(r.stdout());
            return Optional.of(new OciState(n.path("status").asText(), n.path("pid").asInt()));
        } catch (IOException e) {
            throw BerthException.internal(handler + " state " + id + " printed no JSON: " + r.out(), e);
        }
    }

    @Override
    public void update(String id, Path resourcesJson) {
        runChecked("update", List.of("update", "--resources", resourcesJson.toString(), id), id);
    }

    @Override
    public List<String> execCommand(String id, Path processJson, Path pidFile) {
        List<String> argv = base();
        argv.addAll(List.of("exec", "--process", processJson.toString(), "--pid-file", pidFile.toString(), id));
        return argv;
    }

    @Override
    public void checkpoint(String id, Path imagePath, Path workPath, long timeoutMillis) {
        List<String> argv = base();
        argv.addAll(List.of("checkpoint", "--image-path", imagePath.toString(), "--work-path", workPath.toString(),
                "--leave-running", id));
        RuntimeCommand.Result r = RuntimeCommand.run(argv, java.util.Map.of(), timeoutMillis, 1 << 20, null);
        if (r.timedOut()) {
            throw BerthException.unavailable(handler + " checkpoint " + id + " did not finish within "
                    + timeoutMillis / 1000 + "s", null);
        }
        if (!r.ok()) {
            throw BerthException.internal(handler + " checkpoint " + id + " failed: " + r.err(), null);
        }
    }

    @Override
    public void pause(String id) {
        runChecked("pause", List.of("pause", id), id);
    }

    @Override
    public void resume(String id) {
        runChecked("resume", List.of("resume", id), id);
    }

    private void runChecked(String what, List<String> args, String id) {
        RuntimeCommand.Result r = run(args);
        if (!r.ok()) {
            throw BerthException.internal(handler + " " + what + " " + id + " failed: " + r.err(), null);
        }
    }

    private RuntimeCommand.Result run(List<String> args) {
        List<String> argv = base();
        argv.addAll(args);
        return RuntimeCommand.run(argv);
    }

    private List<String> base() {
        List<String> argv = new ArrayList<>();
        argv.add(binary.toString());
        argv.add("--root");
        argv.add(root.toString());
        return argv;
    }

    /** runc says "does not exist", crun "No such file or directory" for unknown containers. */
    private static boolean gone(RuntimeCommand.Result r) {
        String e = r.err();
        return e.contains("does not exist") || e.contains("No such file or directory") || e.contains("not exist");
    }
}
