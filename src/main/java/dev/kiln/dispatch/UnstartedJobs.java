package dev.kiln.dispatch;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Jobs this dispatcher released that no worker has started yet: added at release, removed when
 * {@code kiln.status} shows the job {@code running} or ended ({@link StatusTail}). Thread-safe:
 * the stream thread adds, the status tail removes.
 * <p>
 * Why not the {@code kiln-workers} group's lag on {@code kiln.jobs}: the dispatcher writes
 * transactionally, and every commit leaves a transaction marker on each partition it wrote. A
 * marker takes an offset that no consumer ever commits past, so offset lag overcounts by about
 * one per release and partition, as much as the jobs themselves at a few jobs per tick. Lag also
 * counts renders in flight (the worker commits after the render), so it would mix two things.
 * A job whose start is never seen (its event lost, or its worker gone for good) stops counting
 * after {@code staleAfterMs}, so the window cannot close for ever.
 */
final class UnstartedJobs {

    private final ConcurrentHashMap<String, Long> releasedAt = new ConcurrentHashMap<>();
    private final long staleAfterMs;

    UnstartedJobs(long staleAfterMs) {
        this.staleAfterMs = staleAfterMs;
    }

    /** The dispatcher released {@code jobId} at {@code nowMs}. */
    void released(String jobId, long nowMs) {
        releasedAt.put(jobId, nowMs);
    }

    /** A worker started (or ended) {@code jobId}. */
    void started(String jobId) {
        releasedAt.remove(jobId);
    }

    /** How many released jobs have not started, forgetting those older than the stale limit. */
    int count(long nowMs) {
        long oldest = nowMs - staleAfterMs;
        releasedAt.values().removeIf(at -> at < oldest);
        return releasedAt.size();
    }

    /** Forgets everything; the task moved to another instance. */
    void clear() {
        releasedAt.clear();
    }
}
