package dev.kiln.batch;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.ext.web.RoutingContext;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A request body read as a stream on the calling (worker) thread, straight off Vert.x, with two
 * limits of its own: more than {@code maxBytes} stops the read at the limit
 * ({@link BodyTooLargeException}), and a client that sends nothing for {@code idleTimeout} stops
 * it too ({@link BodyReadTimeoutException}). Both become a problem answer (413, 408) that the
 * client still receives: Quarkus' own blocking stream closes the connection on a timeout before
 * anything can be answered, and its body buffering would hold a whole catalogue in memory.
 *
 * <p>At most {@link #HIGH_WATER} chunks wait here: beyond that the request is paused, so a fast
 * client cannot fill the heap faster than intake reads.
 */
final class StreamedBody extends InputStream {

    /** Chunks (Vert.x delivers up to 8 KiB or so each) queued before the request is paused. */
    static final int HIGH_WATER = 64;
    private static final int LOW_WATER = HIGH_WATER / 4;
    private static final Object END = new Object();

    private final RoutingContext context;
    private final HttpServerRequest request;
    private final String mediaType;
    private final long maxBytes;
    private final Duration idleTimeout;
    private final BlockingQueue<Object> chunks = new LinkedBlockingQueue<>();
    private int queued;
    private boolean paused;
    private Buffer current;
    private int position;
    private long read;
    private boolean ended;

    private StreamedBody(RoutingContext context, String mediaType, long maxBytes, Duration idleTimeout) {
        this.context = context;
        this.request = context.request();
        this.mediaType = mediaType;
        this.maxBytes = maxBytes;
        this.idleTimeout = idleTimeout;
    }

    /** Starts reading the body of {@code context}'s request, which nothing else may have read. */
    static StreamedBody of(RoutingContext context, String mediaType, long maxBytes, Duration idleTimeout) {
        HttpServerRequest request = context.request();
        StreamedBody body = new StreamedBody(context, mediaType, maxBytes, idleTimeout);
        if (request.isEnded()) {
            body.chunks.add(END); // nothing left to read (an empty body, already consumed)
            return body;
        }
        request.handler(chunk -> {
            body.chunks.add(chunk);
            body.arrived();
        });
        request.exceptionHandler(body.chunks::add);
        request.endHandler(v -> body.chunks.add(END));
        request.resume();
        return body;
    }

    /* The event loop counts chunks in, the reader counts them out; one lock keeps pause and resume in step. */
    private synchronized void arrived() {
        if (++queued >= HIGH_WATER && !paused) {
            paused = true;
            request.pause();
        }
    }

    private synchronized void taken() {
        if (--queued <= LOW_WATER && paused) {
            paused = false;
            request.resume();
        }
    }

    /** Bytes read so far. */
    long bytesRead() {
        return read;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] into, int offset, int length) throws IOException {
        if (length == 0) {
            return 0;
        }
        while (current == null || position >= current.length()) {
            if (ended || !next()) {
                return -1;
            }
        }
        int n = Math.min(length, current.length() - position);
        current.getBytes(position, position + n, into, offset);
        position += n;
        read += n;
        if (read > maxBytes) {
            throw new BodyTooLargeException(mediaType, maxBytes);
        }
        return n;
    }

    /**
     * Ends reading. A body not read to its end (cut off at its limit, stalled, or refused after
     * too many bad lines) would otherwise be read and thrown away by the HTTP server to the last
     * byte, or wait on a stalled client: the connection is closed once the answer is sent.
     */
    @Override
    public void close() {
        if (!ended) {
            context.addEndHandler(sent -> {
                if (request.version() != HttpVersion.HTTP_2) {
                    request.connection().close();
                } else if (!request.isEnded()) {
                    request.response().reset(); // one stream of a shared connection
                }
            });
        }
    }

    /** Takes the next chunk; false at the end of the body. */
    private boolean next() throws IOException {
        Object next;
        try {
            next = chunks.poll(idleTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while reading the body", e);
        }
        if (next == null) {
            throw new BodyReadTimeoutException(idleTimeout, read);
        }
        if (next == END) {
            ended = true;
            return false;
        }
        if (next instanceof Throwable failure) {
            throw new IOException("the body could not be read: " + failure.getMessage(), failure);
        }
        taken();
        current = (Buffer) next;
        position = 0;
        return true;
    }
}
