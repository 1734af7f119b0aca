package dev.kiln.webhook;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

import java.util.Locale;

/** Where a delivery stands: {@code pending -> sending -> succeeded | pending (retry) | failed}. */
public enum DeliveryState {
    /** Waiting for its next attempt. */
    PENDING,
    /** An attempt is in flight. */
    SENDING,
    /** A 2xx answered. */
    SUCCEEDED,
    /** The schedule ended (or the URL is refused for good) without a 2xx. */
    FAILED;

    /** The lower-case wire name. */
    @JsonValue
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses a wire name. */
    @JsonCreator
    public static DeliveryState fromWire(String name) {
        return valueOf(name.toUpperCase(Locale.ROOT));
    }
}
