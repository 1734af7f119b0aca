package dev.kiln.webhook;

import dev.kiln.job.WebhookDeliveryLog;
import dev.kiln.messaging.KilnJson;
import dev.kiln.messaging.Topics;
import jakarta.enterprise.context.ApplicationScoped;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * What the status and REST side calls: a batch's deliveries with every attempt (from this
 * replica's copy of the delivery log), and resending a batch's {@code batch.completed} delivery.
 */
@ApplicationScoped
public class WebhookDeliveries implements WebhookDeliveryLog {

    private final WebhookStreams streams;

    public WebhookDeliveries(WebhookStreams streams) {
        this.streams = streams;
    }

    /**
     * The batch's deliveries, oldest first, each with its attempts, state and next attempt. Empty
     * when the batch has no webhook, or has not ended (and asked for no job events).
     *
     * @throws WebhookLogUnavailableException while the log is loading on this replica
     */
    public List<WebhookDelivery> forBatch(String batchId) {
        ReadOnlyKeyValueStore<String, byte[]> store = streams.logStore().orElseThrow(WebhookLogUnavailableException::new);
        List<WebhookDelivery> found = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = store.prefixScan(batchId + "/", new StringSerializer())) {
            while (it.hasNext()) {
                found.add(KilnJson.MAPPER.readValue(it.next().value, WebhookDelivery.class));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        found.sort(Comparator.comparing(WebhookDelivery::createdAt).thenComparing(WebhookDelivery::webhookId));
        return found;
    }

    /**
     * The batch's {@code batch.completed} deliveries (one per completion, newest first), then up to
     * {@code limit} in all with its job-event deliveries. Those are found by a key scan, so that a
     * batch with 100,000 of them costs one pass over keys and never 100,000 parsed bodies.
     */
    @Override
    public Optional<Deliveries> deliveries(String batchId, int limit) {
        Optional<ReadOnlyKeyValueStore<String, byte[]>> found = streams.logStore();
        if (found.isEmpty()) {
            return Optional.empty();
        }
        ReadOnlyKeyValueStore<String, byte[]> store = found.get();
        List<WebhookDelivery> shown = new ArrayList<>();
        java.util.Set<String> completions = new java.util.HashSet<>();
        // Completion ids are derived from the completion's number, 1, 2, ...: read them straight.
        for (int completion = 1; ; completion++) {
            String key = NotifierProcessor.key(batchId, WebhookPayloads.batchCompletedId(batchId, completion));
            byte[] value = store.get(key);
            if (value == null) {
                break;
            }
            completions.add(key);
            shown.add(parse(value));
        }
        java.util.Collections.reverse(shown);
        List<WebhookDelivery> jobs = new ArrayList<>();
        int total = 0;
        try (KeyValueIterator<String, byte[]> it = store.prefixScan(batchId + "/", new StringSerializer())) {
            while (it.hasNext()) {
                var entry = it.next();
                total++;
                if (!completions.contains(entry.key) && shown.size() + jobs.size() < limit) {
                    jobs.add(parse(entry.value));
                }
            }
        }
        jobs.sort(Comparator.comparing(WebhookDelivery::createdAt).thenComparing(WebhookDelivery::webhookId));
        shown.addAll(jobs);
        List<Delivery> view = shown.stream().limit(limit).map(WebhookDeliveries::view).toList();
        return Optional.of(new Deliveries(view, total));
    }

    /** What a client sees of a delivery: no body (it may be large) and, as always, no secret. */
    private static Delivery view(WebhookDelivery d) {
        return new Delivery(d.webhookId(), d.eventType(), d.state().wireName(),
                d.attempts().stream().map(a -> new Attempt(a.number(), a.at(), a.durationMs(), a.httpStatus(), a.error())).toList(),
                d.nextAttemptAt(), d.createdAt(), d.updatedAt());
    }

    private static WebhookDelivery parse(byte[] value) {
        try {
            return KilnJson.MAPPER.readValue(value, WebhookDelivery.class);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Sends the batch's {@code batch.completed} delivery again, with the same {@code webhook-id} and
     * the retry schedule started over; a delivery whose attempt is in flight is left alone.
     *
     * @return false when the batch has no such delivery (no webhook, or not ended): nothing to resend (409)
     * @throws WebhookLogUnavailableException while the log is loading on this replica
     */
    public boolean resend(String batchId) {
        boolean any = forBatch(batchId).stream().anyMatch(d -> d.eventType().equals(WebhookEvents.BATCH_COMPLETED));
        if (!any) {
            return false;
        }
        var producer = streams.producer().orElseThrow(WebhookLogUnavailableException::new);
        Instant now = Instant.now();
        try {
            producer.send(new ProducerRecord<>(Topics.WEBHOOKS, null, now.toEpochMilli(), batchId,
                    KilnJson.MAPPER.writeValueAsBytes(new WebhookResendRequested(batchId)),
                    NotifierProcessor.cloudEvent(batchId + "/resend/" + now.toEpochMilli(), WebhookEvents.RESEND_REQUESTED,
                            batchId, now))).get(30, TimeUnit.SECONDS);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while requesting a resend", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("Kafka did not take the resend request: " + e.getMessage(), e);
        }
        return true;
    }
}
