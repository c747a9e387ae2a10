package dev.berth.server.rpc;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallExecutorSupplier;
import java.util.Set;
import java.util.concurrent.Executor;

/**
 * Where each CRI call runs. The reads kubelet's PLEG and image manager issue every second
 * (answered from in-memory snapshots: no lifecycle lock, no disk write, no wait on a process)
 * run on grpc-netty's event-loop thread itself, the server's default (direct) executor; everything
 * else (lifecycle steps that wait on runc, conmon, the kernel and the disk) on {@code lifecycle}.
 *
 * <p>Every hand-off between threads is a wake-up that waits for a CPU: on a loaded 2-core node a
 * read that went event loop, then a virtual thread's carrier (busy with lifecycle steps), then
 * back, waited several milliseconds for nothing. A read answered where its request was decoded
 * waits for no thread, and costs the daemon half the CPU. In return a read must never block: one
 * that notices a container's end leaves the commit to a lifecycle thread ({@code ContainerService}).
 */
public final class ReadCalls implements ServerCallExecutorSupplier {
    /** The CRI methods served from memory (bare method names, both services). */
    public static final Set<String> METHODS = Set.of("ContainerStatus", "PodSandboxStatus", "ListContainers",
            "ListPodSandbox", "ImageStatus", "ListImages", "Version");

    private final Executor lifecycle;

    /** {@code lifecycle}: where every call other than the reads runs (the server's virtual threads). */
    public ReadCalls(Executor lifecycle) {
        this.lifecycle = lifecycle;
    }

    /** Whether {@code bareMethodName} is one of the reads served on the transport's thread. */
    public static boolean isRead(String bareMethodName) {
        return METHODS.contains(bareMethodName);
    }

    @Override
    public <ReqT, RespT> Executor getExecutor(ServerCall<ReqT, RespT> call, Metadata metadata) {
        // null: the server's default executor, direct (the event loop that decoded the call)
        return isRead(call.getMethodDescriptor().getBareMethodName()) ? null : lifecycle;
    }
}
