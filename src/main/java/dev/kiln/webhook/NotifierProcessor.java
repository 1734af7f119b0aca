package dev.kiln.webhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.job.BatchCompleted;
import dev.kiln.job.EventTypes;
import dev.kiln.job.Usage;
import dev.kiln.messaging.KilnJson;
import dev.kiln.storage.ObjectKeys;
import io.quarkus.logging.Log;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * The notifier, one instance per partition of {@code kiln.status} and {@code kiln.webhooks}: it
 * folds job events into per-batch counts of final jobs, announces {@code kiln.batch.completed}
 * once when the last job ends, and owns the webhook deliveries of its batches: it creates them,
 * starts their attempts when due (a wall-clock punctuator) and applies their outcomes.
 *
 * <p>Under {@code exactly_once_v2} every store change, the completed event, the delivery records
 * and the input offsets commit together, so a crash neither loses nor repeats a completion. HTTP
 * attempts are the one effect outside the transaction: at least once, with the same
 * {@code webhook-id}, which is what receivers deduplicate on.
 */
final class NotifierProcessor implements Processor<String, byte[], String, byte[]> {

    /** Per batch: {@link BatchProgress}. */
    static final String BATCHES = "batches";
    /** Per job id: its last accepted state and attempt, {@code "state attempt"}. */
    static final String JOBS = "jobs";
    /** Per {@code batch id/webhook id}: {@link WebhookDelivery}. */
    static final String DELIVERIES = "deliveries";
    /** {@code due millis|delivery key} -> delivery key, so that a tick reads only what is due. */
    static final String DUE = "due";
    static final String STATUS_SINK = "status-sink";
    static final String WEBHOOKS_SINK = "webhooks-sink";

    private static final ObjectMapper JSON = KilnJson.MAPPER;
    /** At most this many due entries per tick, so one tick never holds the stream thread for long. */
    private static final int DUE_PER_TICK = 500;

    private final NotifierSettings settings;
    private final WebhookSender sender;
    private ProcessorContext<String, byte[]> context;
    private KeyValueStore<String, byte[]> batches;
    private KeyValueStore<String, String> jobs;
    private KeyValueStore<String, byte[]> deliveries;
    private KeyValueStore<String, String> due;

