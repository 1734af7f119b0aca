package dev.kiln.job;

import java.time.Duration;

/**
 * Kiln cannot do this now, but may shortly: Kafka did not confirm, the bucket is unreachable,
 * the status view is still loading. Nothing was accepted; the caller may retry the same request.
 */
public class ServiceUnavailableException extends RuntimeException {

    private final String code;
    private final String title;
    private final transient Duration retryAfter;

    /**
     * @param code       a stable name of the cause, such as {@code not-accepted}
     * @param title      a short summary of the cause
     * @param message    what happened and what to do
     * @param retryAfter how long to wait before retrying
     */
    public ServiceUnavailableException(String code, String title, String message, Duration retryAfter) {
        super(message);
        this.code = code;
        this.title = title;
        this.retryAfter = retryAfter;
    }

    public String code() {
        return code;
    }

    public String title() {
        return title;
    }

    public Duration retryAfter() {
        return retryAfter;
    }
}
