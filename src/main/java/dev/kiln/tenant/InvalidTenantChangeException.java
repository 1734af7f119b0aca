package dev.kiln.tenant;

/** The admin API was asked for a change that breaks a rule (an id, a quota out of range). */
public class InvalidTenantChangeException extends RuntimeException {

    private final String field;

    public InvalidTenantChangeException(String field, String reason) {
        super(reason);
        this.field = field;
    }

    /** The request field at fault. */
    public String field() {
        return field;
    }
}
