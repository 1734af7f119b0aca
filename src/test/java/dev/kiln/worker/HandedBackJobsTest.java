package dev.kiln.worker;

import dev.kiln.config.KilnConfig;
import dev.kiln.job.CancelRequested;
import dev.kiln.job.ImageParameters;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.job.RetryRequested;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Which deliveries a hand-back makes stale: only attempts below the highest one a worker handed
 * back; a client's retry and a cancel hand nothing back. The tail on the real broker is in
 * {@code JobRetryEndToEndTest}.
 */
class HandedBackJobsTest {

    private static final Instant NOW = Instant.parse("2026-11-30T08:00:00Z");

    private final HandedBackJobs handedBack = new HandedBackJobs(Map.of(), apiOnly());

    @Test
    void aDeliveryBelowTheHandedBackAttemptIsStale() {
        handedBack.remember(RetryRequested.afterFailure(job("j-1", 3), NOW, NOW));

        assertThat(handedBack.supersedes(job("j-1", 1))).isTrue();
        assertThat(handedBack.supersedes(job("j-1", 2))).isTrue();
        assertThat(handedBack.supersedes(job("j-1", 3))).as("the attempt handed back is the live one").isFalse();
        assertThat(handedBack.supersedes(job("j-1", 4))).as("a client's later round").isFalse();
        assertThat(handedBack.supersedes(job("j-2", 1))).as("another job").isFalse();
    }

    @Test
    void anOlderHandBackReadLaterDoesNotLowerTheAttempt() {
        handedBack.remember(RetryRequested.afterFailure(job("j-1", 3), NOW, NOW));
        handedBack.remember(RetryRequested.afterFailure(job("j-1", 2), NOW, NOW));

        assertThat(handedBack.supersedes(job("j-1", 2))).isTrue();
    }

    @Test
    void aBatchMadeAgainUnderTheSameIdIsNotStaleBecauseOfTheOldOnesHandBacks() {
        handedBack.remember(RetryRequested.afterFailure(job("j-1", 3), NOW, NOW));
        // Deleted, then made again with the same Idempotency-Key: same job id, attempt 1, accepted later.
        RenderJobRequested again = job("j-1", 1, NOW.plusSeconds(60));

        assertThat(handedBack.supersedes(again)).isFalse();
        assertThat(handedBack.supersedes(job("j-1", 1))).as("the old batch's own redelivery").isTrue();
    }

    @Test
    void aClientsRetryAndACancelHandNothingBack() {
        handedBack.remember(RetryRequested.fresh("b-1", "default", List.of("j-1"), NOW));
        handedBack.remember(CancelRequested.job("b-1", "default", "j-1", NOW));

        assertThat(handedBack.supersedes(job("j-1", 1))).isFalse();
    }

    @Test
    void aProcessWithoutTheWorkerNeverWaits() throws InterruptedException {
        assertThat(handedBack.awaitReadUpTo(System.nanoTime(), Duration.ZERO)).isTrue();
    }

    private static RenderJobRequested job(String jobId, int attempt) {
        return job(jobId, attempt, NOW);
    }

    private static RenderJobRequested job(String jobId, int attempt, Instant batchAccepted) {
        ImageParameters low = new ImageParameters("gpt-image-2", "1024x1024", "low", null, null, null, null, null, null);
        return new RenderJobRequested(jobId, "b-1", "default", "ITEM", 0, "a mug", low, List.of(), null, Map.of(), attempt,
                batchAccepted);
    }

    private static KilnConfig apiOnly() {
        return new KilnConfig() {
            @Override
            public String role() {
                return "api";
            }

            @Override
            public String defaultTenant() {
                return "default";
            }
        };
    }
}
