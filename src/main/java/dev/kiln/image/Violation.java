package dev.kiln.image;

/**
 * One broken rule of a render request.
 *
 * @param field  the parameter as the Images API spells it, such as {@code output_format}
 * @param reason a short sentence naming the rule, such as "must be auto or WxH with both edges multiples of 16"
 */
public record Violation(String field, String reason) {

    /** {@code field reason}, such as "n must be between 1 and 10". */
    public String message() {
        return field + " " + reason;
    }
}
