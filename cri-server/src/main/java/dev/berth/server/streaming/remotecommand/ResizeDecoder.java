package dev.berth.server.streaming.remotecommand;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.async.ByteArrayFeeder;
import dev.berth.server.streaming.transport.InSink;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.function.BiConsumer;
import org.jboss.logging.Logger;

/**
 * The resize stream: a sequence of JSON objects {@code {"Width":80,"Height":24}} (client-go's
 * TerminalSize), split across frames anywhere. Parsed incrementally with Jackson's non-blocking
 * parser on the event loop; sizes reach the terminal on a virtual thread (a resize may block on
 * the monitor's control FIFO). A burst keeps only the latest sizes.
 */
public final class ResizeDecoder implements InSink {
    private static final Logger LOG = Logger.getLogger(ResizeDecoder.class);
    private static final JsonFactory FACTORY = new JsonFactory();

    private final BlockingQueue<int[]> sizes = new ArrayBlockingQueue<>(8);
    private JsonParser parser;
    private String field;
    private int width = -1;
    private int height = -1;
    private int depth;
    private volatile boolean ended;

    public ResizeDecoder() {
        try {
            parser = FACTORY.createNonBlockingByteArrayParser();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void data(ByteBuf data) {
        try {
            if (parser == null) {
                return;
            }
            byte[] bytes = new byte[data.readableBytes()];
            data.readBytes(bytes);
            ((ByteArrayFeeder) parser.getNonBlockingInputFeeder()).feedInput(bytes, 0, bytes.length);
            JsonToken t;
            while ((t = parser.nextToken()) != null && t != JsonToken.NOT_AVAILABLE) {
                token(t);
            }
        } catch (IOException e) {
            LOG.debugf("resize stream is not JSON, ignoring the rest: %s", e.getMessage());
            parser = null;
        } finally {
            data.release();
        }
    }

    private void token(JsonToken t) throws IOException {
        switch (t) {
            case START_OBJECT -> {
                if (depth++ == 0) {
                    width = -1;
                    height = -1;
                }
            }
            case END_OBJECT -> {
                if (--depth == 0 && width >= 0 && height >= 0) {
                    while (!sizes.offer(new int[] {width, height})) {
                        sizes.poll();
                    }
                }
            }
            case FIELD_NAME -> field = parser.currentName();
            case VALUE_NUMBER_INT -> {
                if (depth == 1 && "Width".equals(field)) {
                    width = Math.max(0, Math.min(parser.getIntValue(), 0xFFFF));
                } else if (depth == 1 && "Height".equals(field)) {
                    height = Math.max(0, Math.min(parser.getIntValue(), 0xFFFF));
                }
            }
            default -> { }
        }
    }

    @Override
    public void end() {
        ended = true;
        sizes.offer(new int[] {-1, -1}); // wakes the delivering thread; may be dropped if full
    }

    /** Delivers sizes to {@code resize(width, height)} until the stream ends or the thread is interrupted. */
    public Thread start(String name, BiConsumer<Integer, Integer> resize) {
        return Thread.ofVirtual().name(name).start(() -> {
            try {
                while (true) {
                    int[] s = sizes.take();
                    if (s[0] < 0) {
                        if (ended) {
                            return;
                        }
                        continue;
                    }
                    resize.accept(s[0], s[1]);
                }
            } catch (InterruptedException e) {
                // session over
            } catch (RuntimeException e) {
                LOG.debugf("resizing the terminal failed: %s", e.getMessage());
            }
        });
    }
}
