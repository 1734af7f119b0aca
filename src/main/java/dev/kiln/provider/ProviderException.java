package dev.kiln.provider;

import java.time.Duration;
import java.util.Optional;

/**
 * A call to the Images API that did not give images. The {@link Kind} decides what the worker
 * does next; the message is the provider's own (or a description of the transport fault) and
 * never holds the API key.
 */
public class ProviderException extends RuntimeException {

    /** What kind of failure, and so what to do about it. */
    public enum Kind {
        /** The request itself is wrong or refused (400, including moderation): fail the job, never retry. */
        REJECTED,
        /** The key is wrong or lacks access (401/403): stop consuming, fail nothing. */
        UNAUTHORIZED,
        /** 429: wait and call again; not a failed attempt. */
        RATE_LIMITED,
        /** 5xx, timeout, reset, malformed or wrong answer: retry with backoff, up to the attempt limit. */
        TRANSIENT
    }

    private final Kind kind;
    private final String code;
    private final Duration retryAfter;

    public ProviderException(Kind kind, String code, String message, Duration retryAfter, Throwable cause) {
        super(message, cause);
        this.kind = kind;
        this.code = code;
        this.retryAfter = retryAfter;
    }

    /** A retryable fault. */
    public static ProviderException transientFault(String code, String message, Throwable cause) {
        return new ProviderException(Kind.TRANSIENT, code, message, null, cause);
    }

    /** What kind of failure. */
    public Kind kind() {
        return kind;
    }

    /** The provider's error code, or Kiln's for transport faults. */
    public String code() {
        return code;
    }

    /** How long the provider asked us to wait, if it said. */
    public Optional<Duration> retryAfter() {
        return Optional.ofNullable(retryAfter);
    }
}
