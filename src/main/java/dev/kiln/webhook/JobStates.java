package dev.kiln.webhook;

/**
 * Job states as the wire names them. The notifier reads them as strings rather than
 * {@code job.JobState}, so that a state added later (such as {@code expired}) is counted without
 * a change here and an unknown one is never fatal.
 */
final class JobStates {

    static final String QUEUED = "queued";
    static final String RUNNING = "running";
    static final String SUCCEEDED = "succeeded";
    static final String FAILED = "failed";
    static final String CANCELLED = "cancelled";
    static final String EXPIRED = "expired";

    private JobStates() {
    }

    /** Whether a job in {@code state} has ended. */
    static boolean isFinal(String state) {
        return SUCCEEDED.equals(state) || FAILED.equals(state) || CANCELLED.equals(state) || EXPIRED.equals(state);
    }

    /**
     * Whether a job last seen in {@code state} at {@code attempt} moves to {@code next} at
     * {@code nextAttempt}. Events of one batch share a partition but come from several producers
     * and may be redelivered, so only news counts: the very same state again never does; within an
     * attempt a state only advances; a later attempt always wins (a retry, a batch retry reopening a
     * failed or expired job). {@code succeeded} and {@code cancelled} are never left; a failed or
     * expired job may still turn out {@code succeeded} (a redelivery found its output).
     */
    static boolean accepts(String state, int attempt, String next, int nextAttempt) {
        if (state == null) {
            return true;
        }
        if (SUCCEEDED.equals(state) || CANCELLED.equals(state)) {
            return false;
        }
        if (isFinal(state)) {
            return SUCCEEDED.equals(next) || nextAttempt > attempt;
        }
        if (nextAttempt != attempt) {
            return nextAttempt > attempt;
        }
        return rank(next) > rank(state);
    }

    private static int rank(String state) {
        if (QUEUED.equals(state)) {
            return 0;
        }
        if (RUNNING.equals(state)) {
            return 1;
        }
        return isFinal(state) ? 2 : -1;
    }
}
