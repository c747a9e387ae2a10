package dev.berth.runtime.monitor;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Notices containers that end by themselves: conmon writes {@code <exit dir>/<id>} when a container
 * exits, and this watches that directory (inotify through the JDK's WatchService) and hands each
 * new file's name to {@code onExit}. When the kernel's queue overflowed, {@code onOverflow} runs so
 * the caller can look at every container.
 */
public final class ExitWatcher implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ExitWatcher.class.getName());

    private final WatchService watch;
    private final Thread thread;

    private ExitWatcher(WatchService watch, Thread thread) {
        this.watch = watch;
        this.thread = thread;
    }

    public static ExitWatcher start(Path exitDir, Consumer<String> onExit, Runnable onOverflow) {
        try {
            WatchService ws = FileSystems.getDefault().newWatchService();
            exitDir.register(ws, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY);
            Thread t = Thread.ofVirtual().name("berth-exit-watcher").unstarted(() -> loop(ws, onExit, onOverflow));
            ExitWatcher w = new ExitWatcher(ws, t);
            t.start();
            return w;
        } catch (IOException e) {
            throw dev.berth.core.error.BerthException.internal("cannot watch " + exitDir + " for container exits: "
                    + e.getMessage(), e);
        }
    }

    private static void loop(WatchService ws, Consumer<String> onExit, Runnable onOverflow) {
        while (true) {
            WatchKey key;
            try {
                key = ws.take();
            } catch (InterruptedException | ClosedWatchServiceException e) {
                return;
            }
            for (WatchEvent<?> e : key.pollEvents()) {
                try {
                    if (e.kind() == StandardWatchEventKinds.OVERFLOW) {
                        onOverflow.run();
                    } else if (e.context() instanceof Path name) {
                        onExit.accept(name.toString());
                    }
                } catch (RuntimeException ex) {
                    LOG.log(Level.WARNING, "handling a container exit failed", ex);
                }
            }
            if (!key.reset()) {
                LOG.warning("the exit directory is gone; container exits are noticed only when asked");
                return;
            }
        }
    }

    @Override
    public void close() {
        try {
            watch.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        thread.interrupt();
    }
}
