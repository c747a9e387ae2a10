package dev.berth.linux;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;

/** A failed system call: names the call, its subject, errno's number and text. */
public final class LinuxException extends BerthException {
    private final int errno;
    private final String subject;

    public LinuxException(String call, String subject, int errno, String text) {
        super(kindOf(errno), call + "(" + subject + "): " + text + " (errno " + errno + ")");
        this.errno = errno;
        this.subject = subject;
    }

    /** What the call was about (a path, a pid, a sysctl name). */
    public String subject() {
        return subject;
    }

    public int errno() {
        return errno;
    }

    private static ErrorKind kindOf(int errno) {
        return switch (errno) {
            case Errno.ENOENT, Errno.ESRCH -> ErrorKind.NOT_FOUND;
            case Errno.EEXIST -> ErrorKind.ALREADY_EXISTS;
            case Errno.EPERM, Errno.EACCES -> ErrorKind.PERMISSION_DENIED;
            case Errno.EINVAL -> ErrorKind.INVALID_ARGUMENT;
            default -> ErrorKind.INTERNAL;
        };
    }
}
