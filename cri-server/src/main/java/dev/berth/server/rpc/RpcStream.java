package dev.berth.server.rpc;

import com.google.protobuf.MessageLite;
import dev.berth.core.error.BerthException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Runs one Stream* list RPC: the handler's items are sent in chunks of at most {@link #MAX_ITEMS}
 * items and about {@link #MAX_BYTES} bytes each, so a node with thousands of containers never
 * builds one huge message (the List RPCs are bounded by the client's 16 MiB default). Errors
 * become statuses as in {@link Rpc#unary}.
 */
public final class RpcStream {
    public static final int MAX_ITEMS = 200;
    public static final int MAX_BYTES = 1 << 20;

    private RpcStream() {}

    public static <I extends MessageLite, R> void chunked(StreamObserver<R> observer, Supplier<List<I>> items,
            Function<List<I>, R> wrap) {
        List<I> all;
        try {
            all = items.get();
        } catch (BerthException e) {
            observer.onError(Rpc.toStatus(e).asRuntimeException());
            return;
        } catch (StatusRuntimeException e) {
            observer.onError(e);
            return;
        } catch (RuntimeException | Error e) {
            // the cause rides along to InstrumentingInterceptor, which logs every failed call once
            observer.onError(Status.INTERNAL.withDescription("internal error: " + e).withCause(e).asRuntimeException());
            return;
        }
        for (List<I> chunk : chunks(all)) {
            observer.onNext(wrap.apply(chunk));
        }
        observer.onCompleted();
    }

    /** Splits items into chunks bounded in count and serialized size (an oversized item goes alone). */
    static <I extends MessageLite> List<List<I>> chunks(List<I> all) {
        List<List<I>> out = new ArrayList<>();
        List<I> cur = new ArrayList<>();
        long bytes = 0;
        for (I item : all) {
            int size = item.getSerializedSize();
            if (!cur.isEmpty() && (cur.size() >= MAX_ITEMS || bytes + size > MAX_BYTES)) {
                out.add(cur);
                cur = new ArrayList<>();
                bytes = 0;
            }
            cur.add(item);
            bytes += size;
        }
        if (!cur.isEmpty()) {
            out.add(cur);
        }
        return out;
    }
}
