package dev.kiln.batch;

/** A request body passed its size limit while it was read; reading stopped there. */
public class BodyTooLargeException extends RuntimeException {

    private final transient long maxBytes;
    private final String mediaType;

    public BodyTooLargeException(String mediaType, long maxBytes) {
        super("a " + mediaType + " body may have at most " + maxBytes + " bytes; reading stopped at the limit");
        this.mediaType = mediaType;
        this.maxBytes = maxBytes;
    }

    /** The limit that was passed. */
    public long maxBytes() {
        return maxBytes;
    }

    /** The body's media type, such as {@code application/x-ndjson}. */
    public String mediaType() {
        return mediaType;
    }
}
