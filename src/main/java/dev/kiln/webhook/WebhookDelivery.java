package dev.kiln.webhook;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * One webhook message to one URL, with its attempts: the value of the notifier's delivery store and
 * of each {@link WebhookEvents#DELIVERY} record on {@code kiln.webhooks}.
 *
 * @param webhookId     the {@code webhook-id} header, the same on every attempt and resend
 * @param batchId       the batch, also the Kafka key
 * @param tenant        whose secrets sign it
 * @param url           where it goes
 * @param eventType     {@code batch.completed}, {@code job.succeeded} or {@code job.failed}
 * @param payload       the exact body, signed byte for byte
 * @param state         where it stands
 * @param step          position in the retry schedule of the next attempt; a resend starts it over
 * @param attempts      every attempt so far, oldest first
 * @param nextAttemptAt when the next attempt is due, while pending
 * @param leaseUntil    while sending: when the attempt counts as lost if no outcome has arrived
 * @param createdAt     when the event happened
 * @param updatedAt     last change
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record WebhookDelivery(
        String webhookId,
        String batchId,
        String tenant,
        String url,
        String eventType,
        String payload,
        DeliveryState state,
        int step,
        List<WebhookAttempt> attempts,
        Instant nextAttemptAt,
        Instant leaseUntil,
        Instant createdAt,
        Instant updatedAt) {

    /** A new delivery whose first attempt is due at {@code due}. */
    static WebhookDelivery create(String webhookId, String batchId, String tenant, String url, String eventType,
                                  String payload, Instant at, Instant due) {
        return new WebhookDelivery(webhookId, batchId, tenant, url, eventType, payload, DeliveryState.PENDING, 0,
                List.of(), due, null, at, at);
    }

    /** The number the next attempt gets. */
    int nextAttemptNumber() {
        return attempts.size() + 1;
    }

    /** The last attempt, if any. */
    public WebhookAttempt lastAttempt() {
        return attempts.isEmpty() ? null : attempts.getLast();
    }

    /** When the notifier next looks at it: the due time while pending, the lease's end while sending. */
    Instant dueAt() {
        return switch (state) {
            case PENDING -> nextAttemptAt;
            case SENDING -> leaseUntil;
            case SUCCEEDED, FAILED -> null;
        };
    }

    /** This delivery with attempt {@link #nextAttemptNumber()} in flight until {@code lease}. */
    WebhookDelivery sending(Instant lease, Instant now) {
        return new WebhookDelivery(webhookId, batchId, tenant, url, eventType, payload, DeliveryState.SENDING, step,
                attempts, null, lease, createdAt, now);
    }

    /**
     * This delivery after {@code attempt}: succeeded on a 2xx, else pending at the schedule's next
     * step, or failed when the schedule has ended or {@code retryable} is false.
     */
    WebhookDelivery after(WebhookAttempt attempt, boolean retryable, RetrySchedule schedule, Instant now) {
        List<WebhookAttempt> all = new ArrayList<>(attempts);
        all.add(attempt);
        if (attempt.succeeded()) {
            return new WebhookDelivery(webhookId, batchId, tenant, url, eventType, payload, DeliveryState.SUCCEEDED,
                    step + 1, List.copyOf(all), null, null, createdAt, now);
        }
        int nextStep = step + 1;
        var delay = retryable ? schedule.delayBefore(nextStep) : java.util.Optional.<java.time.Duration>empty();
        if (delay.isEmpty()) {
            return new WebhookDelivery(webhookId, batchId, tenant, url, eventType, payload, DeliveryState.FAILED,
                    nextStep, List.copyOf(all), null, null, createdAt, now);
        }
        return new WebhookDelivery(webhookId, batchId, tenant, url, eventType, payload, DeliveryState.PENDING,
                nextStep, List.copyOf(all), now.plus(delay.get()), null, createdAt, now);
    }

    /** This delivery sent again by hand: pending now, with the schedule started over. */
    WebhookDelivery resent(RetrySchedule schedule, Instant now) {
        return new WebhookDelivery(webhookId, batchId, tenant, url, eventType, payload, DeliveryState.PENDING, 0,
                attempts, now.plus(schedule.delayBefore(0).orElseThrow()), null, createdAt, now);
    }
}
