package dev.kiln.webhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.job.EventTypes;
import dev.kiln.messaging.KilnJson;
import dev.kiln.messaging.Topics;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The notifier's topology without a broker: completion is announced exactly once whatever the
 * order, retries, redeliveries and duplicates of job events; deliveries follow the schedule.
 */
class NotifierTopologyTest {

    private static final Instant T0 = Instant.parse("2026-11-21T10:00:00Z");
    private static final RetrySchedule SCHEDULE = new RetrySchedule(
            List.of(Duration.ZERO, Duration.ofSeconds(5), Duration.ofMinutes(5)));
    private static final Duration LEASE = Duration.ofSeconds(45);

    @TempDir
    Path stateDir;
    private TopologyTestDriver driver;
    private TestInputTopic<String, byte[]> status;
    private TestInputTopic<String, byte[]> webhooks;
    private TestOutputTopic<String, byte[]> statusOut;
    private TestOutputTopic<String, byte[]> webhooksOut;
    private final FakeSender sender = new FakeSender();

    @BeforeEach
    void start() {
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "kiln-notifier-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        NotifierSettings settings = new NotifierSettings(SCHEDULE, LEASE, Duration.ofMillis(250),
                Optional.of("https://kiln.example.com/"));
        driver = new TopologyTestDriver(NotifierTopology.build(settings, sender), props, T0);
        status = driver.createInputTopic(Topics.STATUS, new StringSerializer(), new ByteArraySerializer());
        webhooks = driver.createInputTopic(Topics.WEBHOOKS, new StringSerializer(), new ByteArraySerializer());
        statusOut = driver.createOutputTopic(Topics.STATUS, new StringDeserializer(), new ByteArrayDeserializer());
        webhooksOut = driver.createOutputTopic(Topics.WEBHOOKS, new StringDeserializer(), new ByteArrayDeserializer());
    }

    @AfterEach
    void stop() {
        driver.close();
    }

    // ---- completion ----

    @Test
    void retriesRedeliveriesAndDuplicatesGiveExactlyOneCompletedEvent() {
        created("b_1", 3, null);
        for (int i = 0; i < 3; i++) {
            job("b_1", i, "queued", 1);
        }
        job("b_1", 0, "running", 1);
        job("b_1", 0, "succeeded", 1);
        job("b_1", 0, "succeeded", 1); // redelivered: same outputs reported again
        job("b_1", 1, "running", 1);
        job("b_1", 1, "queued", 2);    // a retryable error: the worker retries
        job("b_1", 1, "queued", 1);    // a late queued of attempt 1 from the api
        job("b_1", 2, "running", 1);
        job("b_1", 2, "succeeded", 1);
        assertThat(completed()).as("job 1 is still being retried").isEmpty();
        job("b_1", 1, "running", 2);
        job("b_1", 1, "succeeded", 2);
        job("b_1", 1, "succeeded", 2); // duplicate
        job("b_1", 2, "succeeded", 1); // redelivered again

        List<JsonNode> completed = completed();
        assertThat(completed).hasSize(1);
        JsonNode event = completed.getFirst();
        assertThat(event.path("state").asText()).isEqualTo("succeeded");
        assertThat(event.path("counts").path("succeeded").asInt()).isEqualTo(3);
        assertThat(event.path("usage").path("images").asLong()).as("usage counted once per job").isEqualTo(3);
        assertThat(event.path("usage").path("cost_usd").asDouble()).isEqualTo(0.3);
        assertThat(event.path("manifest").asText()).isEqualTo("default/manifests/b_1.jsonl");
        assertThat(event.path("completion").asInt()).isEqualTo(1);
        assertThat(sender.started).as("no webhook URL, no delivery").isEmpty();
    }

    @Test
    void theFinalStateFollowsTheDesignsRule() {
        finish("b_cancel", "succeeded", "cancelled", "failed");
        finish("b_expired", "succeeded", "expired", "failed");
        finish("b_failed", "failed", "failed");
        finish("b_partial", "succeeded", "failed");
        finish("b_ok", "succeeded", "succeeded");

        Map<String, String> states = new java.util.HashMap<>();
        completedRecords().forEach(r -> states.put(r.key(), json(r.value()).path("state").asText()));
        assertThat(states).containsExactlyInAnyOrderEntriesOf(Map.of("b_cancel", "cancelled", "b_expired", "expired",
                "b_failed", "failed", "b_partial", "partially_failed", "b_ok", "succeeded"));
    }

    @Test
    void jobEventsBeforeTheBatchsOwnEventCompleteItWhenItArrives() {
        job("b_2", 0, "succeeded", 1);
        job("b_2", 1, "failed", 3);
        assertThat(completed()).isEmpty();
        created("b_2", 2, null);
        List<TestRecord<String, byte[]>> records = completedRecords();
        assertThat(records).hasSize(1);
        assertThat(json(records.getFirst().value()).path("state").asText()).isEqualTo("partially_failed");
        assertThat(header(records.getFirst().headers(), "ce_type")).isEqualTo(EventTypes.BATCH_COMPLETED);
        assertThat(header(records.getFirst().headers(), "ce_subject")).isEqualTo("b_2");
        assertThat(header(records.getFirst().headers(), "ce_source")).isEqualTo(EventTypes.SOURCE);
        assertThat(header(records.getFirst().headers(), "ce_specversion")).isEqualTo("1.0");
        assertThat(header(records.getFirst().headers(), "ce_id")).isEqualTo("b_2/completed/1");
    }

    @Test
    void aBatchRetryReopensTheBatchAndCompletesItASecondTime() {
        created("b_3", 2, "https://hooks.example.com/kiln");
        job("b_3", 0, "succeeded", 1);
        job("b_3", 1, "failed", 3);
        job("b_3", 1, "failed", 3); // duplicate
        job("b_3", 1, "queued", 4); // POST /v1/batches/b_3/retry
        job("b_3", 1, "running", 4);
        job("b_3", 1, "succeeded", 4);

        List<TestRecord<String, byte[]>> records = completedRecords();
        assertThat(records).extracting(r -> json(r.value()).path("state").asText()).containsExactly("partially_failed", "succeeded");
        assertThat(records).extracting(r -> header(r.headers(), "ce_id")).containsExactly("b_3/completed/1", "b_3/completed/2");
        tick(Duration.ofMillis(300));
        assertThat(sender.started).extracting(s -> s.delivery().webhookId()).doesNotHaveDuplicates().hasSize(2);
    }

    // ---- deliveries ----

    @Test
    void aDeliveryIsRetriedOnItsScheduleWithOneIdUntilA2xx() {
        created("b_4", 1, "https://hooks.example.com/kiln");
        job("b_4", 0, "succeeded", 1);
        tick(Duration.ofMillis(300));
        assertThat(sender.started).hasSize(1);
        Started first = sender.started.getFirst();
        assertThat(first.number()).isEqualTo(1);
        WebhookDelivery delivery = first.delivery();
        assertThat(delivery.eventType()).isEqualTo("batch.completed");
        assertThat(delivery.url()).isEqualTo("https://hooks.example.com/kiln");
        JsonNode payload = json(delivery.payload().getBytes(StandardCharsets.UTF_8));
        assertThat(payload.path("type").asText()).isEqualTo("batch.completed");
        assertThat(payload.path("data").path("batch_id").asText()).isEqualTo("b_4");
        assertThat(payload.path("data").path("manifest_url").asText()).isEqualTo("https://kiln.example.com/v1/batches/b_4/manifest");

        tick(Duration.ofSeconds(10));
        assertThat(sender.started).as("nothing more while attempt 1 is in flight").hasSize(1);
        outcome(delivery, 1, 500, null);
        tick(Duration.ofSeconds(3));
        assertThat(sender.started).as("5 s after the failure, not yet").hasSize(1);
        tick(Duration.ofSeconds(3));
        assertThat(sender.started).hasSize(2);
        assertThat(sender.started.get(1).number()).isEqualTo(2);

        // Attempt 2's replica dies: no outcome; the lease runs out and the attempt counts as lost.
        tick(LEASE.plusSeconds(1));
        WebhookDelivery afterLoss = lastLogged(delivery.webhookId());
        assertThat(afterLoss.attempts()).hasSize(2);
        assertThat(afterLoss.attempts().get(1).error()).contains("no outcome");
        assertThat(afterLoss.state()).isEqualTo(DeliveryState.PENDING);
        outcome(delivery, 2, 500, null); // too late: ignored
        tick(Duration.ofMinutes(5).plusSeconds(1));
        assertThat(sender.started).hasSize(3);
        outcome(delivery, 3, 204, null);

        WebhookDelivery done = lastLogged(delivery.webhookId());
        assertThat(done.state()).isEqualTo(DeliveryState.SUCCEEDED);
        assertThat(done.attempts()).extracting(WebhookAttempt::httpStatus).containsExactly(500, null, 204);
        assertThat(sender.started).extracting(s -> s.delivery().webhookId()).containsOnly(delivery.webhookId());

        // Resent by hand: the same id, the next attempt number, the schedule started over.
        webhooks.pipeInput(new TestRecord<>("b_4", KilnJson.MAPPER.valueToTree(new WebhookResendRequested("b_4")).toString()
                .getBytes(StandardCharsets.UTF_8), headers(WebhookEvents.RESEND_REQUESTED, "b_4"), T0));
        tick(Duration.ofMillis(300));
        assertThat(sender.started).hasSize(4);
        assertThat(sender.started.get(3).number()).isEqualTo(4);
        assertThat(sender.started.get(3).delivery().webhookId()).isEqualTo(delivery.webhookId());
    }

    @Test
    void aDeliveryFailsAfterTheLastAttempt() {
        created("b_5", 1, "https://hooks.example.com/kiln");
        job("b_5", 0, "failed", 3);
        for (int attempt = 1; attempt <= 3; attempt++) {
            tick(Duration.ofMinutes(6));
            assertThat(sender.started).hasSize(attempt);
            outcome(sender.started.getLast().delivery(), attempt, 503, null);
        }
        tick(Duration.ofHours(1));
        assertThat(sender.started).hasSize(3);
        assertThat(lastLogged(sender.started.getFirst().delivery().webhookId()).state()).isEqualTo(DeliveryState.FAILED);
    }

    @Test
    void jobEventsAreDeliveredOnlyWhenAskedFor() {
        ObjectNode webhook = KilnJson.MAPPER.createObjectNode().put("url", "https://hooks.example.com/jobs");
        webhook.putArray("events").add("job.failed");
        created("b_6", 3, webhook);
        job("b_6", 0, "succeeded", 1);
        job("b_6", 1, "failed", 3);
        job("b_6", 1, "failed", 3); // redelivered
        job("b_6", 2, "succeeded", 1);
        tick(Duration.ofMillis(300));

        assertThat(sender.started).hasSize(1);
        WebhookDelivery delivery = sender.started.getFirst().delivery();
        assertThat(delivery.eventType()).isEqualTo("job.failed");
        JsonNode payload = json(delivery.payload().getBytes(StandardCharsets.UTF_8));
        assertThat(payload.path("type").asText()).isEqualTo("job.failed");
        assertThat(payload.path("data").path("job_id").asText()).isEqualTo("b_6-000001");
        assertThat(payload.path("data").path("url").asText()).isEqualTo("https://kiln.example.com/v1/jobs/b_6-000001");
        assertThat(payload.path("data").path("batch_url").asText()).isEqualTo("https://kiln.example.com/v1/batches/b_6");
        assertThat(completed()).as("the batch still completes on kiln.status").hasSize(1);
    }

    @Test
    void dueDeliveriesWaitWhileTheSenderIsFull() {
        created("b_7", 1, "https://hooks.example.com/kiln");
        job("b_7", 0, "succeeded", 1);
        sender.full = true;
        tick(Duration.ofSeconds(5));
        assertThat(sender.started).isEmpty();
        sender.full = false;
        tick(Duration.ofMillis(300));
        assertThat(sender.started).hasSize(1);
    }

    // ---- helpers ----

    private void finish(String batchId, String... states) {
        created(batchId, states.length, null);
        for (int i = 0; i < states.length; i++) {
            job(batchId, i, states[i], 1);
        }
    }

    private void created(String batchId, int items, Object webhook) {
        ObjectNode event = KilnJson.MAPPER.createObjectNode()
                .put("batch_id", batchId).put("tenant", "default").put("items", items).put("images", items)
                .put("request_sha256", "sha").put("created_at", T0.toString());
        if (webhook instanceof String url) {
            event.put("webhook", url);
        } else if (webhook instanceof JsonNode node) {
            event.set("webhook", node);
        }
        status.pipeInput(new TestRecord<>(batchId, bytes(event), headers(EventTypes.BATCH_CREATED, batchId), T0));
    }

    private void job(String batchId, int index, String state, int attempt) {
        String jobId = String.format("%s-%06d", batchId, index);
        ObjectNode event = KilnJson.MAPPER.createObjectNode()
                .put("job_id", jobId).put("batch_id", batchId).put("tenant", "default").put("item_id", "SKU-" + index)
                .put("index", index).put("state", state).put("attempt", attempt).put("at", T0.toString());
        if (state.equals("succeeded")) {
            event.putObject("usage").put("images", 1).put("text_input_tokens", 10).put("image_input_tokens", 0)
                    .put("output_tokens", 100).put("cost_usd", 0.1);
        }
        status.pipeInput(new TestRecord<>(batchId, bytes(event), headers(EventTypes.JOB_PREFIX + state, jobId), T0));
    }

    private void outcome(WebhookDelivery delivery, int number, Integer httpStatus, String error) {
        WebhookAttempted attempted = new WebhookAttempted(delivery.batchId(), delivery.webhookId(),
                new WebhookAttempt(number, T0, 20, httpStatus, error), true);
        webhooks.pipeInput(new TestRecord<>(delivery.batchId(), bytes(KilnJson.MAPPER.valueToTree(attempted)),
                headers(WebhookEvents.ATTEMPTED, delivery.webhookId()), T0));
    }

    private void tick(Duration by) {
        driver.advanceWallClockTime(by);
    }

    private final List<TestRecord<String, byte[]>> statusSeen = new ArrayList<>();
    private final List<TestRecord<String, byte[]>> webhooksSeen = new ArrayList<>();

    private List<TestRecord<String, byte[]>> completedRecords() {
        statusSeen.addAll(statusOut.readRecordsToList());
        return statusSeen.stream().filter(r -> EventTypes.BATCH_COMPLETED.equals(header(r.headers(), "ce_type"))).toList();
    }

    private List<JsonNode> completed() {
        return completedRecords().stream().map(r -> json(r.value())).toList();
    }

    private WebhookDelivery lastLogged(String webhookId) {
        webhooksSeen.addAll(webhooksOut.readRecordsToList());
        return webhooksSeen.stream().filter(r -> WebhookEvents.DELIVERY.equals(header(r.headers(), "ce_type")))
                .map(r -> read(r.value())).filter(d -> d.webhookId().equals(webhookId))
                .reduce((a, b) -> b).orElseThrow();
    }

    private static WebhookDelivery read(byte[] bytes) {
        try {
            return KilnJson.MAPPER.readValue(bytes, WebhookDelivery.class);
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    private static Headers headers(String type, String subject) {
        return NotifierProcessor.cloudEvent("id-" + System.nanoTime(), type, subject, T0);
    }

    private static String header(Headers headers, String name) {
        var h = headers.lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    private static byte[] bytes(JsonNode node) {
        return node.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static JsonNode json(byte[] bytes) {
        try {
            return KilnJson.MAPPER.readTree(bytes);
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    record Started(WebhookDelivery delivery, int number) {
    }

    static final class FakeSender implements WebhookSender {
        final List<Started> started = new ArrayList<>();
        boolean full;

        @Override
        public boolean start(WebhookDelivery delivery, int number) {
            if (full) {
                return false;
            }
            started.add(new Started(delivery, number));
            return true;
        }
    }
}
