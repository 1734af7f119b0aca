package dev.kiln.simulator;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class RateLimitsTest {

    private final AtomicLong nanos = new AtomicLong(1_000_000_000L);

    @ParameterizedTest
    @CsvSource(value = {"0,0s", "250,250ms", "1000,1s", "1500,1.5s", "1200,1.2s", "59999,59.999s", "60000,1m0s",
            "360000,6m0s", "90500,1m30.5s", "3723000,1h2m3s"})
    void goDurations(long millis, String expected) {
        assertThat(GoDuration.format(millis)).isEqualTo(expected);
    }

    @Test
    void imagesBucketRefillsContinuously() {
        OrganisationRateLimiter limiter = limiter(0, 60, 60); // one image a second, 60 at most
        assertThat(limiter.tryAcquire(60).allowed()).isTrue();
        OrganisationRateLimiter.Decision refused = limiter.tryAcquire(1);
        assertThat(refused.allowed()).isFalse();
        assertThat(refused.limitType()).isEqualTo("images");
        assertThat(refused.retryAfterMillis()).isBetween(1000L, 1001L);
        assertThat(refused.headers()).containsEntry("x-ratelimit-remaining-images", "0")
                .containsEntry("x-ratelimit-reset-images", "1m0s");
        advance(1500);
        OrganisationRateLimiter.Decision allowed = limiter.tryAcquire(1);
        assertThat(allowed.allowed()).isTrue();
        assertThat(allowed.headers()).containsEntry("x-ratelimit-reset-images", "59.5s");
    }

    @Test
    void aRequestTakesFromBothBucketsOrFromNeither() {
        OrganisationRateLimiter limiter = limiter(60, 2, 60);
        assertThat(limiter.tryAcquire(2).allowed()).isTrue();
        assertThat(limiter.tryAcquire(1).limitType()).isEqualTo("images");
        assertThat(limiter.headers()).containsEntry("x-ratelimit-remaining-requests", "59");
    }

    @Test
    void burstSecondsShrinkTheBuckets() {
        OrganisationRateLimiter limiter = limiter(0, 600, 1); // 10 images a second, 10 at most
        assertThat(limiter.tryAcquire(10).allowed()).isTrue();
        assertThat(limiter.tryAcquire(1).allowed()).isFalse();
        advance(100);
        assertThat(limiter.tryAcquire(1).allowed()).isTrue();
    }

    @Test
    void aRequestLargerThanTheBucketWaitsForAFullOneAndOverdraws() {
        OrganisationRateLimiter limiter = limiter(0, 60, 5); // holds 5 images
        assertThat(limiter.tryAcquire(10).allowed()).isTrue();
        OrganisationRateLimiter.Decision refused = limiter.tryAcquire(10);
        assertThat(refused.retryAfterMillis()).isBetween(10_000L, 10_001L); // 5 owed + 5 to fill
    }

    @Test
    void zeroIsUnlimitedAndSendsNoHeaders() {
        OrganisationRateLimiter limiter = limiter(0, 0, 60);
        for (int i = 0; i < 1000; i++) {
            assertThat(limiter.tryAcquire(10).allowed()).isTrue();
        }
        assertThat(limiter.headers()).isEmpty();
    }

    @Test
    void tokensPerMinuteChargesTheTokensAsked() {
        OrganisationRateLimiter limiter = new OrganisationRateLimiter(SimulatorSettings.defaults().toBuilder()
                .tokensPerMinute(6000).build(), nanos::get); // 100 tokens a second
        OrganisationRateLimiter.Decision allowed = limiter.tryAcquire(1, 4160);
        assertThat(allowed.allowed()).isTrue();
        assertThat(allowed.headers()).containsEntry("x-ratelimit-limit-tokens", "6000")
                .containsEntry("x-ratelimit-remaining-tokens", "1840")
                .containsEntry("x-ratelimit-reset-tokens", "41.6s")
                .doesNotContainKey("x-ratelimit-limit-requests");
        OrganisationRateLimiter.Decision refused = limiter.tryAcquire(1, 4160);
        assertThat(refused.allowed()).isFalse();
        assertThat(refused.limitType()).isEqualTo("tokens");
        assertThat(refused.used()).isEqualTo(4160);
        assertThat(refused.requested()).isEqualTo(4160);
        assertThat(refused.retryAfterMillis()).isBetween(23_200L, 23_201L); // 2320 tokens missing at 100 a second
        advance(23_201);
        assertThat(limiter.tryAcquire(1, 4160).allowed()).isTrue();
    }

    @Test
    void aRefusedTokenChargeTakesNoRequestOrImage() {
        OrganisationRateLimiter limiter = new OrganisationRateLimiter(SimulatorSettings.defaults().toBuilder()
                .requestsPerMinute(10).imagesPerMinute(10).tokensPerMinute(1000).build(), nanos::get);
        assertThat(limiter.tryAcquire(1, 1000).allowed()).isTrue();
        assertThat(limiter.tryAcquire(1, 500).limitType()).isEqualTo("tokens");
        assertThat(limiter.headers()).containsEntry("x-ratelimit-remaining-requests", "9")
                .containsEntry("x-ratelimit-remaining-images", "9");
    }

    private OrganisationRateLimiter limiter(int rpm, int ipm, double burstSeconds) {
        return new OrganisationRateLimiter(SimulatorSettings.defaults().toBuilder()
                .requestsPerMinute(rpm).imagesPerMinute(ipm).burstSeconds(burstSeconds).build(), nanos::get);
    }

    private void advance(long millis) {
        nanos.addAndGet(TimeUnit.MILLISECONDS.toNanos(millis));
    }
}
