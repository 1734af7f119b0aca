package dev.kiln.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.kiln.job.FieldError;

import java.util.List;

/**
 * An RFC 9457 problem detail, Kiln's only error body.
 *
 * @param type   a URI naming the kind of problem
 * @param title  a short summary of the kind
 * @param status the HTTP status
 * @param detail what went wrong this time
 * @param errors each bad field, for validation problems
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record Problem(String type, String title, int status, String detail, List<FieldError> errors) {

    /** The media type of problem bodies. */
    public static final String MEDIA_TYPE = "application/problem+json";

    /** A 400 listing every bad field. */
    public static Problem invalid(List<FieldError> errors) {
        return new Problem("urn:kiln:problem:invalid-request", "Invalid request", 400,
                errors.size() + " field(s) are invalid", errors);
    }

    /** A problem without field errors. */
    public static Problem of(int status, String slug, String title, String detail) {
        return new Problem("urn:kiln:problem:" + slug, title, status, detail, List.of());
    }
}
