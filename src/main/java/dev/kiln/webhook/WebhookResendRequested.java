package dev.kiln.webhook;

/**
 * The command on {@code kiln.webhooks} to send a batch's {@code batch.completed} delivery again,
 * with the same {@code webhook-id} and the retry schedule started over.
 *
 * @param batchId the batch, also the Kafka key
 */
public record WebhookResendRequested(String batchId) {
}
