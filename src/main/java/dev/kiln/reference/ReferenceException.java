package dev.kiln.reference;

/**
 * A reference image or mask that could not be had. {@link #retryable()} decides what the worker
 * does: a reference that is wrong (refused host or address, missing, too large, no image, a mask
 * of the wrong size) fails the job at once, since another attempt would fetch the same thing;
 * a fault on the way (timeout, 5xx, reset connection) is retried like a provider 5xx.
 */
public class ReferenceException extends RuntimeException {

    /** The URL or host is not allowed: wrong scheme, host off the allow-list, internal address, too many redirects. */
    public static final String REFUSED = "reference_refused";
    /** The object key or URL names nothing (S3 NoSuchKey, HTTP 404 or 410). */
    public static final String NOT_FOUND = "reference_not_found";
    /** The host refused to serve it (another 4xx). */
    public static final String REJECTED = "reference_rejected";
    /** Larger than {@code kiln.references.max-bytes}. */
    public static final String TOO_LARGE = "reference_too_large";
    /** Not a PNG, JPEG or WebP image. */
    public static final String INVALID = "invalid_reference";
    /** The mask is no PNG or differs in size from the first reference. */
    public static final String INVALID_MASK = "invalid_mask";
    /** A transient fault while fetching: retried. */
    public static final String UNAVAILABLE = "reference_unavailable";

    private final String code;
    private final boolean retryable;

    private ReferenceException(String code, String message, boolean retryable, Throwable cause) {
        super(message, cause);
        this.code = code;
        this.retryable = retryable;
    }

    /** A reference that will never work: the job fails without another attempt. */
    public static ReferenceException permanent(String code, String message) {
        return new ReferenceException(code, message, false, null);
    }

    /** A fault on the way to the reference: the job is retried. */
    public static ReferenceException transientFault(String message, Throwable cause) {
        return new ReferenceException(UNAVAILABLE, message, true, cause);
    }

    /** A stable machine code, one of the constants of this class. */
    public String code() {
        return code;
    }

    /** Whether another attempt may succeed. */
    public boolean retryable() {
        return retryable;
    }
}
