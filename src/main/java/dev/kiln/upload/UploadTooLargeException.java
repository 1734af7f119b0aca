package dev.kiln.upload;

/** An upload over {@link UploadConfig#maxBytes()}. */
public class UploadTooLargeException extends RuntimeException {

    private final long maxBytes;

    public UploadTooLargeException(long bytes, long maxBytes) {
        super("the upload has " + bytes + " bytes");
        this.maxBytes = maxBytes;
    }

    /** The largest upload accepted. */
    public long maxBytes() {
        return maxBytes;
    }
}
