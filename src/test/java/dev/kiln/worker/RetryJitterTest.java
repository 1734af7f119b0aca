package dev.kiln.worker;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Arrays;
import java.util.LongSummaryStatistics;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

class RetryJitterTest {

    @Test
    void readsTheDelayFromSmallRyesTopicName() {
        assertThat(RetryJitter.delayOf("kiln.jobs.retry_10000")).isEqualTo(Duration.ofSeconds(10));
        assertThat(RetryJitter.delayOf("kiln.jobs")).isZero();
        assertThat(RetryJitter.delayOf(null)).isZero();
    }

    @Test
    void retriesOfOneTopicSpreadOverTheConfiguredFractionOfItsDelay() {
        RetryJitter jitter = new RetryJitter(config(0.2));
        long[] delays = IntStream.range(0, 500)
                .mapToLong(i -> jitter.extraDelay("kiln.jobs.retry_10000").toMillis()).toArray();
        LongSummaryStatistics stats = Arrays.stream(delays).summaryStatistics();
        assertThat(stats.getMin()).isGreaterThanOrEqualTo(0);
        assertThat(stats.getMax()).isBetween(1500L, 1999L);
        assertThat(Arrays.stream(delays).distinct().count()).as("spread, not one value").isGreaterThan(100);
    }

    @Test
    void aRetryThroughTheDispatcherWaitsItsDelayAndUpToTheFractionMore() {
        RetryJitter jitter = new RetryJitter(config(0.2));
        LongSummaryStatistics stats = IntStream.range(0, 500)
                .mapToLong(i -> jitter.spread(Duration.ofSeconds(1)).toMillis()).summaryStatistics();
        assertThat(stats.getMin()).isGreaterThanOrEqualTo(1000);
        assertThat(stats.getMax()).isBetween(1150L, 1199L);
        assertThat(new RetryJitter(config(0)).spread(Duration.ofSeconds(1))).isEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void aFirstDeliveryOrAZeroFractionWaitsNothing() {
        assertThat(new RetryJitter(config(0.2)).extraDelay("kiln.jobs")).isZero();
        assertThat(new RetryJitter(config(0)).extraDelay("kiln.jobs.retry_10000")).isZero();
    }

    private static WorkerConfig config(double fraction) {
        return new WorkerConfig() {
            @Override
            public int maxInFlight() {
                return 16;
            }

            @Override
            public int maxAttempts() {
                return 4;
            }

            @Override
            public Duration firstRetryDelay() {
                return Duration.ofSeconds(1);
            }

            @Override
            public Duration maxRateLimitWait() {
                return Duration.ofSeconds(30);
            }

            @Override
            public double retryJitter() {
                return fraction;
            }

            @Override
            public Duration shutdownDeadline() {
                return Duration.ofSeconds(60);
            }

            @Override
            public String workDir() {
                return "unused";
            }

            @Override
            public Duration keptRenderRetention() {
                return Duration.ofDays(2);
            }

            @Override
            public Backoff storageBackoff() {
                return null;
            }

            @Override
            public Duration stuckAfter() {
                return Duration.ofMinutes(10);
            }
        };
    }
}
