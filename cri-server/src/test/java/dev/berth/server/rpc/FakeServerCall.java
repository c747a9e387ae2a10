package dev.berth.server.rpc;

import io.grpc.Attributes;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.Status;

/** A server call of one method that sends nothing anywhere and keeps the status it was closed with. */
public final class FakeServerCall extends ServerCall<Object, Object> {
    private final MethodDescriptor<Object, Object> method;
    private volatile Status closed;

    @SuppressWarnings("unchecked")
    public FakeServerCall(MethodDescriptor<?, ?> method) {
        this.method = (MethodDescriptor<Object, Object>) method;
    }

    /** The status the call was closed with; null while open. */
    public Status closed() {
        return closed;
    }

    @Override
    public void request(int numMessages) {}

    @Override
    public void sendHeaders(Metadata headers) {}

    @Override
    public void sendMessage(Object message) {}

    @Override
    public void close(Status status, Metadata trailers) {
        closed = status;
    }

    @Override
    public boolean isCancelled() {
        return false;
    }

    @Override
    public Attributes getAttributes() {
        return Attributes.EMPTY;
    }

    @Override
    public MethodDescriptor<Object, Object> getMethodDescriptor() {
        return method;
    }
}
