package dev.kiln.webhook;

import dev.kiln.messaging.KilnJson;
import dev.kiln.messaging.Topics;
import io.quarkus.logging.Log;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.io.IOException;
import java.time.Instant;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Runs each attempt on its own virtual thread and publishes its outcome on {@code kiln.webhooks},
 * where the delivery's owner applies it. A bounded number of attempts is in flight at once.
 */
final class HttpWebhookSender implements WebhookSender, AutoCloseable {

    private final WebhookClient client;
    private final Producer<String, byte[]> producer;
    private final Semaphore inFlight;
    private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();

    HttpWebhookSender(WebhookClient client, Producer<String, byte[]> producer, int maxInFlight) {
        this.client = client;
        this.producer = producer;
        this.inFlight = new Semaphore(maxInFlight);
    }

    @Override
    public boolean start(WebhookDelivery delivery, int number) {
        if (!inFlight.tryAcquire()) {
            return false;
        }
        try {
            threads.execute(() -> {
                try {
                    publish(client.attempt(delivery, number));
                } finally {
                    inFlight.release();
                }
            });
            return true;
        } catch (RuntimeException e) {
            inFlight.release();
            return false;
        }
    }

    private void publish(WebhookAttempted outcome) {
        io.micrometer.core.instrument.Counter.builder("kiln.webhooks.attempts").description("Webhook attempts by outcome").tag("outcome", outcome.attempt().succeeded() ? "succeeded" : "failed").register(io.micrometer.core.instrument.Metrics.globalRegistry).increment();
        byte[] value;
        try {
            value = KilnJson.MAPPER.writeValueAsBytes(outcome);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write an attempt's outcome", e);
        }
        Instant now = Instant.now();
        producer.send(new ProducerRecord<>(Topics.WEBHOOKS, null, now.toEpochMilli(), outcome.batchId(), value,
                NotifierProcessor.cloudEvent(outcome.webhookId() + "/" + outcome.attempt().number(),
                        WebhookEvents.ATTEMPTED, outcome.webhookId(), now)), (metadata, error) -> {
            if (error != null) {
                // The lease runs out and the attempt is recorded as lost, then retried.
                Log.warnf("webhook %s: the outcome of attempt %d was not published: %s", outcome.webhookId(),
                        outcome.attempt().number(), error.getMessage());
            }
        });
    }

    /** Waits briefly for attempts in flight; any cut short are recorded as lost by the next owner. */
    @Override
    public void close() throws InterruptedException {
        threads.shutdown();
        threads.awaitTermination(5, TimeUnit.SECONDS);
    }
}
