package dev.kiln.tenant;

/** Kafka did not take or show an admin change in time; the change may or may not have been applied. */
public class TenantStoreUnavailableException extends RuntimeException {

    public TenantStoreUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
