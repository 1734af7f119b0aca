package dev.kiln.provider;

import java.time.Duration;
import java.util.Optional;

/**
 * A call to the Images API that gave no images: what kind of failure it was, in the provider's
 * words where it gave any. A value, not an exception: the worker's retry policy decides what
 * follows from the {@link Kind}.
 *
 * @param kind       what kind of failure
 * @param code       the provider's error code, or Kiln's for transport faults
 * @param message    the provider's message or a description of the fault; never holds the API key
 * @param retryAfter how long the provider asked us to wait (429), or null
 */
public record ProviderFailure(Kind kind, String code, String message, Duration retryAfter) {

    /** What kind of failure, and so what to do about it. */
    public enum Kind {
        /** The request itself is wrong or refused (400, including moderation): fail the job, never retry. */
        REJECTED,
        /** The key is wrong or lacks access (401/403): stop calling, fail nothing. */
        UNAUTHORIZED,
        /** 429: wait and call again; not a failed attempt. */
        RATE_LIMITED,
        /** 5xx, timeout, reset, malformed or wrong answer: retry with backoff, up to the attempt limit. */
        TRANSIENT
    }

    /** A retryable fault. */
    public static ProviderFailure transientFault(String code, String message) {
        return new ProviderFailure(Kind.TRANSIENT, code, message, null);
    }

    /** How long the provider asked us to wait, if it said. */
    public Optional<Duration> retryAfterHint() {
        return Optional.ofNullable(retryAfter);
    }
}
