package dev.kiln.job;

import org.junit.jupiter.api.Test;

import java.util.EnumMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class JobStateTest {

    @Test
    void withinOneAttemptAJobOnlyMovesForward() {
        assertThat(JobState.QUEUED.acceptsMove(1, JobState.RUNNING, 1)).isTrue();
        assertThat(JobState.RUNNING.acceptsMove(1, JobState.SUCCEEDED, 1)).isTrue();
        assertThat(JobState.RUNNING.acceptsMove(1, JobState.FAILED, 1)).isTrue();
        assertThat(JobState.RUNNING.acceptsMove(1, JobState.QUEUED, 1)).as("a late queued event").isFalse();
        assertThat(JobState.QUEUED.acceptsMove(1, JobState.QUEUED, 1)).as("a duplicate").isFalse();
    }

    @Test
    void aRetryGoesBackToQueuedWithTheNextAttempt() {
        assertThat(JobState.RUNNING.acceptsMove(1, JobState.QUEUED, 2)).isTrue();
        assertThat(JobState.RUNNING.acceptsMove(2, JobState.RUNNING, 1)).as("an older attempt").isFalse();
    }

    @Test
    void terminalStatesAreNeverLeftExceptAFailureFoundSucceededOnRedelivery() {
        assertThat(JobState.SUCCEEDED.acceptsMove(1, JobState.RUNNING, 2)).isFalse();
        assertThat(JobState.SUCCEEDED.acceptsMove(1, JobState.SUCCEEDED, 1)).isFalse();
        assertThat(JobState.CANCELLED.acceptsMove(1, JobState.RUNNING, 1)).isFalse();
        assertThat(JobState.FAILED.acceptsMove(1, JobState.RUNNING, 2)).isFalse();
        assertThat(JobState.FAILED.acceptsMove(1, JobState.SUCCEEDED, 1)).isTrue();
        assertThat(JobState.FAILED.acceptsMove(3, JobState.QUEUED, 1)).as("a client's retry").isTrue();
        assertThat(JobState.EXPIRED.acceptsMove(1, JobState.QUEUED, 1)).as("a retry of an expired item").isTrue();
        assertThat(JobState.EXPIRED.acceptsMove(1, JobState.RUNNING, 1)).isFalse();
        assertThat(JobState.CANCELLED.acceptsMove(1, JobState.QUEUED, 1)).isFalse();
    }

    @Test
    void batchStateFollowsItsJobs() {
        assertThat(BatchState.of(3, counts(3, 0, 0, 0))).isEqualTo(BatchState.QUEUED);
        assertThat(BatchState.of(3, counts(2, 1, 0, 0))).isEqualTo(BatchState.RUNNING);
        assertThat(BatchState.of(3, counts(2, 0, 1, 0))).isEqualTo(BatchState.RUNNING);
        assertThat(BatchState.of(3, counts(0, 0, 3, 0))).isEqualTo(BatchState.SUCCEEDED);
        assertThat(BatchState.of(3, counts(0, 0, 2, 1))).isEqualTo(BatchState.PARTIALLY_FAILED);
        assertThat(BatchState.of(3, counts(0, 0, 0, 3))).isEqualTo(BatchState.FAILED);
        assertThat(BatchState.SUCCEEDED.wireName()).isEqualTo("succeeded");
        assertThat(BatchState.PARTIALLY_FAILED.wireName()).isEqualTo("partially_failed");
    }

    private static Map<JobState, Integer> counts(int queued, int running, int succeeded, int failed) {
        Map<JobState, Integer> counts = new EnumMap<>(JobState.class);
        counts.put(JobState.QUEUED, queued);
        counts.put(JobState.RUNNING, running);
        counts.put(JobState.SUCCEEDED, succeeded);
        counts.put(JobState.FAILED, failed);
        return counts;
    }
}
