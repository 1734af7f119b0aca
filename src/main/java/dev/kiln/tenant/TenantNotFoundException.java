package dev.kiln.tenant;

/** The admin API named a tenant or key that does not exist. */
public class TenantNotFoundException extends RuntimeException {

    public TenantNotFoundException(String message) {
        super(message);
    }
}
