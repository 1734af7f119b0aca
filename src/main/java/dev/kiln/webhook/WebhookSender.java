package dev.kiln.webhook;

/**
 * Makes attempts without holding up the notifier's Kafka Streams thread: {@link #start} returns at
 * once, and the outcome arrives later as a {@link WebhookAttempted} on {@code kiln.webhooks}.
 */
interface WebhookSender {

    /**
     * Starts attempt {@code number} of {@code delivery}.
     *
     * @return false, starting nothing, when as many attempts as allowed are in flight
     */
    boolean start(WebhookDelivery delivery, int number);
}
