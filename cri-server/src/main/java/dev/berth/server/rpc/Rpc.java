package dev.berth.server.rpc;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.function.Supplier;

/**
 * Runs one unary RPC handler and answers the caller. This is the single place where domain errors
 * become gRPC statuses: a {@link BerthException}'s kind picks the code and its message is the
 * description; any other exception is a bug and answers INTERNAL (logged with its stack trace)
 * without taking the daemon down; InstrumentingInterceptor logs it once, with its stack trace. Errors are not answered here but propagate.
 */
public final class Rpc {
    private Rpc() {}

    public static <T> void unary(StreamObserver<T> observer, Supplier<T> handler) {
        T response;
        try {
            response = handler.get();
        } catch (BerthException e) {
            observer.onError(toStatus(e).asRuntimeException());
            return;
        } catch (StatusRuntimeException e) {
            observer.onError(e);
            return;
        } catch (java.nio.file.InvalidPathException e) {
            // A path string the OS cannot name (a NUL in it): berth's own paths come from the checked
            // config and from ids it validates, so this is a path of the request (found by CriRequestFuzzTest
            // in RestorePod's checkpoint_path; the handlers that take paths need not each re-check for NUL)
            observer.onError(Status.INVALID_ARGUMENT.withDescription(bounded("a path in the request is not valid: "
                    + e.getMessage())).asRuntimeException());
            return;
        } catch (RuntimeException e) {
            // An Error (OutOfMemoryError, StackOverflowError) is not caught: the JVM is in an unknown state,
            // and it must reach the JVM (-XX:+ExitOnOutOfMemoryError); state survives the restart (kill -9 safe).
            // the cause rides along to InstrumentingInterceptor, which logs every failed call once
            observer.onError(Status.INTERNAL.withDescription("internal error: " + e).withCause(e).asRuntimeException());
            return;
        }
        observer.onNext(response);
        observer.onCompleted();
    }

    /**
     * A status description at most this long: it travels in a header, and clients refuse large ones
     * (grpc-java's default limit for all headers is 8 KiB), which would turn a clear error into a
     * transport failure. Messages can quote request or image content.
     */
    static final int MAX_DESCRIPTION_CHARS = 4096;

    public static Status toStatus(BerthException e) {
        return Status.fromCode(code(e.kind())).withDescription(bounded(e.getMessage()));
    }

    static String bounded(String message) {
        if (message == null || message.length() <= MAX_DESCRIPTION_CHARS) {
            return message;
        }
        int cut = message.length() - MAX_DESCRIPTION_CHARS + 64;
        return message.substring(0, MAX_DESCRIPTION_CHARS - 64) + " ...(" + cut + " characters left out)";
    }

    static Status.Code code(ErrorKind kind) {
        return switch (kind) {
            case INVALID_ARGUMENT -> Status.Code.INVALID_ARGUMENT;
            case NOT_FOUND -> Status.Code.NOT_FOUND;
            case ALREADY_EXISTS -> Status.Code.ALREADY_EXISTS;
            case FAILED_PRECONDITION -> Status.Code.FAILED_PRECONDITION;
            case UNAUTHENTICATED -> Status.Code.UNAUTHENTICATED;
            case PERMISSION_DENIED -> Status.Code.PERMISSION_DENIED;
            case UNAVAILABLE -> Status.Code.UNAVAILABLE;
            case DEADLINE_EXCEEDED -> Status.Code.DEADLINE_EXCEEDED;
            case RESOURCE_EXHAUSTED -> Status.Code.RESOURCE_EXHAUSTED;
            case UNIMPLEMENTED -> Status.Code.UNIMPLEMENTED;
            case INTERNAL -> Status.Code.INTERNAL;
        };
    }
}
