package dev.kiln.storage;

/** An S3 call failed; retryable, since storage faults are transient far more often than not. */
public class StorageException extends RuntimeException {

    /** Wraps the SDK's failure with what Kiln was doing. */
    public StorageException(String message, Throwable cause) {
        super(message, cause);
    }
}
