package dev.berth.core.error;

/**
 * The one exception type domain code throws. It carries an {@link ErrorKind} for the gRPC status and
 * a message written for a person: what failed, on which object, and what to do about it.
 */
public class BerthException extends RuntimeException {
    private final ErrorKind kind;

    public BerthException(ErrorKind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public BerthException(ErrorKind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public ErrorKind kind() {
        return kind;
    }

    public static BerthException invalid(String format, Object... args) {
        return new BerthException(ErrorKind.INVALID_ARGUMENT, String.format(format, args));
    }

    public static BerthException notFound(String format, Object... args) {
        return new BerthException(ErrorKind.NOT_FOUND, String.format(format, args));
    }

    public static BerthException alreadyExists(String format, Object... args) {
        return new BerthException(ErrorKind.ALREADY_EXISTS, String.format(format, args));
    }

    public static BerthException precondition(String format, Object... args) {
        return new BerthException(ErrorKind.FAILED_PRECONDITION, String.format(format, args));
    }

    public static BerthException unavailable(String message, Throwable cause) {
        return new BerthException(ErrorKind.UNAVAILABLE, message, cause);
    }

    public static BerthException internal(String message, Throwable cause) {
        return new BerthException(ErrorKind.INTERNAL, message, cause);
    }

    /** Adds context to a failure while keeping its kind: "create container x: " + cause. */
    public BerthException withContext(String context) {
        BerthException e = new BerthException(kind, context + ": " + getMessage(), getCause());
        e.setStackTrace(getStackTrace());
        for (Throwable s : getSuppressed()) {
            e.addSuppressed(s); // e.g. a failed rollback step reported beside the cause
        }
        return e;
    }
}
