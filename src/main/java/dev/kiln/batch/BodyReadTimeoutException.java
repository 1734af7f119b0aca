package dev.kiln.batch;

import java.time.Duration;

/** The client sent no byte of its body for longer than the read timeout; nothing was accepted. */
public class BodyReadTimeoutException extends RuntimeException {

    public BodyReadTimeoutException(Duration idle, long bytesRead) {
        super("the client sent nothing for " + idle.toMillis() / 1000.0 + " s after " + bytesRead
                + " bytes of the body; nothing was accepted. Send the body without pauses, and retry.");
    }
}
