package dev.kiln.dispatch;

import java.util.function.IntSupplier;

/**
 * Decides how many jobs the dispatcher may release now: the window's target less the jobs
 * released but not started.
 */
final class ReleaseGate {

    private final IntSupplier target;
    private final UnstartedJobs unstarted;
    private volatile int lastTarget;
    private volatile int lastUnstarted;

    ReleaseGate(IntSupplier target, UnstartedJobs unstarted) {
        this.target = target;
        this.unstarted = unstarted;
    }

    /** How many jobs may be released at {@code nowMs}; never negative. */
    int room(long nowMs) {
        lastTarget = target.getAsInt();
        lastUnstarted = unstarted.count(nowMs);
        return Math.max(0, lastTarget - lastUnstarted);
    }

    /** Counts a released job until a worker starts it. */
    void released(String jobId, long nowMs) {
        unstarted.released(jobId, nowMs);
    }

    /** The task left this instance: what it released is now another instance's to count. */
    void reset() {
        unstarted.clear();
    }

    /** The target at the last {@link #room}, for metrics. */
    int lastTarget() {
        return lastTarget;
    }

    /** The unstarted count at the last {@link #room}, for metrics. */
    int lastUnstarted() {
        return lastUnstarted;
    }
}
