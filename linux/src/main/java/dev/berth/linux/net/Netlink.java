package dev.berth.linux.net;

import dev.berth.linux.LinuxException;
import dev.berth.linux.ffm.Native;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A small rtnetlink client (NETLINK_ROUTE) for the few link, address and route changes a pod needs,
 * without a fork per change. A socket belongs to the network namespace of the thread that opened
 * it: open it on a {@link dev.berth.linux.ns.NamespaceThread} joined to the pod's netns to change
 * the pod side. Every request asks for an ACK; a negative ACK becomes a {@link LinuxException}.
 * Message layouts: linux/netlink.h, linux/rtnetlink.h, linux/if_link.h, linux/veth.h.
 */
public final class Netlink implements AutoCloseable {
    private static final int AF_NETLINK = 16;
    private static final int SOCK_RAW = 3;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int NETLINK_ROUTE = 0;
    private static final int O_RDONLY = 0;
    private static final int O_CLOEXEC = 0x80000;

    private static final short RTM_NEWLINK = 16;
    private static final short RTM_DELLINK = 17;
    private static final short RTM_NEWADDR = 20;
    private static final int ENODEV = 19;
    private static final short RTM_NEWROUTE = 24;
    private static final short NLMSG_ERROR = 2;
    private static final short NLM_F_REQUEST = 1;
    private static final short NLM_F_ACK = 4;
    private static final short NLM_F_EXCL = 0x200;
    private static final short NLM_F_CREATE = 0x400;

    private static final short IFLA_ADDRESS = 1;
    private static final short IFLA_IFNAME = 3;
    private static final short IFLA_MTU = 4;
    private static final short IFLA_MASTER = 10;
    private static final short IFLA_LINKINFO = 18;
    private static final short IFLA_NET_NS_FD = 28;
    private static final short IFLA_INFO_KIND = 1;
    private static final short IFLA_INFO_DATA = 2;
    private static final short VETH_INFO_PEER = 1;
    private static final short IFA_ADDRESS = 1;
    private static final short IFA_LOCAL = 2;
    private static final short RTA_OIF = 4;
    private static final short RTA_GATEWAY = 5;
    private static final short NLA_F_NESTED = (short) 0x8000;

    public static final int IFF_UP = 1;

