package dev.berth.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.ref.Cleaner;
import java.util.Optional;

/**
 * SHA-256 from the host's OpenSSL libcrypto (EVP API), for hashing image layers while they stream.
 *
 * <p>Why: the daemon runs with C1 only (memory), and C1 does not use the JDK's SHA intrinsics, so
 * {@code MessageDigest} hashes at about 130 MB/s there, which caps pull speed; libcrypto uses the
 * CPU's SHA extensions (GB/s). Byte arrays are passed without copying (a critical downcall).
 * {@link #create()} is empty when libcrypto.so.3 is missing; callers then use MessageDigest.
 */
public final class NativeSha256 implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();
    private static final Handles H = Handles.load();

    private record Handles(MethodHandle newCtx, MethodHandle freeCtx, MethodHandle sha256, MethodHandle init,
            MethodHandle update, MethodHandle finalEx) {
        static Handles load() {
            try {
                Linker linker = Linker.nativeLinker();
                SymbolLookup lib = SymbolLookup.libraryLookup("libcrypto.so.3", Arena.global());
                return new Handles(
                        linker.downcallHandle(lib.findOrThrow("EVP_MD_CTX_new"), FunctionDescriptor.of(ValueLayout.ADDRESS)),
                        linker.downcallHandle(lib.findOrThrow("EVP_MD_CTX_free"), FunctionDescriptor.ofVoid(ValueLayout.ADDRESS)),
                        linker.downcallHandle(lib.findOrThrow("EVP_sha256"), FunctionDescriptor.of(ValueLayout.ADDRESS)),
                        linker.downcallHandle(lib.findOrThrow("EVP_DigestInit_ex"), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                                ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS)),
                        linker.downcallHandle(lib.findOrThrow("EVP_DigestUpdate"), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                                ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG), Linker.Option.critical(true)),
                        linker.downcallHandle(lib.findOrThrow("EVP_DigestFinal_ex"), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                                ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS)));
            } catch (RuntimeException | Error e) {
                return null;
            }
        }
    }

    /** Frees the EVP context when the hasher is closed or becomes unreachable. */
    private record Free(MemorySegment ctx) implements Runnable {
        @Override
        public void run() {
            try {
                H.freeCtx().invokeExact(ctx);
            } catch (Throwable t) {
                // nothing to do at cleanup
            }
        }
    }

    private final MemorySegment ctx;
    private final Cleaner.Cleanable cleanable;
    private boolean done;

    private NativeSha256(MemorySegment ctx) {
        this.ctx = ctx;
        this.cleanable = CLEANER.register(this, new Free(ctx));
    }

    public static boolean available() {
        return H != null;
    }

    public static Optional<NativeSha256> create() {
        if (H == null) {
            return Optional.empty();
        }
        try {
            MemorySegment ctx = (MemorySegment) H.newCtx().invokeExact();
            if (ctx.equals(MemorySegment.NULL)) {
                return Optional.empty();
            }
            MemorySegment md = (MemorySegment) H.sha256().invokeExact();
            int ok = (int) H.init().invokeExact(ctx, md, MemorySegment.NULL);
            if (ok != 1) {
                H.freeCtx().invokeExact(ctx);
                return Optional.empty();
            }
            return Optional.of(new NativeSha256(ctx));
        } catch (Throwable t) {
            return Optional.empty();
        }
    }

    public void update(byte[] b, int off, int len) {
        if (done) {
            throw new IllegalStateException("digest already finished");
        }
        try {
            int ok = (int) H.update().invokeExact(ctx, MemorySegment.ofArray(b).asSlice(off, len), (long) len);
            if (ok != 1) {
                throw new IllegalStateException("EVP_DigestUpdate failed");
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** The 32-byte digest; the hasher cannot be used afterwards. */
    public byte[] finish() {
        if (done) {
            throw new IllegalStateException("digest already finished");
        }
        done = true;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(64);
            int ok = (int) H.finalEx().invokeExact(ctx, out, MemorySegment.NULL);
            if (ok != 1) {
                throw new IllegalStateException("EVP_DigestFinal_ex failed");
            }
            return out.asSlice(0, 32).toArray(ValueLayout.JAVA_BYTE);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        } finally {
            cleanable.clean();
        }
    }

    @Override
    public void close() {
        cleanable.clean();
        done = true;
    }
}
