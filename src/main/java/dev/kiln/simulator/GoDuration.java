package dev.kiln.simulator;

import java.math.BigDecimal;

/**
 * Formats durations the way Go's {@code time.Duration.String()} does, as OpenAI's
 * {@code x-ratelimit-reset-*} headers carry them: {@code 250ms}, {@code 1.5s}, {@code 6m0s},
 * {@code 1h2m3s}. Millisecond precision is enough for rate limits.
 */
final class GoDuration {

    private GoDuration() {
    }

    static String format(long millis) {
        if (millis <= 0) {
            return "0s";
        }
        if (millis < 1000) {
            return millis + "ms";
        }
        long hours = millis / 3_600_000;
        long minutes = (millis / 60_000) % 60;
        long secondMillis = millis % 60_000;
        String seconds = BigDecimal.valueOf(secondMillis, 3).stripTrailingZeros().toPlainString() + "s";
        if (hours > 0) {
            return hours + "h" + minutes + "m" + seconds;
        }
        if (minutes > 0) {
            return minutes + "m" + seconds;
        }
        return seconds;
    }
}