    private static final MethodHandle SOCKET = Native.function("socket",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle SENDTO = Native.function("sendto", FunctionDescriptor.of(ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
            ValueLayout.JAVA_INT));
    private static final MethodHandle RECV = Native.function("recv", FunctionDescriptor.of(ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
    private static final MethodHandle CLOSE = Native.function("close",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle OPEN = Native.function("open",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle IF_NAMETOINDEX = Native.function("if_nametoindex",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));

    private final int fd;
    private int seq;

    private Netlink(int fd) {
        this.fd = fd;
    }

    /** A NETLINK_ROUTE socket in the calling thread's network namespace. */
    public static Netlink open() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            int fd = (int) SOCKET.invokeExact(st, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
            Native.check(fd, st, "socket", "AF_NETLINK NETLINK_ROUTE");
            return new Netlink(fd);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** The index of a device in the calling thread's network namespace (0 when absent). */
    public static int indexOf(String name) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            return (int) IF_NAMETOINDEX.invokeExact(st, arena.allocateFrom(name));
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /**
     * Creates a veth pair: {@code hostName} here (enslaved to {@code masterIndex} when > 0, up),
     * {@code peerName} with {@code peerMac} directly inside the namespace pinned at {@code peerNetns}.
     */
    public void addVethIntoNamespace(String hostName, int mtu, int masterIndex, String peerName, byte[] peerMac,
            Path peerNetns) {
        int nsFd = openFile(peerNetns);
        try {
            Attrs peer = new Attrs().str(IFLA_IFNAME, peerName).u32(IFLA_NET_NS_FD, nsFd);
            if (peerMac != null) {
                peer.bytes(IFLA_ADDRESS, peerMac);
            }
            if (mtu > 0) {
                peer.u32(IFLA_MTU, mtu);
            }
            byte[] peerMsg = concat(ifinfomsg(0, 0, 0), peer.toBytes());
            Attrs info = new Attrs().str(IFLA_INFO_KIND, "veth")
                    .nested(IFLA_INFO_DATA, new Attrs().bytes(VETH_INFO_PEER, peerMsg));
            Attrs link = new Attrs().str(IFLA_IFNAME, hostName).nested(IFLA_LINKINFO, info);
            if (mtu > 0) {
                link.u32(IFLA_MTU, mtu);
            }
            if (masterIndex > 0) {
                link.u32(IFLA_MASTER, masterIndex);
            }
            request(RTM_NEWLINK, (short) (NLM_F_CREATE | NLM_F_EXCL),
                    concat(ifinfomsg(0, IFF_UP, IFF_UP), link.toBytes()), "add veth " + hostName);
        } finally {
            closeFd(nsFd);
        }
    }

    /** Deletes a device by name (a veth takes its peer with it); false when there is no such device. */
    public boolean deleteLink(String name) {
        return requestOnDevice(RTM_DELLINK, concat(ifinfomsg(0, 0, 0), new Attrs().str(IFLA_IFNAME, name).toBytes()),
                "delete " + name);
    }

    /** Sets a device down and off its master (bridge); false when there is no such device. */
    public boolean detachLink(String name) {
        Attrs a = new Attrs().str(IFLA_IFNAME, name).u32(IFLA_MASTER, 0);
        return requestOnDevice(RTM_NEWLINK, concat(ifinfomsg(0, 0, IFF_UP), a.toBytes()), "detach " + name);
    }

    /** {@link #request} on one device by name; false when there is no such device (ENODEV). */
    private boolean requestOnDevice(short type, byte[] payload, String what) {
        try {
            request(type, (short) 0, payload, what);
            return true;
        } catch (LinuxException e) {
            if (e.errno() == ENODEV) {
                return false;
            }
            throw e;
        }
    }

    /** Sets a device up, selecting it by index, or by name when index is 0. */
    public void setUp(int index, String name) {
        Attrs a = new Attrs();
        if (index == 0) {
            a.str(IFLA_IFNAME, name);
        }
        request(RTM_NEWLINK, (short) 0, concat(ifinfomsg(index, IFF_UP, IFF_UP), a.toBytes()), "set " + name + " up");
    }

    /** Adds address/prefix on the device (IPv6 without duplicate address detection). */
    public void addAddress(int index, InetAddress address, int prefix) {
        boolean v4 = address instanceof Inet4Address;
        ByteBuffer m = le(8);
        m.put((byte) (v4 ? 2 : 10)).put((byte) prefix).put((byte) (v4 ? 0 : 0x02)).put((byte) 0).putInt(index);
        Attrs a = new Attrs().bytes(IFA_LOCAL, address.getAddress()).bytes(IFA_ADDRESS, address.getAddress());
        request(RTM_NEWADDR, (short) (NLM_F_CREATE | NLM_F_EXCL), concat(m.array(), a.toBytes()),
                "add address " + address.getHostAddress() + "/" + prefix);
    }

    /** Adds the default route via {@code gateway} out of the device. */
    public void addDefaultRoute(int index, InetAddress gateway) {
        boolean v4 = gateway instanceof Inet4Address;
        ByteBuffer m = le(12);
        // family, dst_len, src_len, tos, table main, protocol boot, scope universe, type unicast, flags
        m.put((byte) (v4 ? 2 : 10)).put((byte) 0).put((byte) 0).put((byte) 0).put((byte) 254).put((byte) 3)
                .put((byte) 0).put((byte) 1).putInt(0);
        Attrs a = new Attrs().bytes(RTA_GATEWAY, gateway.getAddress()).u32(RTA_OIF, index);
        request(RTM_NEWROUTE, (short) (NLM_F_CREATE | NLM_F_EXCL), concat(m.array(), a.toBytes()),
                "add default route via " + gateway.getHostAddress());
    }

    private void request(short type, short flags, byte[] payload, String what) {
        int s = ++seq;
        ByteBuffer msg = le(16 + payload.length);
        msg.putInt(16 + payload.length).putShort(type).putShort((short) (flags | NLM_F_REQUEST | NLM_F_ACK))
                .putInt(s).putInt(0).put(payload);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            MemorySegment buf = arena.allocate(msg.capacity());
            buf.copyFrom(MemorySegment.ofArray(msg.array()));
            MemorySegment addr = arena.allocate(12);
            addr.set(ValueLayout.JAVA_SHORT, 0, (short) AF_NETLINK);
            long n = (long) SENDTO.invokeExact(st, fd, buf, (long) msg.capacity(), 0, addr, 12);
            Native.check(n, st, "sendto", "netlink " + what);
            MemorySegment in = arena.allocate(8192);
            while (true) {
                long r = (long) RECV.invokeExact(st, fd, in, 8192L, 0);
                Native.check(r, st, "recv", "netlink " + what);
                ByteBuffer rb = in.asSlice(0, r).asByteBuffer().order(ByteOrder.nativeOrder());
                int off = 0;
                while (off + 16 <= r) {
                    int len = rb.getInt(off);
                    short t = rb.getShort(off + 4);
                    int rs = rb.getInt(off + 8);
                    if (t == NLMSG_ERROR && rs == s) {
                        int err = rb.getInt(off + 16);
                        if (err != 0) {
                            throw new LinuxException("netlink", what, -err, Native.strerror(-err));
                        }
                        return;
                    }
                    if (len < 16) {
                        break;
                    }
                    off += align(len);
                }
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    @Override
    public void close() {
        closeFd(fd);
    }

    private static int openFile(Path p) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            int f = (int) OPEN.invokeExact(st, arena.allocateFrom(p.toString()), O_RDONLY | O_CLOEXEC);
            return Native.check(f, st, "open", p.toString());
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    private static void closeFd(int f) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            int ignored = (int) CLOSE.invokeExact(st, f);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    private static byte[] ifinfomsg(int index, int flags, int change) {
        ByteBuffer b = le(16);
        b.put((byte) 0).put((byte) 0).putShort((short) 0).putInt(index).putInt(flags).putInt(change);
        return b.array();
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.nativeOrder());
    }

    private static int align(int n) {
        return (n + 3) & ~3;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** Route attributes (struct rtattr: u16 length, u16 type, data padded to 4 bytes). */
    private static final class Attrs {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Attrs bytes(short type, byte[] data) {
            ByteBuffer b = le(align(4 + data.length));
            b.putShort((short) (4 + data.length)).putShort(type).put(data);
            out.writeBytes(b.array());
            return this;
        }

        Attrs str(short type, String s) {
            byte[] raw = s.getBytes(StandardCharsets.UTF_8);
            byte[] z = new byte[raw.length + 1];
            System.arraycopy(raw, 0, z, 0, raw.length);
            return bytes(type, z);
        }

        Attrs u32(short type, int v) {
            return bytes(type, le(4).putInt(v).array());
        }

        Attrs nested(short type, Attrs inner) {
            return bytes((short) (type | NLA_F_NESTED), inner.toBytes());
        }

        byte[] toBytes() {
            return out.toByteArray();
        }
    }
}
