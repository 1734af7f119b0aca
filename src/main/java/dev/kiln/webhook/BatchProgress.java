package dev.kiln.webhook;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.kiln.job.BatchCompleted;
import dev.kiln.job.Usage;

import java.time.Instant;
import java.util.Set;

/**
 * What the notifier keeps of one batch: its size and webhook from {@code kiln.batch.created}, and
 * how many of its jobs are in each final state now. Job events may come before the batch's own
 * (different producers), so everything but the counts is null until it arrives.
 *
 * @param batchId       the batch
 * @param tenant        the owner
 * @param externalId    the client's own id for the batch
 * @param items         how many jobs, once known
 * @param images        how many images asked for
 * @param webhookUrl    where to deliver, if anywhere
 * @param webhookEvents which events to deliver there
 * @param createdAt     when accepted
 * @param counts        jobs per final state now
 * @param usage         summed usage of the succeeded jobs
 * @param completions   how many times the batch has completed (a batch retry reopens it)
 * @param complete      whether every job is final now and the completion has been announced
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
record BatchProgress(
        String batchId,
        String tenant,
        String externalId,
        Integer items,
        long images,
        String webhookUrl,
        Set<String> webhookEvents,
        Instant createdAt,
        BatchCompleted.Counts counts,
        Usage usage,
        int completions,
        boolean complete) {

    private static final BatchCompleted.Counts NONE = new BatchCompleted.Counts(0, 0, 0, 0);

    /** A batch heard of through a job event only. */
    static BatchProgress unknown(String batchId) {
        return new BatchProgress(batchId, null, null, null, 0, null, null, null, NONE, Usage.ZERO, 0, false);
    }

    /** This batch with what {@code kiln.batch.created} says of it. */
    BatchProgress created(String tenant, String externalId, int items, long images, String webhookUrl,
                          Set<String> webhookEvents, Instant createdAt) {
        return new BatchProgress(batchId, tenant, externalId, items, images, webhookUrl, webhookEvents, createdAt,
                counts, usage, completions, complete);
    }

    /** Whether the batch's webhook asked for {@code event}. */
    boolean wants(String event) {
        return webhookUrl != null && webhookEvents != null && webhookEvents.contains(event);
    }

    /** This batch after one job left final state {@code from} (or null) for {@code to}, adding {@code consumed}. */
    BatchProgress moved(String from, String to, Usage consumed) {
        BatchCompleted.Counts next = add(add(counts, from, -1), to, 1);
        boolean stillComplete = complete && JobStates.isFinal(to);
        return new BatchProgress(batchId, tenant, externalId, items, images, webhookUrl, webhookEvents, createdAt,
                next, usage.plus(consumed), completions, stillComplete);
    }

    /** Whether every job has ended and that has not been announced yet. */
    boolean completesNow() {
        return !complete && items != null && counts.total() >= items;
    }

    /** This batch with its completion announced. */
    BatchProgress completed() {
        return new BatchProgress(batchId, tenant, externalId, items, images, webhookUrl, webhookEvents, createdAt,
                counts, usage, completions + 1, true);
    }

    /** The final batch state, by DESIGN.md's rule: first match wins. */
    String finalState() {
        if (counts.cancelled() > 0) {
            return "cancelled";
        }
        if (counts.expired() > 0) {
            return "expired";
        }
        if (counts.succeeded() == 0) {
            return "failed";
        }
        return counts.failed() > 0 ? "partially_failed" : "succeeded";
    }

    private static BatchCompleted.Counts add(BatchCompleted.Counts c, String state, int delta) {
        if (state == null) {
            return c;
        }
        return switch (state) {
            case JobStates.SUCCEEDED -> new BatchCompleted.Counts(c.succeeded() + delta, c.failed(), c.cancelled(), c.expired());
            case JobStates.FAILED -> new BatchCompleted.Counts(c.succeeded(), c.failed() + delta, c.cancelled(), c.expired());
            case JobStates.CANCELLED -> new BatchCompleted.Counts(c.succeeded(), c.failed(), c.cancelled() + delta, c.expired());
            case JobStates.EXPIRED -> new BatchCompleted.Counts(c.succeeded(), c.failed(), c.cancelled(), c.expired() + delta);
            default -> c;
        };
    }
}
