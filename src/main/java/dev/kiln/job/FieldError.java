package dev.kiln.job;

/**
 * One bad field of a request.
 *
 * @param field  a path into the request, such as {@code items[3].size} or {@code defaults.mask}
 * @param reason the rule it breaks, as a sentence that follows the field's name
 */
public record FieldError(String field, String reason) {
}
