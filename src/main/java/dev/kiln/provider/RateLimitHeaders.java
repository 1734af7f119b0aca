package dev.kiln.provider;

import java.net.http.HttpHeaders;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the provider said about its rate limits on one answer: the {@code x-ratelimit-*} headers
 * and, on a 429, when to try again.
 *
 * @param limitRequests     the organisation's requests per minute, if told
 * @param limitImages       the organisation's images per minute, if told
 * @param remainingRequests requests left in the window, if told
 * @param remainingImages   images left in the window, if told
 * @param resetRequests     until the request window is full again, if told
 * @param resetImages       until the image window is full again, if told
 * @param retryAfter        how long to wait before the next call, if told
 */
public record RateLimitHeaders(OptionalLong limitRequests, OptionalLong limitImages,
                               OptionalLong remainingRequests, OptionalLong remainingImages,
                               Optional<Duration> resetRequests, Optional<Duration> resetImages,
                               Optional<Duration> retryAfter) {

    private static final Pattern GO_DURATION_PART = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|h|m|s)");
    private static final Pattern TRY_AGAIN = Pattern.compile("try again in (\\d+(?:\\.\\d+)?)(ms|s|m)", Pattern.CASE_INSENSITIVE);

    /** Reads the headers of an answer; {@code errorMessage} is the 429 body's message, if any. */
    public static RateLimitHeaders from(HttpHeaders headers, String errorMessage) {
        Optional<Duration> retryAfter = headers.firstValue("retry-after-ms").flatMap(RateLimitHeaders::millis)
                .or(() -> headers.firstValue("retry-after").flatMap(RateLimitHeaders::seconds))
                .or(() -> tryAgainIn(errorMessage));
        return new RateLimitHeaders(
                number(headers.firstValue("x-ratelimit-limit-requests")),
                number(headers.firstValue("x-ratelimit-limit-images")),
                number(headers.firstValue("x-ratelimit-remaining-requests")),
                number(headers.firstValue("x-ratelimit-remaining-images")),
                headers.firstValue("x-ratelimit-reset-requests").flatMap(RateLimitHeaders::goDuration),
                headers.firstValue("x-ratelimit-reset-images").flatMap(RateLimitHeaders::goDuration),
                retryAfter);
    }

    /** An answer that said nothing about limits. */
    public static RateLimitHeaders none() {
        return new RateLimitHeaders(OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(),
                OptionalLong.empty(), Optional.empty(), Optional.empty(), Optional.empty());
    }

    /**
     * Parses a Go duration string as OpenAI sends it, e.g. {@code 1s}, {@code 6m0s}, {@code 250ms}
     * or {@code 1h2m3.5s}.
     */
    public static Optional<Duration> goDuration(String text) {
        if (text == null || text.isBlank()) {
            return Optional.empty();
        }
        Matcher m = GO_DURATION_PART.matcher(text.trim());
        double millis = 0;
        int end = 0;
        while (m.find()) {
            if (m.start() != end) {
                return Optional.empty();
            }
            double value = Double.parseDouble(m.group(1));
            millis += switch (m.group(2)) {
                case "h" -> value * 3_600_000;
                case "m" -> value * 60_000;
                case "s" -> value * 1000;
                default -> value;
            };
            end = m.end();
        }
        return end == text.trim().length() && end > 0 ? Optional.of(Duration.ofMillis(Math.round(millis))) : Optional.empty();
    }

    /** The wait in a message such as "Please try again in 1.2s." */
    static Optional<Duration> tryAgainIn(String message) {
        if (message == null) {
            return Optional.empty();
        }
        Matcher m = TRY_AGAIN.matcher(message);
        if (!m.find()) {
            return Optional.empty();
        }
        return goDuration(m.group(1) + m.group(2));
    }

    private static Optional<Duration> millis(String text) {
        try {
            return Optional.of(Duration.ofMillis(Math.round(Double.parseDouble(text.trim()))));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    private static Optional<Duration> seconds(String text) {
        try {
            return Optional.of(Duration.ofMillis(Math.round(Double.parseDouble(text.trim()) * 1000)));
        } catch (NumberFormatException e) {
            // retry-after may also be an HTTP date; OpenAI sends seconds, so anything else is ignored
            return Optional.empty();
        }
    }

    private static OptionalLong number(Optional<String> text) {
        try {
            return text.map(t -> OptionalLong.of(Long.parseLong(t.trim()))).orElse(OptionalLong.empty());
        } catch (NumberFormatException e) {
            return OptionalLong.empty();
        }
    }
}
