package dev.berth.server.rpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.berth.core.error.BerthException;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RpcTest {
    /** Records what the handler answered. */
    static final class Recorder implements StreamObserver<String> {
        final List<String> values = new ArrayList<>();
        Throwable error;
        boolean completed;

        @Override
        public void onNext(String v) {
            values.add(v);
        }

        @Override
        public void onError(Throwable t) {
            error = t;
        }

        @Override
        public void onCompleted() {
            completed = true;
        }
    }

    @Test
    void domainErrorsBecomeTheirStatus() {
        Recorder r = new Recorder();
        Rpc.unary(r, () -> {
            throw BerthException.invalid("bad %s", "name");
        });
        assertEquals(Status.Code.INVALID_ARGUMENT, Status.fromThrowable(r.error).getCode());
        assertEquals("bad name", Status.fromThrowable(r.error).getDescription());
    }

    @Test
    void bugsAnswerInternal() {
        Recorder r = new Recorder();
        Rpc.unary(r, () -> {
            throw new IllegalStateException("oops");
        });
        assertEquals(Status.Code.INTERNAL, Status.fromThrowable(r.error).getCode());
    }

    /**
     * An Error (OutOfMemoryError, StackOverflowError, a linkage failure) leaves the JVM in an unknown
     * state: it must reach the JVM's handler (-XX:+ExitOnOutOfMemoryError), not be answered and forgotten.
     */
    @Test
    void errorsAreNotSwallowed() {
        Recorder r = new Recorder();
        OutOfMemoryError oom = new OutOfMemoryError("Java heap space");
        OutOfMemoryError thrown = assertThrows(OutOfMemoryError.class, () -> Rpc.unary(r, () -> {
            throw oom;
        }));
        assertEquals(oom, thrown);
        assertNull(r.error);
    }
}
