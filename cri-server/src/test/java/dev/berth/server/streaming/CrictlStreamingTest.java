package dev.berth.server.streaming;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import runtime.v1.AttachRequest;
import runtime.v1.AttachResponse;
import runtime.v1.ExecRequest;
import runtime.v1.ImageFsInfoRequest;
import runtime.v1.ImageFsInfoResponse;
import runtime.v1.ImageServiceGrpc;
import runtime.v1.ExecResponse;
import runtime.v1.PortForwardRequest;
import runtime.v1.PortForwardResponse;
import runtime.v1.RuntimeServiceGrpc;
import runtime.v1.VersionRequest;
import runtime.v1.VersionResponse;

/**
 * crictl v1.34 (client-go's SPDY and WebSocket executors and port-forward dialers) against the
 * streaming server, through a CRI socket that answers only Version, ImageFsInfo, Exec, Attach and PortForward.
 * Skipped when the critest kit's crictl is not there.
 */
class CrictlStreamingTest {
    private static final Path CRICTL = Path.of(System.getProperty("berth.crictl",
            "/work/shared/critest/bin/crictl"));

    @TempDir
    Path dir;

    private final FakeContainerStreams runtime = new FakeContainerStreams();
    private StreamServer streams;
    private Server grpc;
    private EpollEventLoopGroup loop;
    private Path socket;
    private final List<Process> started = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        assumeTrue(Files.isExecutable(CRICTL), "crictl not found at " + CRICTL);
        streams = new StreamServer(new StreamServer.Settings("127.0.0.1", 0, Duration.ofMinutes(5), 8), () -> runtime,
                new StreamTokens());
        streams.start();
        socket = dir.resolve("cri.sock");
        loop = new EpollEventLoopGroup(1);
        grpc = NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                .channelType(EpollServerDomainSocketChannel.class).bossEventLoopGroup(loop).workerEventLoopGroup(loop)
                .addService(new RuntimeServiceGrpc.RuntimeServiceImplBase() {
                    @Override
                    public void version(VersionRequest r, StreamObserver<VersionResponse> o) {
                        o.onNext(VersionResponse.newBuilder().setVersion("0.1.0").setRuntimeName("berth-test")
                                .setRuntimeVersion("0").setRuntimeApiVersion("v1").build());
                        o.onCompleted();
                    }

                    @Override
                    public void exec(ExecRequest r, StreamObserver<ExecResponse> o) {
                        o.onNext(ExecResponse.newBuilder().setUrl(streams.url(new StreamTarget.Exec(r.getContainerId(),
                                r.getCmdList(), r.getTty(), r.getStdin(), r.getStdout(), r.getStderr()))).build());
                        o.onCompleted();
                    }

                    @Override
                    public void attach(AttachRequest r, StreamObserver<AttachResponse> o) {
                        o.onNext(AttachResponse.newBuilder().setUrl(streams.url(new StreamTarget.Attach(
                                r.getContainerId(), r.getTty(), r.getStdin(), r.getStdout(), r.getStderr()))).build());
                        o.onCompleted();
                    }

                    @Override
                    public void portForward(PortForwardRequest r, StreamObserver<PortForwardResponse> o) {
                        o.onNext(PortForwardResponse.newBuilder().setUrl(streams.url(new StreamTarget.PortForward(
                                r.getPodSandboxId(), r.getPortList()))).build());
                        o.onCompleted();
                    }
                })
                .addService(new ImageServiceGrpc.ImageServiceImplBase() {
                    @Override
                    public void imageFsInfo(ImageFsInfoRequest r, StreamObserver<ImageFsInfoResponse> o) {
                        o.onNext(ImageFsInfoResponse.getDefaultInstance()); // crictl checks the image API answers
                        o.onCompleted();
                    }
                })
                .build().start();
    }

    @AfterEach
    void stop() {
        started.forEach(Process::destroyForcibly);
        if (grpc != null) {
            grpc.shutdownNow();
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
        if (streams != null) {
            streams.close();
        }
        runtime.sessions.forEach(FakeContainerStreams.Session::close);
    }

    private record Result(int exit, String stdout, String stderr) {}

    private Result crictl(String stdin, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(CRICTL.toString(), "--runtime-endpoint", "unix://" + socket,
                "--timeout", "10s"));
        if (System.getenv("BERTH_CRICTL_DEBUG") != null) {
            cmd.add("--debug");
        }
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).start();
        started.add(p);
        try (OutputStream in = p.getOutputStream()) {
            if (stdin != null) {
                in.write(stdin.getBytes(StandardCharsets.UTF_8));
            }
        }
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "crictl " + List.of(args) + " finished");
        return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
                new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    @Test
    void execOverSpdyAndWebSocketReportsOutputAndExitCode() throws Exception {
        for (String transport : List.of("spdy", "websocket")) {
            Result r = crictl(null, "exec", "-r", transport, "c1", "echo", "out;", "echo", "err", ">&2;", "exit", "3");
            assertEquals(1, r.exit(), transport + ": " + r); // crictl exits 1 and names the code
            assertEquals("out\n", r.stdout(), transport);
            assertTrue(r.stderr().contains("\nerr\n"), transport + ": " + r.stderr());
            assertTrue(r.stderr().contains("command terminated with exit code 3"), transport + ": " + r.stderr());

            Result echo = crictl("typed line\n", "exec", "-i", "-r", transport, "c1", "cat");
            assertEquals(0, echo.exit(), transport + ": " + echo);
            assertEquals("typed line\n", echo.stdout(), transport);
        }
    }

    @Test
    void attachRelaysStdin() throws Exception {
        Result r = crictl("attached\n", "attach", "-i", "c1");
        assertEquals(0, r.exit(), r.toString());
        assertEquals("attached\n", r.stdout());
    }

    @Test
    void portForwardOverSpdyAndSpdyInWebSocket() throws Exception {
        for (String transport : List.of("spdy", "websocket")) {
            try (ServerSocket echo = new ServerSocket(0, 5, java.net.InetAddress.getLoopbackAddress())) {
                Thread.ofVirtual().start(() -> SpdyStreamingTest.echoOnce(echo));
                int local;
                try (ServerSocket probe = new ServerSocket(0)) {
                    local = probe.getLocalPort();
                }
                Process p = new ProcessBuilder(CRICTL.toString(), "--runtime-endpoint", "unix://" + socket,
                        "port-forward", "-r", transport, "pod1", local + ":" + echo.getLocalPort())
                        .redirectErrorStream(true).start();
                started.add(p);
                String answer = null;
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
                while (answer == null && System.nanoTime() < end) {
                    try (Socket s = new Socket("127.0.0.1", local)) {
                        s.getOutputStream().write("ping\n".getBytes());
                        InputStream in = s.getInputStream();
                        byte[] buf = new byte[5];
                        int n = in.readNBytes(buf, 0, 5);
                        answer = new String(buf, 0, n);
                    } catch (java.net.ConnectException notYet) {
                        Thread.sleep(100);
                    }
                }
                String output = p.isAlive() ? "(running)" : new String(p.getInputStream().readAllBytes());
                p.destroy();
                assertEquals("PING\n", answer, transport + ": crictl said " + output);
            }
        }
    }
}
