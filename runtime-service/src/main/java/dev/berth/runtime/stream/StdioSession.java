package dev.berth.runtime.stream;

import java.io.InputStream;
import java.io.OutputStream;

/**
 * The stdio of one process the streaming server relays: a process exec'd in a container, or the
 * container's own process (attach). Streams are plain blocking streams: the server reads them on
 * virtual threads and stops reading when its client does not keep up, so nothing buffers without
 * bound. A stream the client did not ask for is null.
 */
public interface StdioSession extends AutoCloseable {
    /** The process's stdin; closing it delivers EOF to the process. Null when stdin was not asked for. */
    OutputStream stdin();

    /** The process's stdout (with a TTY: the terminal's output). Null when not asked for. */
    InputStream stdout();

    /** The process's stderr. Always null with a TTY (the terminal carries both). */
    InputStream stderr();

    /** Sets the terminal's size; ignored without a TTY. */
    void resize(int columns, int rows);

    /**
     * Waits until the session ends. Exec: the process's exit code. Attach: the container's exit code
     * once it ends. Negative when the session was closed before an exit was seen.
     */
    int awaitExit() throws InterruptedException;

    /**
     * Ends the session and releases everything it holds (fds, threads, processes). Exec: the process
     * and its children are killed. Attach: only detaches; the container goes on. Idempotent.
     */
    @Override
    void close();
}
