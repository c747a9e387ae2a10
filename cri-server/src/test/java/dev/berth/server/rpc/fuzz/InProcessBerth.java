package dev.berth.server.rpc.fuzz;

import dev.berth.image.ImageLease;
import dev.berth.image.ImageLookup;
import dev.berth.image.ImageManager;
import dev.berth.image.LocalImage;
import dev.berth.linux.host.LinuxHost;
import dev.berth.linux.net.NetCommand;
import dev.berth.linux.testing.FakeLinuxHost;
import dev.berth.runtime.container.ContainerService;
import dev.berth.runtime.container.FakeConmon;
import dev.berth.runtime.container.FakeOciRuntime;
import dev.berth.runtime.oci.OciRuntimes;
import dev.berth.server.config.BerthConfig;
import dev.berth.server.config.ConfigLoader;
import dev.berth.server.events.ContainerEventHub;
import dev.berth.server.rpc.ImageServiceDispatcher;
import dev.berth.server.rpc.RuntimeServiceDispatcher;
import dev.berth.server.streaming.StreamingService;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import jakarta.enterprise.inject.Instance;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Inject;
import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * berth's CRI dispatchers wired in this JVM as the daemon wires them (the real producers of
 * {@code dev.berth.server.wiring}, the real handlers with their {@code @Inject} fields), but over
 * the recording {@link FakeLinuxHost} and a temporary state root: no mount, namespace, veth,
 * iptables rule, cgroup or process of the host is touched, whatever a request asks for (host
 * network, privileged, host path mounts of /, sysctls). conmon and the OCI runtime are fakes
 * (runtime-service's test fixtures {@link FakeConmon} and {@link FakeOciRuntime}) that "create" a
 * process in the fake process table; the pod network is a fake CNI plugin answered by the fake
 * host's command table. Registry traffic goes to a proxy on a closed loopback port.
 *
 * <p>A small reflective injector stands in for ArC (there is no Quarkus test runtime here): a type
 * is taken from the overrides, else from a producer method of the wiring classes, else built with
 * its no-argument constructor and its {@code @Inject} fields filled.
 */
final class InProcessBerth implements AutoCloseable {
    static final String FIXTURE_IMAGE = "fuzz.local/busybox:1";
    static final String FIXTURE_IMAGE_ID = "sha256:" + "ab".repeat(32);

    final Path root;
    final FakeLinuxHost host = new FakeLinuxHost();
    final BerthConfig config;
    private final Map<Class<?>, Object> beans = new HashMap<>();
    private final List<Object> producers = new ArrayList<>();

    InProcessBerth(Path root) throws IOException, ClassNotFoundException {
        this.root = root;
        Path bin = Files.createDirectories(root.resolve("cni-bin"));
        Path plugin = Files.writeString(bin.resolve("fakenet"), "");
        Files.setPosixFilePermissions(plugin, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path conf = Files.createDirectories(root.resolve("net.d"));
        Files.writeString(conf.resolve("10-fake.conflist"),
                "{\"cniVersion\":\"1.0.0\",\"name\":\"fake\",\"plugins\":[{\"type\":\"fakenet\"}]}");
        Path registries = Files.writeString(root.resolve("registries.conf"), "unqualified-search-registries = []\n");
        Files.createDirectories(root.resolve("cgroup"));
        Map<String, String> env = new HashMap<>();
        env.put("BERTH_ROOT", root.resolve("lib").toString());
        env.put("BERTH_RUN", root.resolve("run").toString());
        env.put("BERTH_SOCKET", root.resolve("run/berth.sock").toString());
        env.put("BERTH_CGROUP_MOUNT", root.resolve("cgroup").toString());
        env.put("BERTH_CGROUP_SKIP_MISSING_CONTROLLERS", "true");
        env.put("BERTH_CNI_CONF_DIR", conf.toString());
        env.put("BERTH_CNI_BIN_DIRS", bin.toString());
        env.put("BERTH_IMAGE_REGISTRIES_CONF", registries.toString());
        env.put("BERTH_STREAM_PORT", "0");
        env.put("BERTH_HTTP_PORT", "0");
        config = ConfigLoader.load(root.resolve("no-config.yaml"), false, env);
        fakeNetwork();
        FakeConmon.install(host);
        beans.put(BerthConfig.class, config);
        beans.put(LinuxHost.class, host);
        beans.put(FakeLinuxHost.class, host);
        beans.put(MeterRegistry.class, new SimpleMeterRegistry());
        beans.put(OciRuntimes.class, new OciRuntimes(List.of(new FakeOciRuntime("runc", root.resolve("run"), host),
                new FakeOciRuntime("crun", root.resolve("run"), host)), "runc"));
        for (String name : List.of("CoreProducers", "HostProducers", "SandboxProducers", "ContainerProducers",
                "ImageProducers", "StreamProducers", "StatsProducers")) {
            producers.add(construct(Class.forName("dev.berth.server.wiring." + name)));
        }
        beans.put(ImageManager.class, invokeProducer(ImageManager.class));
        ImageManager images = (ImageManager) beans.get(ImageManager.class);
        // one image always present, so CreateContainer gets past its image lookup
        LocalImage fixture = new LocalImage(FIXTURE_IMAGE_ID, List.of(FIXTURE_IMAGE), List.of(), 1,
                new LocalImage.Config("", List.of(), List.of("sh"), List.of("PATH=/bin"), "", "", Map.of()),
                List.of(Files.createDirectories(root.resolve("fixture-rootfs"))));
        beans.put(ImageLookup.class, new ImageLookup() {
            @Override
            public Optional<LocalImage> find(String ref) {
                return isFixture(ref) ? Optional.of(fixture) : images.find(ref);
            }

            @Override
            public Optional<ImageLease> lease(String ref) {
                return isFixture(ref) ? Optional.of(ImageLease.unheld(fixture)) : images.lease(ref);
            }
        });
        get(ContainerService.class).recover();
        call(get(ContainerEventHub.class), "start");
        call(get(StreamingService.class), "onStart");
    }

    private static boolean isFixture(String ref) {
        return FIXTURE_IMAGE.equals(ref) || FIXTURE_IMAGE_ID.equals(ref);
    }

    RuntimeServiceDispatcher runtimeService() {
        return get(RuntimeServiceDispatcher.class);
    }

    ImageServiceDispatcher imageService() {
        return get(ImageServiceDispatcher.class);
    }

    @Override
    public void close() {
        call(get(StreamingService.class), "onStop");
        call(get(ContainerEventHub.class), "stop");
        ((ImageManager) beans.get(ImageManager.class)).close();
        ((dev.berth.core.state.StateStore) get(dev.berth.core.state.StateStore.class)).close();
    }

    // ------------------------------------------------------------------ fakes

    /** The pod network: ADD makes a veth in the pod's (fake) namespace, DEL removes it. */
    private void fakeNetwork() {
        host.commands().handle("fakenet", (argv, env, stdin) -> {
            String id = env.getOrDefault("CNI_CONTAINERID", "");
            String veth = "veth" + id.substring(0, Math.min(8, id.length()));
            switch (env.getOrDefault("CNI_COMMAND", "")) {
                case "ADD" -> {
                    host.links().addVethIntoNamespace(veth, 0, 0, env.get("CNI_IFNAME"), null,
                            Path.of(env.get("CNI_NETNS")));
                    return new NetCommand.Result(argv, 0,
                            "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.88.0.5/16\"}]}", "");
                }
                case "DEL" -> {
                    if (host.links().names().contains(veth)) {
                        host.links().delete(veth);
                    }
                    return new NetCommand.Result(argv, 0, "", "");
                }
                default -> {
                    return new NetCommand.Result(argv, 0, "", "");
                }
            }
        });
    }

    // ------------------------------------------------------------------ the injector

    @SuppressWarnings("unchecked")
    synchronized <T> T get(Class<T> type) {
        Object known = beans.get(type);
        if (known != null) {
            return (T) known;
        }
        for (Object b : beans.values()) {
            if (type.isInstance(b)) {
                return (T) b;
            }
        }
        Object produced = invokeProducer(type);
        if (produced == null) {
            if (type.isInterface() || Modifier.isAbstract(type.getModifiers())) {
                throw new IllegalStateException("nothing provides " + type.getName());
            }
            produced = construct(type);
        }
        beans.put(type, produced);
        return (T) produced;
    }

    private Object invokeProducer(Class<?> type) {
        for (Object p : producers) {
            for (Method m : p.getClass().getDeclaredMethods()) {
                if (m.isAnnotationPresent(Produces.class) && type.isAssignableFrom(m.getReturnType())) {
                    try {
                        m.setAccessible(true);
                        Type[] params = m.getGenericParameterTypes();
                        Object[] args = new Object[params.length];
                        for (int i = 0; i < params.length; i++) {
                            args[i] = resolve(params[i]);
                        }
                        Object made = m.invoke(p, args);
                        beans.put(type, made);
                        return made;
                    } catch (ReflectiveOperationException e) {
                        throw new IllegalStateException("producing " + type.getName() + ": " + e.getCause(), e);
                    }
                }
            }
        }
        return null;
    }

    private Object construct(Class<?> type) {
        try {
            Constructor<?> c = type.getDeclaredConstructor();
            c.setAccessible(true);
            Object o = c.newInstance();
            beans.put(type, o);
            for (Class<?> k = type; k != null && k != Object.class; k = k.getSuperclass()) {
                for (Field f : k.getDeclaredFields()) {
                    if (f.isAnnotationPresent(Inject.class)) {
                        f.setAccessible(true);
                        f.set(o, resolve(f.getGenericType()));
                    }
                }
            }
            return o;
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("building " + type.getName() + ": " + e, e);
        }
    }

    private Object resolve(Type t) {
        if (t instanceof ParameterizedType p && p.getRawType() == Instance.class) {
            Class<?> of = (Class<?>) p.getActualTypeArguments()[0];
            return lazyInstance(of);
        }
        return get((Class<?>) (t instanceof ParameterizedType p ? p.getRawType() : t));
    }

    /** Instance&lt;T&gt; resolved at use, as ArC's is (the two sides of the runtime need each other). */
    private Object lazyInstance(Class<?> of) {
        return java.lang.reflect.Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Instance.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "get" -> get(of);
                    case "isResolvable" -> true;
                    case "isUnsatisfied", "isAmbiguous" -> false;
                    case "stream" -> Stream.of(get(of));
                    case "iterator" -> List.of(get(of)).iterator();
                    case "toString" -> "Instance<" + of.getSimpleName() + ">";
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    private static void call(Object target, String method) {
        for (Method m : target.getClass().getDeclaredMethods()) {
            if (m.getName().equals(method)) {
                try {
                    m.setAccessible(true);
                    m.invoke(target, new Object[m.getParameterCount()]);
                    return;
                } catch (ReflectiveOperationException e) {
                    throw new IllegalStateException(method + " of " + target.getClass().getSimpleName() + ": "
                            + e.getCause(), e);
                }
            }
        }
        throw new IllegalStateException(target.getClass().getSimpleName() + " has no " + method);
    }
}
