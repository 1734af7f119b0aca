package dev.kiln.job;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

import java.util.Locale;

/**
 * How urgent a batch is. The dispatcher releases every pending job of a higher priority before
 * any of a lower one; fair share across tenants applies within one priority.
 */
public enum Priority {
    INTERACTIVE, NORMAL, BULK;

    /** The lower-case wire name. */
    @JsonValue
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses a wire name such as {@code bulk}; absent means {@link #NORMAL}. */
    @JsonCreator
    public static Priority fromWire(String name) {
        if (name == null || name.isBlank()) {
            return NORMAL;
        }
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("priority must be interactive, normal or bulk, not '" + name + "'", e);
        }
    }
}
