package dev.kiln.job;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * What the batch's status may show of its webhook deliveries: every attempt, the state and the
 * next attempt, never the body or the secret. The webhook feature answers from its delivery log;
 * the status side reads it through this port, because features do not import one another.
 */
public interface WebhookDeliveryLog {

    /**
     * Up to {@code limit} of the batch's deliveries, {@code batch.completed} first, then oldest
     * first; empty when the log cannot be read on this replica (it is loading, or webhooks are off).
     */
    Optional<Deliveries> deliveries(String batchId, int limit);

    /**
     * A batch's deliveries.
     *
     * @param deliveries up to the limit asked for
     * @param total      how many the batch has in all (job events can make thousands)
     */
    record Deliveries(List<Delivery> deliveries, int total) {
    }

    /**
     * One message to the batch's webhook, with its attempts.
     *
     * @param webhookId     the {@code webhook-id} header, the same on every attempt and resend
     * @param eventType     {@code batch.completed}, {@code job.succeeded} or {@code job.failed}
     * @param state         {@code pending}, {@code sending}, {@code succeeded} or {@code failed}
     * @param attempts      every attempt with an outcome, oldest first
     * @param nextAttemptAt when the next attempt is due, while pending
     * @param createdAt     when the event happened
     * @param updatedAt     last change
     */
    record Delivery(String webhookId, String eventType, String state, List<Attempt> attempts,
                    Instant nextAttemptAt, Instant createdAt, Instant updatedAt) {
    }

    /**
     * One attempt.
     *
     * @param number     1 for the first
     * @param at         when the request started
     * @param durationMs until the answer, the timeout or the error
     * @param httpStatus the receiver's status code, when it answered
     * @param error      why there was no usable answer
     */
    record Attempt(int number, Instant at, long durationMs, Integer httpStatus, String error) {
    }
}
