package dev.berth.server.rpc;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallExecutorSupplier;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Where each CRI call runs: the reads kubelet's PLEG and image manager issue every second
 * (answered from in-memory snapshots, never under a lifecycle lock) on a few platform threads of
 * their own; everything else (lifecycle steps that wait on runc, conmon, the kernel and the disk)
 * on the server's virtual threads.
 *
 * <p>Virtual threads are not time-sliced and share as many carriers as the node has cores: with
 * 8 clients creating pods and containers at once, a read queued behind their runnable lifecycle
 * steps waited for one of them to block. Platform threads are scheduled by the kernel beside the
 * carriers, so a read waits for a CPU, not for a lifecycle step.
 */
public final class ReadCalls implements ServerCallExecutorSupplier, AutoCloseable {
    /** The CRI methods served from memory (bare method names, both services). */
    public static final Set<String> METHODS = Set.of("ContainerStatus", "PodSandboxStatus", "ListContainers",
            "ListPodSandbox", "ImageStatus", "ListImages", "Version");
    /** Threads at most: reads are short, and a node's CRI clients are few. */
    static final int THREADS = 4;

    private final ThreadPoolExecutor pool;

    public ReadCalls() {
        pool = new ThreadPoolExecutor(THREADS, THREADS, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                Thread.ofPlatform().name("cri-read-", 1).daemon(true).factory());
        // an idle daemon keeps no read threads
        pool.allowCoreThreadTimeOut(true);
    }

    /** Whether {@code bareMethodName} is one of the reads served here. */
    public static boolean isRead(String bareMethodName) {
        return METHODS.contains(bareMethodName);
    }

    @Override
    public <ReqT, RespT> Executor getExecutor(ServerCall<ReqT, RespT> call, Metadata metadata) {
        // null: the server's default executor (virtual threads)
        return isRead(call.getMethodDescriptor().getBareMethodName()) ? pool : null;
    }

    ExecutorService pool() {
        return pool;
    }

    @Override
    public void close() {
        pool.shutdown();
    }
}
