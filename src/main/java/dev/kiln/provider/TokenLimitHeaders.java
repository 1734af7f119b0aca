package dev.kiln.provider;

import java.net.http.HttpHeaders;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The token part of an answer's {@code x-ratelimit-*} headers: {@code x-ratelimit-limit-tokens},
 * {@code x-ratelimit-remaining-tokens} and {@code x-ratelimit-reset-tokens}.
 *
 * @param limit     the organisation's tokens per minute, if told
 * @param remaining tokens left in the window, if told
 * @param reset     until the token window is full again, if told
 */
public record TokenLimitHeaders(OptionalLong limit, OptionalLong remaining, Optional<Duration> reset) {

    /** An answer that said nothing about tokens. */
    public static final TokenLimitHeaders NONE = new TokenLimitHeaders(OptionalLong.empty(), OptionalLong.empty(), Optional.empty());

    /** Reads the token headers of an answer. */
    public static TokenLimitHeaders from(HttpHeaders headers) {
        return new TokenLimitHeaders(number(headers.firstValue("x-ratelimit-limit-tokens")),
                number(headers.firstValue("x-ratelimit-remaining-tokens")),
                headers.firstValue("x-ratelimit-reset-tokens").flatMap(RateLimitHeaders::goDuration));
    }

    private static OptionalLong number(Optional<String> value) {
        try {
            return value.map(v -> OptionalLong.of((long) Double.parseDouble(v.trim()))).orElse(OptionalLong.empty());
        } catch (NumberFormatException e) {
            return OptionalLong.empty();
        }
    }
}
