package dev.kiln.worker;

import org.junit.jupiter.api.Test;

import java.time.Duration;

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
    void findsTheWaitInARateLimitMessage() {
        assertThat(RateLimitHeaders.tryAgainIn("Rate limit reached for images per min. Please try again in 1.2s."))
                .contains(Duration.ofMillis(1200));
        assertThat(RateLimitHeaders.tryAgainIn("Please try again in 350ms.")).contains(Duration.ofMillis(350));
        assertThat(RateLimitHeaders.tryAgainIn("no hint")).isEmpty();
    }
}
