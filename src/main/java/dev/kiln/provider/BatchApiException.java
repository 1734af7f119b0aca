package dev.kiln.provider;

/** A Batch API or Files API call that did not succeed; {@link #retryable()} says whether a later try may. */
public class BatchApiException extends Exception {

    private final boolean retryable;

    public BatchApiException(String message, boolean retryable) {
        super(message);
        this.retryable = retryable;
    }

    /** Whether the same call may succeed later (a 5xx, a 429, a connection failure). */
    public boolean retryable() {
        return retryable;
    }
}
