package dev.kiln.status;

import dev.kiln.job.BatchState;
import dev.kiln.job.JobState;
import dev.kiln.job.Usage;

import java.time.Instant;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;

/**
 * What the status view knows of one batch.
 *
 * @param id            batch id
 * @param tenant        owner
 * @param externalId    the client's own id for it
 * @param state         derived from the job counts
 * @param items         number of jobs
 * @param images        images asked for in all
 * @param counts        jobs per state
 * @param usage         summed usage and cost of succeeded jobs
 * @param webhook       where to call on completion
 * @param requestSha256 digest of the accepted request, to recognise a replay
 * @param createdAt     when accepted
 * @param updatedAt     last change
 * @param finishedAt    when the last job ended
 * @param createdOffset   offset of its {@code kiln.batch.created} event on its {@code kiln.status}
 *                        partition, where its event stream starts; null in views older than it
 * @param completedOffset offset of its latest {@code kiln.batch.completed} event, once there is one
 * @param reopenedOffset  offset of the latest job event that took one of its jobs out of a final
 *                        state (a retry): a completion before it is not the batch's last event
 */
public record BatchView(
        String id,
        String tenant,
        String externalId,
        BatchState state,
        int items,
        long images,
        Map<JobState, Integer> counts,
        Usage usage,
        String webhook,
        String requestSha256,
        Instant createdAt,
        Instant updatedAt,
        Instant finishedAt,
        Long createdOffset,
        Long completedOffset,
        Long reopenedOffset) {

    /** A fresh batch with every job queued, announced at {@code offset}. */
    public static BatchView created(String id, String tenant, String externalId, int items, long images,
                                    String webhook, String requestSha256, Instant at, Long offset) {
        Map<JobState, Integer> counts = new EnumMap<>(JobState.class);
        for (JobState s : JobState.values()) {
            counts.put(s, 0);
        }
        counts.put(JobState.QUEUED, items);
        return new BatchView(id, tenant, externalId, BatchState.QUEUED, items, images, counts, Usage.ZERO,
                webhook, requestSha256, at, at, null, offset, null, null);
    }

    /** This batch after one job moved from {@code from} to {@code to}, adding {@code consumed}. */
    public BatchView withMove(JobState from, JobState to, Usage consumed, Instant at) {
        Map<JobState, Integer> next = new EnumMap<>(JobState.class);
        next.putAll(counts);
        if (from != null) {
            next.merge(from, -1, Integer::sum);
        }
        next.merge(to, 1, Integer::sum);
        BatchState nextState = BatchState.of(items, next);
        Instant finished = nextState.isTerminal() ? (finishedAt == null ? at : finishedAt) : null;
        return new BatchView(id, tenant, externalId, nextState, items, images, next,
                usage.plus(consumed), webhook, requestSha256, createdAt, at, finished, createdOffset, completedOffset,
                reopenedOffset);
    }

    /** This batch once its {@code kiln.batch.completed} event at {@code offset} is known. */
    public BatchView completedAt(long offset) {
        return new BatchView(id, tenant, externalId, state, items, images, counts, usage, webhook, requestSha256,
                createdAt, updatedAt, finishedAt, createdOffset, offset, reopenedOffset);
    }

    /** This batch once the job event at {@code offset} took one of its jobs out of a final state. */
    public BatchView reopenedAt(long offset) {
        return new BatchView(id, tenant, externalId, state, items, images, counts, usage, webhook, requestSha256,
                createdAt, updatedAt, finishedAt, createdOffset, completedOffset, offset);
    }

    /**
     * The offset of the batch's final event as of now: its latest {@code kiln.batch.completed},
     * unless a retry has reopened the batch since (then there is none until it completes again).
     */
    public Optional<Long> finalEventOffset() {
        // A retry can land between a batch's last job event and its completion (the notifier
        // commits the completion in a transaction of its own): then the completion comes after
        // the reopen, yet the batch runs again. The counts say so: it is not terminal.
        if (completedOffset == null || !state.isTerminal()
                || reopenedOffset != null && reopenedOffset > completedOffset) {
            return Optional.empty();
        }
        return Optional.of(completedOffset);
    }

    /** Whether {@code tenant} owns this batch. */
    public boolean isOwnedBy(String tenant) {
        return this.tenant != null && this.tenant.equals(tenant);
    }
}
