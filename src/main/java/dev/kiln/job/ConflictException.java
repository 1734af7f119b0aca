package dev.kiln.job;

/** The request does not fit the state of what it names, such as cancelling a batch that has succeeded (409). */
public class ConflictException extends RuntimeException {

    private final String code;

    public ConflictException(String code, String message) {
        super(message);
        this.code = code;
    }

    /** A stable machine code, such as {@code batch-ended} or {@code nothing-to-retry}. */
    public String code() {
        return code;
    }
}
