package dev.berth.server.rpc.container;

import com.google.protobuf.ByteString;
import dev.berth.core.error.BerthException;
import dev.berth.runtime.container.ContainerService;
import dev.berth.runtime.exec.ExecRunner;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import runtime.v1.ExecSyncRequest;
import runtime.v1.ExecSyncResponse;

/** ExecSync: a command in a running container, killed at the timeout, output bounded. */
@ApplicationScoped
public class ExecSyncHandler {
    @Inject
    ContainerService containers;

    public ExecSyncResponse handle(ExecSyncRequest req) {
        if (req.getTimeout() < 0) {
            throw BerthException.invalid("timeout must not be negative (got %d)", req.getTimeout());
        }
        ExecRunner.Result r = containers.execSync(Ids.required(req.getContainerId()), req.getCmdList(),
                req.getTimeout());
        return ExecSyncResponse.newBuilder()
                .setExitCode(r.exitCode())
                .setStdout(ByteString.copyFrom(r.stdout()))
                .setStderr(ByteString.copyFrom(r.stderr()))
                .build();
    }
}
