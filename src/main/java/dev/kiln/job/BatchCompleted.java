package dev.kiln.job;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.time.Instant;

/**
 * The event on {@code kiln.status} ({@code ce_type} {@link EventTypes#BATCH_COMPLETED}) once every
 * job of a batch has ended: the batch's last event, and the body of the {@code batch.completed}
 * webhook.
 *
 * @param batchId     the batch, also the Kafka key and the {@code ce_subject}
 * @param tenant      the owner
 * @param externalId  the client's own id for the batch, if given
 * @param state       the final batch state, first match wins: {@code cancelled} if a cancel (or the
 *                    budget) stopped it, {@code expired} if its deadline left items expired,
 *                    {@code failed} if every item failed, {@code partially_failed} if some did, else
 *                    {@code succeeded}. A string rather than {@link BatchState}, which has no
 *                    {@code expired} yet.
 * @param items       how many items (jobs) the batch has
 * @param images      how many images it asked for
 * @param counts      how many jobs ended in each final state
 * @param usage       summed usage and cost of the succeeded jobs
 * @param manifest    object key of the results manifest, {@code {tenant}/manifests/{batch id}.jsonl}
 * @param completion  1 for the first completion; a batch retry that reopens the batch completes it again with 2, and so on
 * @param createdAt   when the batch was accepted
 * @param completedAt when its last job ended
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record BatchCompleted(
        String batchId,
        String tenant,
        String externalId,
        String state,
        int items,
        long images,
        Counts counts,
        Usage usage,
        String manifest,
        int completion,
        Instant createdAt,
        Instant completedAt) {

    /**
     * Jobs per final state.
     *
     * @param succeeded ended with their images stored
     * @param failed    failed for good
     * @param cancelled stopped by a cancel or the budget before they were rendered
     * @param expired   not started before the batch's deadline
     */
    public record Counts(int succeeded, int failed, int cancelled, int expired) {

        /** Jobs that ended, whatever the state. */
        public int total() {
            return succeeded + failed + cancelled + expired;
        }
    }
}
