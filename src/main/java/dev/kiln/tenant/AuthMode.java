package dev.kiln.tenant;

import java.util.Locale;

/** Whether the REST API asks callers for a key ({@code KILN_AUTH}). */
public enum AuthMode {
    /** Every request names a tenant's key; with no key configured at all, the local run stays open. */
    REQUIRED,
    /** No key is asked for: every caller is the default tenant. For a trusted network only. */
    OFF;

    /** Parses {@code required} or {@code off}, ignoring case; blank means {@link #REQUIRED}. */
    public static AuthMode parse(String value) {
        if (value == null || value.isBlank()) {
            return REQUIRED;
        }
        try {
            return valueOf(value.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("KILN_AUTH must be required or off, not '" + value + "'", e);
        }
    }
}
