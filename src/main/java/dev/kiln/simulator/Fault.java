package dev.kiln.simulator;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/**
 * A failure the simulator can inject, by rate ({@link SimulatorSettings#faultRates()}) or forced for
 * one request with the header {@value #HEADER}.
 */
public enum Fault {
    /** 500 with OpenAI's {@code server_error} body. */
    SERVER_ERROR("5xx"),
    /** No answer for {@link SimulatorSettings#hangMillis()} (times the time scale), then a 500 if the client is still there. */
    HANG("hang"),
    /** 200 with a JSON body cut off in the middle. */
    MALFORMED_JSON("malformed-json"),
    /** 200 with valid JSON whose {@code b64_json} decodes to only the first half of the image. */
    TRUNCATED_B64("truncated-b64"),
    /** 429 {@code rate_limit_exceeded} without {@code retry-after} or {@code retry-after-ms}. */
    RATE_LIMIT_WITHOUT_RETRY_AFTER("429-no-retry-after"),
    /** 200 with images of half the requested edges, while {@code size} claims the requested size. */
    WRONG_SIZE("wrong-size");

    /** The request header that forces a fault, such as {@code x-simulator-fault: hang}. */
    public static final String HEADER = "x-simulator-fault";

    private final String headerValue;

    Fault(String headerValue) {
        this.headerValue = headerValue;
    }

    /** The value of {@value #HEADER} that forces this fault. */
    public String headerValue() {
        return headerValue;
    }

    /** The environment variable holding this fault's rate, such as {@code SIMULATOR_FAULT_5XX_RATE}. */
    public String envName() {
        return "SIMULATOR_FAULT_" + headerValue.toUpperCase(Locale.ROOT).replace('-', '_') + "_RATE";
    }

    /** The fault a header value names. */
    public static Optional<Fault> fromHeader(String value) {
        return Arrays.stream(values()).filter(f -> f.headerValue.equalsIgnoreCase(value.trim())).findFirst();
    }
}
