package dev.kiln.job;

import java.util.List;

/** A request that breaks rules of the contract; every broken rule is listed, each with its field. */
public class InvalidRequestException extends RuntimeException {

    private final transient List<FieldError> errors;

    public InvalidRequestException(List<FieldError> errors) {
        super(errors.size() + " field(s) are invalid");
        this.errors = List.copyOf(errors);
    }

    /** A request with one bad field. */
    public static InvalidRequestException of(String field, String reason) {
        return new InvalidRequestException(List.of(new FieldError(field, reason)));
    }

    /** Every bad field, in the order of the request. */
    public List<FieldError> errors() {
        return errors;
    }
}