    NotifierProcessor(NotifierSettings settings, WebhookSender sender) {
        this.settings = settings;
        this.sender = sender;
    }

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
        this.context = context;
        batches = context.getStateStore(BATCHES);
        jobs = context.getStateStore(JOBS);
        deliveries = context.getStateStore(DELIVERIES);
        due = context.getStateStore(DUE);
        context.schedule(settings.tick(), PunctuationType.WALL_CLOCK_TIME, this::sendDue);
    }

    @Override
    public void process(Record<String, byte[]> record) {
        String type = header(record.headers(), "ce_type");
        if (type == null || record.value() == null) {
            return;
        }
        JsonNode event;
        try {
            event = JSON.readTree(record.value());
        } catch (IOException e) {
            // One unreadable event must not stop the notifier for every batch of the partition.
            Log.warnf("notifier: skipping unreadable %s event for %s: %s", type, record.key(), e.getMessage());
            return;
        }
        if (type.equals(EventTypes.BATCH_CREATED)) {
            onBatchCreated(event, record);
        } else if (type.startsWith(EventTypes.JOB_PREFIX) && !type.equals(EventTypes.JOB_REQUESTED)) {
            onJobChanged(type.substring(EventTypes.JOB_PREFIX.length()), event, record);
        } else if (type.equals(WebhookEvents.ATTEMPTED)) {
            onAttempted(read(event, WebhookAttempted.class));
        } else if (type.equals(WebhookEvents.RESEND_REQUESTED)) {
            onResend(text(event, "batch_id", record.key()));
        }
        // kiln.batch.completed and the delivery records are this processor's own output.
    }

    // ---- completion ----

    private void onBatchCreated(JsonNode event, Record<String, byte[]> record) {
        String batchId = text(event, "batch_id", record.key());
        BatchProgress progress = progress(batchId);
        if (progress.items() != null) {
            return;
        }
        JsonNode webhook = event.path("webhook");
        String url = webhook.isTextual() ? webhook.asText() : textOrNull(webhook.path("url"));
        progress = progress.created(text(event, "tenant", null), textOrNull(event.path("external_id")),
                event.path("items").asInt(), event.path("images").asLong(), url, events(webhook),
                instant(event.path("created_at"), record.timestamp()));
        save(maybeComplete(progress, Instant.ofEpochMilli(record.timestamp())));
    }

    private void onJobChanged(String state, JsonNode event, Record<String, byte[]> record) {
        String jobId = textOrNull(event.path("job_id"));
        if (jobId == null) {
            return;
        }
        String batchId = text(event, "batch_id", record.key());
        int attempt = event.path("attempt").asInt(1);
        String last = jobs.get(jobId);
        String lastState = last == null ? null : last.substring(0, last.indexOf(' '));
        int lastAttempt = last == null ? 0 : Integer.parseInt(last.substring(last.indexOf(' ') + 1));
        if (!JobStates.accepts(lastState, lastAttempt, state, attempt)) {
            return;
        }
        jobs.put(jobId, state + " " + attempt);
        Usage consumed = JobStates.SUCCEEDED.equals(state) ? read(event.path("usage"), Usage.class) : null;
        BatchProgress progress = progress(batchId).moved(lastState, state, consumed);
        Instant at = instant(event.path("at"), record.timestamp());
        String webhookEvent = "job." + state;
        if ((webhookEvent.equals(WebhookEvents.JOB_SUCCEEDED) || webhookEvent.equals(WebhookEvents.JOB_FAILED))
                && progress.wants(webhookEvent)) {
            createDelivery(WebhookPayloads.jobId(batchId, webhookEvent, jobId, attempt), progress, webhookEvent,
                    WebhookPayloads.job(webhookEvent, event, settings.publicBaseUrl(), at), at);
        }
        save(maybeComplete(progress, at));
    }

    private BatchProgress maybeComplete(BatchProgress progress, Instant at) {
        if (!progress.completesNow()) {
            return progress;
        }
        BatchProgress done = progress.completed();
        String tenant = done.tenant();
        BatchCompleted event = new BatchCompleted(done.batchId(), tenant, done.externalId(), done.finalState(),
                done.items(), done.images(), done.counts(), done.usage(),
                ObjectKeys.tenantPrefix(tenant) + "manifests/" + ObjectKeys.segment(done.batchId()) + ".jsonl",
                done.completions(), done.createdAt(), at);
        context.forward(new Record<>(done.batchId(), bytes(event), at.toEpochMilli(),
                cloudEvent(done.batchId() + "/completed/" + done.completions(), EventTypes.BATCH_COMPLETED,
                        done.batchId(), at)), STATUS_SINK);
        if (done.wants(WebhookEvents.BATCH_COMPLETED)) {
            createDelivery(WebhookPayloads.batchCompletedId(done.batchId(), done.completions()), done,
                    WebhookEvents.BATCH_COMPLETED, WebhookPayloads.batchCompleted(event, settings.publicBaseUrl()), at);
        }
        return done;
    }

    // ---- deliveries ----

    private void createDelivery(String webhookId, BatchProgress batch, String eventType, String payload, Instant at) {
        String key = key(batch.batchId(), webhookId);
        if (deliveries.get(key) != null) {
            return;
        }
        Instant now = now();
        WebhookDelivery delivery = WebhookDelivery.create(webhookId, batch.batchId(), batch.tenant(), batch.webhookUrl(),
                eventType, payload, at, now.plus(settings.schedule().delayBefore(0).orElseThrow()));
        store(delivery, null);
    }

    private void onAttempted(WebhookAttempted outcome) {
        if (outcome == null || outcome.attempt() == null) {
            return;
        }
        WebhookDelivery delivery = delivery(key(outcome.batchId(), outcome.webhookId()));
        // Only the outcome of the attempt in flight counts; a late one of an attempt already
        // recorded as lost is dropped.
        if (delivery == null || delivery.state() != DeliveryState.SENDING
                || delivery.nextAttemptNumber() != outcome.attempt().number()) {
            return;
        }
        store(delivery.after(outcome.attempt(), outcome.retryable(), settings.schedule(), now()), delivery.dueAt());
    }

    private void onResend(String batchId) {
        List<WebhookDelivery> resend = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = deliveries.prefixScan(batchId + "/", new StringSerializer())) {
            while (it.hasNext()) {
                WebhookDelivery delivery = read(it.next().value, WebhookDelivery.class);
                if (delivery != null && delivery.eventType().equals(WebhookEvents.BATCH_COMPLETED)
                        && delivery.state() != DeliveryState.SENDING) {
                    resend.add(delivery);
                }
            }
        }
        for (WebhookDelivery delivery : resend) {
            store(delivery.resent(settings.schedule(), now()), delivery.dueAt());
        }
    }

    /** The punctuator: records lost attempts and starts the attempts that are due. */
    private void sendDue(long nowMillis) {
        Instant now = Instant.ofEpochMilli(nowMillis);
        List<KeyValue<String, String>> entries = new ArrayList<>();
        try (KeyValueIterator<String, String> it = due.range(dueKey(0, ""), dueKey(nowMillis, "\uffff"))) {
            while (it.hasNext() && entries.size() < DUE_PER_TICK) {
                entries.add(it.next());
            }
        }
        for (KeyValue<String, String> entry : entries) {
            WebhookDelivery delivery = delivery(entry.value);
            if (delivery == null || delivery.dueAt() == null
                    || !dueKey(delivery.dueAt().toEpochMilli(), entry.value).equals(entry.key)) {
                due.delete(entry.key);
                continue;
            }
            if (delivery.state() == DeliveryState.SENDING) {
                Instant started = delivery.leaseUntil().minus(settings.lease());
                WebhookAttempt lost = new WebhookAttempt(delivery.nextAttemptNumber(), started,
                        settings.lease().toMillis(), null, "no outcome within " + settings.lease().toSeconds()
                        + " s: the replica sending it stopped, or the batch moved to another replica");
                store(delivery.after(lost, true, settings.schedule(), now), delivery.dueAt());
                continue;
            }
            if (!sender.start(delivery, delivery.nextAttemptNumber())) {
                return;
            }
            // Not published: the log shows attempts once they have an outcome.
            save(delivery.sending(now.plus(settings.lease()), now), delivery.dueAt());
        }
    }

    /** Saves {@code delivery} and publishes it to the delivery log. */
    private void store(WebhookDelivery delivery, Instant previousDue) {
        save(delivery, previousDue);
        Instant now = now();
        context.forward(new Record<>(delivery.batchId(), bytes(delivery), now.toEpochMilli(),
                cloudEvent(delivery.webhookId() + "/" + delivery.attempts().size() + "/" + delivery.state().wireName()
                        + "/" + delivery.updatedAt().toEpochMilli(), WebhookEvents.DELIVERY, delivery.webhookId(), now)),
                WEBHOOKS_SINK);
    }

    private void save(WebhookDelivery delivery, Instant previousDue) {
        String key = key(delivery.batchId(), delivery.webhookId());
        if (previousDue != null) {
            due.delete(dueKey(previousDue.toEpochMilli(), key));
        }
        deliveries.put(key, bytes(delivery));
        if (delivery.dueAt() != null) {
            due.put(dueKey(delivery.dueAt().toEpochMilli(), key), key);
        }
    }

    private WebhookDelivery delivery(String key) {
        byte[] bytes = deliveries.get(key);
        return bytes == null ? null : read(bytes, WebhookDelivery.class);
    }

    private BatchProgress progress(String batchId) {
        byte[] bytes = batches.get(batchId);
        BatchProgress progress = bytes == null ? null : read(bytes, BatchProgress.class);
        return progress == null ? BatchProgress.unknown(batchId) : progress;
    }

    private void save(BatchProgress progress) {
        batches.put(progress.batchId(), bytes(progress));
    }

    private Instant now() {
        return Instant.ofEpochMilli(context.currentSystemTimeMs());
    }

    static String key(String batchId, String webhookId) {
        return batchId + "/" + webhookId;
    }

    private static String dueKey(long millis, String key) {
        return String.format(Locale.ROOT, "%013d|%s", millis, key);
    }

    /** The events a batch's webhook asks for: {@code batch.completed} alone unless it names some. */
    private static Set<String> events(JsonNode webhook) {
        JsonNode named = webhook.path("events");
        if (!named.isArray() || named.isEmpty()) {
            return WebhookEvents.DEFAULT;
        }
        Set<String> events = new HashSet<>();
        named.forEach(e -> {
            if (WebhookEvents.ALL.contains(e.asText())) {
                events.add(e.asText());
            }
        });
        return Set.copyOf(events);
    }

    /** The CloudEvents headers SmallRye's binary mode writes for Kiln's other events. */
    static Headers cloudEvent(String id, String type, String subject, Instant time) {
        Headers headers = new RecordHeaders();
        headers.add("ce_specversion", utf8("1.0"));
        headers.add("ce_id", utf8(id));
        headers.add("ce_source", utf8(EventTypes.SOURCE));
        headers.add("ce_type", utf8(type));
        headers.add("ce_subject", utf8(subject));
        headers.add("ce_time", utf8(time.toString()));
        headers.add("content-type", utf8("application/json"));
        return headers;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String header(Headers headers, String name) {
        Header header = headers.lastHeader(name);
        return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }

    private static String text(JsonNode node, String field, String fallback) {
        String value = textOrNull(node.path(field));
        return value == null ? fallback : value;
    }

    private static String textOrNull(JsonNode node) {
        return node.isTextual() && !node.asText().isEmpty() ? node.asText() : null;
    }

    private static Instant instant(JsonNode node, long fallbackMillis) {
        try {
            return node.isTextual() ? Instant.parse(node.asText()) : Instant.ofEpochMilli(fallbackMillis);
        } catch (java.time.format.DateTimeParseException e) {
            return Instant.ofEpochMilli(fallbackMillis);
        }
    }

    private static <T> T read(JsonNode node, Class<T> type) {
        if (node == null || node.isMissingNode() || node.isNull()) {
            return null;
        }
        try {
            return JSON.treeToValue(node, type);
        } catch (IOException | IllegalArgumentException e) {
            Log.warnf("notifier: skipping an unreadable %s: %s", type.getSimpleName(), e.getMessage());
            return null;
        }
    }

    private static <T> T read(byte[] bytes, Class<T> type) {
        try {
            return JSON.readValue(bytes, type);
        } catch (IOException e) {
            Log.warnf("notifier: skipping an unreadable stored %s: %s", type.getSimpleName(), e.getMessage());
            return null;
        }
    }

    private static byte[] bytes(Object value) {
        try {
            return JSON.writeValueAsBytes(value);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write " + value.getClass().getSimpleName(), e);
        }
    }
}
