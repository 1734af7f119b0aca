package dev.kiln.webhook;

/**
 * The outcome of one attempt, published on {@code kiln.webhooks} by the replica that made it, so
 * that it reaches the delivery's owner even if the batch has moved to another replica meanwhile.
 *
 * @param batchId   the batch, also the Kafka key
 * @param webhookId the delivery
 * @param attempt   what happened
 * @param retryable false when the URL can never be called (not https, user info): no further attempt
 */
public record WebhookAttempted(String batchId, String webhookId, WebhookAttempt attempt, boolean retryable) {
}
