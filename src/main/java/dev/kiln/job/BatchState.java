package dev.kiln.job;

import com.fasterxml.jackson.annotation.JsonValue;

import java.util.Locale;
import java.util.Map;

/** The state of a batch, derived from the states of its jobs. */
public enum BatchState {
    QUEUED, RUNNING, SUCCEEDED, PARTIALLY_FAILED, FAILED, CANCELLED, EXPIRED;

    /** The lower-case wire name. */
    @JsonValue
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Whether every job has ended. */
    public boolean isTerminal() {
        return this != QUEUED && this != RUNNING;
    }

    /**
     * Derives the batch state from how many of its {@code total} jobs are in each state. Jobs the
     * view has not heard of yet count as queued. Once every job has ended, the first match wins:
     * {@code cancelled} if a cancel stopped any item (whatever had finished before),
     * {@code expired} if the deadline left items expired, {@code failed} if every item failed,
     * {@code partially_failed} if some did, else {@code succeeded}.
     */
    public static BatchState of(int total, Map<JobState, Integer> counts) {
        int succeeded = counts.getOrDefault(JobState.SUCCEEDED, 0);
        int failed = counts.getOrDefault(JobState.FAILED, 0);
        int cancelled = counts.getOrDefault(JobState.CANCELLED, 0);
        int expired = counts.getOrDefault(JobState.EXPIRED, 0);
        int running = counts.getOrDefault(JobState.RUNNING, 0);
        int ended = succeeded + failed + cancelled + expired;
        if (ended < total) {
            return running > 0 || ended > 0 ? RUNNING : QUEUED;
        }
        if (cancelled > 0) {
            return CANCELLED;
        }
        if (expired > 0) {
            return EXPIRED;
        }
        if (succeeded == total) {
            return SUCCEEDED;
        }
        return succeeded == 0 ? FAILED : PARTIALLY_FAILED;
    }
}
