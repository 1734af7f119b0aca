package dev.kiln.provider;

import org.junit.jupiter.api.Test;

import java.net.http.HttpHeaders;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class RateLimitHeadersTest {

    @Test
    void readsGoDurationsAsOpenAiSendsThem() {
        assertThat(RateLimitHeaders.goDuration("1s")).contains(Duration.ofSeconds(1));
        assertThat(RateLimitHeaders.goDuration("6m0s")).contains(Duration.ofMinutes(6));
        assertThat(RateLimitHeaders.goDuration("250ms")).contains(Duration.ofMillis(250));
        assertThat(RateLimitHeaders.goDuration("1.5s")).contains(Duration.ofMillis(1500));
        assertThat(RateLimitHeaders.goDuration("1h2m3s")).contains(Duration.ofSeconds(3723));
        assertThat(RateLimitHeaders.goDuration("soon")).isEmpty();
        assertThat(RateLimitHeaders.goDuration("")).isEmpty();
    }

    @Test
    void readsEveryRateLimitHeaderOfAnAnswer() {
        HttpHeaders headers = HttpHeaders.of(Map.of(
                "x-ratelimit-limit-requests", List.of("500"),
                "x-ratelimit-limit-images", List.of("50"),
                "x-ratelimit-remaining-requests", List.of("499"),
                "x-ratelimit-remaining-images", List.of("0"),
                "x-ratelimit-reset-requests", List.of("120ms"),
                "x-ratelimit-reset-images", List.of("6m0s"),
                "retry-after", List.of("2")), (name, value) -> true);
        RateLimitHeaders limits = RateLimitHeaders.from(headers, null);
        assertThat(limits.limitRequests()).hasValue(500);
        assertThat(limits.limitImages()).hasValue(50);
        assertThat(limits.remainingRequests()).hasValue(499);
        assertThat(limits.remainingImages()).hasValue(0);
        assertThat(limits.resetRequests()).contains(Duration.ofMillis(120));
        assertThat(limits.resetImages()).contains(Duration.ofMinutes(6));
        assertThat(limits.retryAfter()).contains(Duration.ofSeconds(2));
    }

    @Test
    void retryAfterMillisecondsWinOverSecondsAndTheMessage() {
        HttpHeaders headers = HttpHeaders.of(Map.of("retry-after-ms", List.of("1500"), "retry-after", List.of("9")),
                (name, value) -> true);
        assertThat(RateLimitHeaders.from(headers, "Please try again in 20s.").retryAfter()).contains(Duration.ofMillis(1500));
        HttpHeaders none = HttpHeaders.of(Map.of(), (name, value) -> true);
        assertThat(RateLimitHeaders.from(none, "Please try again in 20s.").retryAfter()).contains(Duration.ofSeconds(20));
    }

    @Test
    void findsTheWaitInARateLimitMessage() {
        assertThat(RateLimitHeaders.tryAgainIn("Rate limit reached for images per min. Please try again in 1.2s."))
                .contains(Duration.ofMillis(1200));
        assertThat(RateLimitHeaders.tryAgainIn("Please try again in 350ms.")).contains(Duration.ofMillis(350));
        assertThat(RateLimitHeaders.tryAgainIn("no hint")).isEmpty();
    }
}
