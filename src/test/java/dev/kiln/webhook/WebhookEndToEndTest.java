package dev.kiln.webhook;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.messaging.KilnJson;
import dev.kiln.simulator.SimulatorSettings;
import dev.kiln.testing.KilnStackResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.specification.RequestSpecification;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;

/**
 * Webhooks on the real stack, keys on for two tenants: batches rendered by the simulator through a
 * real broker and S3 end, and their {@code batch.completed} deliveries reach a receiver on loopback
 * ({@link WebhookReceiver}) that checks every signature with the spec written out
 * ({@link WebhookSignerTest#verify}), with the secret the tenant reads from {@code GET /v1/tenant}.
 * The delivery log is read and the resend is driven over REST, as a platform would.
 */
@QuarkusTest
@TestProfile(WebhookEndToEndTest.TwoTenants.class)
@WithTestResource(KilnStackResource.class)
class WebhookEndToEndTest {

    static final String KEY_A = "test-acme-webhook-key-0123456789abcdef";
    static final String KEY_B = "test-globex-webhook-key-0123456789abcdef";

    /** Keys on for two tenants, so that the other tenant's 404 is tested. */
    public static class TwoTenants implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of(
                    "kiln.auth.api-keys", "acme=" + KEY_A + ",globex=" + KEY_B,
                    "kiln.auth.admin-api-key", "test-admin-webhook-key-0123456789abcdef",
                    "kiln.auth.secrets-key", "test-secrets-webhook-root-0123456789abcdefghij",
                    "kiln.auth.rate-limit.requests-per-second", "0");
        }
    }

    private WebhookReceiver receiver;
    private SimulatorSettings savedSimulator;

    @AfterEach
    void stop() {
        if (receiver != null) {
            receiver.close();
        }
        if (savedSimulator != null) {
            KilnStackResource.simulator().update(savedSimulator);
        }
    }

    private static RequestSpecification as(String key) {
        return given().header("Authorization", "Bearer " + key);
    }

    /** A tenant's signing secret, as a platform learns it. */
    private static String secret(String key) {
        return as(key).get("/v1/tenant").then().statusCode(200).extract().jsonPath().getString("webhook_secret");
    }

    @Test
    void aFailingReceiverGetsTheSameSignedDeliveryUntilItTakesItAndTheBatchShowsEveryAttempt() throws Exception {
        // A 500, then an answer past kiln.webhooks.attempt-timeout (PT2S in tests), then taken.
        receiver = WebhookReceiver.start(call -> switch (call) {
            case 1 -> 500;
            case 2 -> {
                Thread.sleep(4_000);
                yield 200;
            }
            default -> 204;
        });
        String batchId = submit(KEY_A, receiver.url() + "?token=platform-side-token", "low", 2);

        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).until(() -> receiver.received().size() >= 3);
        List<WebhookReceiver.Received> three = receiver.received().subList(0, 3);
        String webhookId = three.getFirst().webhookId();
        String secret = secret(KEY_A);
        assertThat(webhookId).startsWith("msg_");
        for (WebhookReceiver.Received r : three) {
            assertThat(r.webhookId()).as("the same id on every attempt").isEqualTo(webhookId);
            assertThat(r.headers().get("content-type")).startsWith("application/json");
            assertThat(Math.abs(Long.parseLong(r.headers().get("webhook-timestamp")) - r.at().getEpochSecond()))
                    .as("within the spec's 5 minute tolerance").isLessThan(300);
            assertThat(r.verifies(secret)).as("signature of the attempt at " + r.at()).isTrue();
            assertThat(r.verifies(secret(KEY_B))).as("not signed with the other tenant's secret").isFalse();
            assertThat(r.body()).isEqualTo(three.getFirst().body());
        }
        assertThat(Duration.between(three.get(0).at(), three.get(1).at())).as("retried after about 1 s").isLessThan(Duration.ofSeconds(10));

        JsonNode payload = KilnJson.MAPPER.readTree(three.getFirst().body());
        assertThat(payload.path("type").asText()).isEqualTo("batch.completed");
        JsonNode data = payload.path("data");
        assertThat(data.path("batch_id").asText()).isEqualTo(batchId);
        assertThat(data.path("tenant").asText()).isEqualTo("acme");
        assertThat(data.path("state").asText()).isEqualTo("succeeded");
        assertThat(data.path("counts").path("succeeded").asInt()).isEqualTo(2);
        assertThat(data.path("usage").path("images").asLong()).isEqualTo(2);
        assertThat(data.path("manifest").asText()).isEqualTo("acme/manifests/" + batchId + ".jsonl");

        // The delivery log on GET /v1/batches/{id}: three attempts, the last one taken.
        await().atMost(Duration.ofSeconds(30)).until(() -> "succeeded".equals(
                batch(KEY_A, batchId).getString("webhook.deliveries[0].state")));
        String body = as(KEY_A).get("/v1/batches/" + batchId).then().statusCode(200).extract().asString();
        JsonPath batch = new JsonPath(body);
        assertThat(batch.getString("webhook.url")).isEqualTo(receiver.url());
        assertThat(batch.getInt("webhook.deliveries_total")).isEqualTo(1);
        assertThat(batch.getString("webhook.deliveries[0].webhook_id")).isEqualTo(webhookId);
        assertThat(batch.getString("webhook.deliveries[0].event_type")).isEqualTo("batch.completed");
        assertThat(batch.getList("webhook.deliveries[0].attempts")).hasSize(3);
        assertThat(batch.getList("webhook.deliveries[0].attempts.number", Integer.class)).containsExactly(1, 2, 3);
        assertThat(batch.getInt("webhook.deliveries[0].attempts[0].http_status")).isEqualTo(500);
        assertThat(batch.getString("webhook.deliveries[0].attempts[1].http_status")).isNull();
        assertThat(batch.getString("webhook.deliveries[0].attempts[1].error")).contains("no answer within 2000 ms");
        assertThat(batch.getInt("webhook.deliveries[0].attempts[2].http_status")).isEqualTo(204);
        assertThat(batch.getString("webhook.deliveries[0].next_attempt_at")).isNull();
        assertThat(body).as("never the secret, nor the URL's token")
                .doesNotContain(secret).doesNotContain(secret.substring("whsec_".length()))
                .doesNotContain("platform-side-token").doesNotContain("payload");

        // Another tenant: the batch, its log and its resend are as missing as an unknown id.
        as(KEY_B).get("/v1/batches/" + batchId).then().statusCode(404);
        as(KEY_B).post("/v1/batches/" + batchId + "/webhook/resend").then().statusCode(404)
                .contentType("application/problem+json");
        as(KEY_A).post("/v1/batches/b_unknown0000/webhook/resend").then().statusCode(404);

        // Sent again by hand: 202, the same id and a valid signature, a fourth attempt in the log.
        as(KEY_A).post("/v1/batches/" + batchId + "/webhook/resend").then().statusCode(202)
                .body("batch_id", equalTo(batchId)).body("event_type", equalTo("batch.completed"));
        await().atMost(Duration.ofSeconds(30)).until(() -> receiver.received().size() >= 4);
        WebhookReceiver.Received fourth = receiver.received().get(3);
        assertThat(fourth.webhookId()).isEqualTo(webhookId);
        assertThat(fourth.verifies(secret)).isTrue();
        await().atMost(Duration.ofSeconds(30)).until(() ->
                batch(KEY_A, batchId).getList("webhook.deliveries[0].attempts").size() == 4);
        assertThat(receiver.received(webhookId)).as("nothing sent twice without cause").hasSize(4);

        assertThat(completedEvents(batchId)).as("kiln.batch.completed on kiln.status, once").isEqualTo(1);
    }

    @Test
    void aReceiverThatNeverTakesItShowsPendingWithTheNextAttemptThenFailed() {
        receiver = WebhookReceiver.start(call -> 503);
        String batchId = submit(KEY_A, receiver.url(), "low", 1);

        // Between attempts the log says when the next one is due, after the last one.
        AtomicBoolean sawPending = new AtomicBoolean();
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(100)).until(() -> {
            JsonPath batch = batch(KEY_A, batchId);
            String state = batch.getString("webhook.deliveries[0].state");
            if ("pending".equals(state) && !batch.getList("webhook.deliveries[0].attempts").isEmpty()) {
                Instant next = Instant.parse(batch.getString("webhook.deliveries[0].next_attempt_at"));
                List<String> ats = batch.getList("webhook.deliveries[0].attempts.at", String.class);
                assertThat(next).isAfter(Instant.parse(ats.getLast()));
                sawPending.set(true);
            }
            return "failed".equals(state);
        });
        assertThat(sawPending).as("a pending delivery with next_attempt_at was seen").isTrue();
        JsonPath batch = batch(KEY_A, batchId);
        // The test schedule PT0S,PT1S,PT1S,PT2S: four attempts, then failed.
        assertThat(batch.getList("webhook.deliveries[0].attempts.http_status", Integer.class)).containsExactly(503, 503, 503, 503);
        assertThat(receiver.received()).hasSize(4);

        // A failed delivery can be sent again by hand; this time the receiver takes it.
        receiver.answer(call -> 200);
        as(KEY_A).post("/v1/batches/" + batchId + "/webhook/resend").then().statusCode(202);
        await().atMost(Duration.ofSeconds(30)).until(() -> "succeeded".equals(
                batch(KEY_A, batchId).getString("webhook.deliveries[0].state")));
        assertThat(receiver.received()).hasSize(5);
        assertThat(receiver.received().getLast().verifies(secret(KEY_A))).isTrue();
    }

    @Test
    void resendIsRefusedWhileTheBatchRunsAndForABatchWithoutWebhook() {
        receiver = WebhookReceiver.start(call -> 204);
        savedSimulator = KilnStackResource.simulator().settings();
        KilnStackResource.simulator().update(savedSimulator.withSetting("SIMULATOR_LATENCY_MEDIUM_MS", "5000"));
        String running = submit(KEY_A, receiver.url(), "medium", 1);

        as(KEY_A).post("/v1/batches/" + running + "/webhook/resend").then().statusCode(409)
                .contentType("application/problem+json")
                .body("detail", org.hamcrest.Matchers.containsString("its batch.completed webhook exists only once it has finished"));
        assertThat(batch(KEY_A, running).getString("webhook.deliveries_total")).isEqualTo("0");
        await().atMost(Duration.ofSeconds(60)).until(() -> receiver.received().size() == 1);

        String without = submit(KEY_A, null, "low", 1);
        await().atMost(Duration.ofSeconds(60)).until(() -> "succeeded".equals(batch(KEY_A, without).getString("state")));
        assertThat(batch(KEY_A, without).getMap("$")).doesNotContainKey("webhook");
        as(KEY_A).post("/v1/batches/" + without + "/webhook/resend").then().statusCode(409)
                .contentType("application/problem+json")
                .body("detail", org.hamcrest.Matchers.containsString("submitted without a webhook"));
    }

    @Test
    void jobEventsGoOnlyToTheWebhookThatAsksForThem() throws Exception {
        receiver = WebhookReceiver.start(call -> 204);
        try (WebhookReceiver plain = WebhookReceiver.start(call -> 204)) {
            // Bad values of the object form: 400 naming the field, nothing accepted.
            as(KEY_A).contentType(ContentType.JSON).body("""
                    {"webhook": {"url": "%s", "events": ["job.failed", "job.started"]},
                     "items": [{"id": "SKU-0", "prompt": "a mug"}]}""".formatted(receiver.url()))
                    .post("/v1/batches").then().statusCode(400).contentType("application/problem+json")
                    .body("errors.field", org.hamcrest.Matchers.contains("webhook.events[1]"));

            // One item succeeds, one is refused by moderation (never retried): a mixed batch.
            String asking = submitMixed("{\"url\": \"" + receiver.url()
                    + "\", \"events\": [\"job.succeeded\", \"job.failed\", \"batch.completed\"]}");
            String notAsking = submitMixed("\"" + plain.url() + "\"");

            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).until(() ->
                    types(receiver).contains("batch.completed") && types(plain).contains("batch.completed"));
            // Every delivery the batches made is taken, so the log is complete.
            await().atMost(Duration.ofSeconds(30)).until(() -> allSucceeded(asking, 3) && allSucceeded(notAsking, 1));

            String secret = secret(KEY_A);
            assertThat(receiver.received()).allSatisfy(r -> assertThat(r.verifies(secret)).as(r.webhookId()).isTrue());
            assertThat(plain.received()).allSatisfy(r -> assertThat(r.verifies(secret)).as(r.webhookId()).isTrue());
            // At least once, so a delivery may arrive twice; by webhook-id, each event is one delivery.
            Map<String, List<String>> idsByType = idsByType(receiver);
            assertThat(idsByType).containsOnlyKeys("job.succeeded", "job.failed", "batch.completed");
            assertThat(idsByType.values()).allSatisfy(ids -> assertThat(ids).hasSize(1));
            assertThat(idsByType(plain)).containsOnlyKeys("batch.completed");
            assertThat(idsByType(plain).get("batch.completed")).hasSize(1);

            JsonNode failed = payload(receiver, "job.failed").path("data");
            assertThat(failed.path("batch_id").asText()).isEqualTo(asking);
            assertThat(failed.path("item_id").asText()).isEqualTo("SKU-FORBIDDEN");
            assertThat(failed.path("state").asText()).isEqualTo("failed");
            assertThat(failed.path("error").path("code").asText()).isEqualTo("moderation_blocked");
            JsonNode succeeded = payload(receiver, "job.succeeded").path("data");
            assertThat(succeeded.path("item_id").asText()).isEqualTo("SKU-OK");
            assertThat(succeeded.path("outputs").path(0).path("key").asText()).startsWith("acme/" + asking + "/");
            assertThat(succeeded.path("usage").path("images").asLong()).isEqualTo(1);
            JsonNode completed = payload(receiver, "batch.completed").path("data");
            assertThat(completed.path("state").asText()).isEqualTo("partially_failed");
            assertThat(completed.path("counts").path("failed").asInt()).isEqualTo(1);
            assertThat(payload(plain, "batch.completed").path("data").path("batch_id").asText()).isEqualTo(notAsking);

            // The delivery log lists the batch's three deliveries, batch.completed first.
            JsonPath log = batch(KEY_A, asking);
            assertThat(log.getString("webhook.deliveries[0].event_type")).isEqualTo("batch.completed");
            assertThat(log.getList("webhook.deliveries.event_type", String.class))
                    .containsExactlyInAnyOrder("batch.completed", "job.succeeded", "job.failed");
        }
    }

    private boolean allSucceeded(String batchId, int deliveries) {
        JsonPath batch = batch(KEY_A, batchId);
        List<String> states = batch.getList("webhook.deliveries.state", String.class);
        return batch.getInt("webhook.deliveries_total") == deliveries && states != null
                && states.stream().allMatch("succeeded"::equals);
    }

    private static String submitMixed(String webhook) {
        String run = UUID.randomUUID().toString();
        String body = """
                {"defaults": {"size": "1024x1024", "quality": "low"}, "webhook": %s,
                 "items": [{"id": "SKU-OK", "prompt": "Studio photo of a mug %s"},
                           {"id": "SKU-FORBIDDEN", "prompt": "FORBIDDEN mug %s"}]}""".formatted(webhook, run, run);
        return as(KEY_A).contentType(ContentType.JSON).header("Idempotency-Key", "webhook-" + run)
                .body(body).when().post("/v1/batches").then().statusCode(202).extract().path("id");
    }

    private static List<String> types(WebhookReceiver receiver) {
        return receiver.received().stream().map(r -> payloadOf(r).path("type").asText()).toList();
    }

    /** The distinct webhook-ids a receiver got, per event type. */
    private static Map<String, List<String>> idsByType(WebhookReceiver receiver) {
        Map<String, List<String>> ids = new java.util.TreeMap<>();
        for (WebhookReceiver.Received r : receiver.received()) {
            List<String> of = ids.computeIfAbsent(payloadOf(r).path("type").asText(), t -> new java.util.ArrayList<>());
            if (!of.contains(r.webhookId())) {
                of.add(r.webhookId());
            }
        }
        return ids;
    }

    private static JsonNode payload(WebhookReceiver receiver, String type) {
        return receiver.received().stream().map(WebhookEndToEndTest::payloadOf)
                .filter(p -> type.equals(p.path("type").asText())).findFirst().orElseThrow();
    }

    private static JsonNode payloadOf(WebhookReceiver.Received received) {
        try {
            return KilnJson.MAPPER.readTree(received.body());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static JsonPath batch(String key, String batchId) {
        return as(key).get("/v1/batches/" + batchId).then().statusCode(200).extract().jsonPath();
    }

    private static String submit(String key, String webhook, String quality, int items) {
        StringBuilder body = new StringBuilder("{\"defaults\": {\"size\": \"1024x1024\", \"quality\": \"" + quality + "\"},");
        if (webhook != null) {
            body.append(" \"webhook\": \"").append(webhook).append("\",");
        }
        body.append(" \"items\": [");
        for (int i = 0; i < items; i++) {
            body.append(i == 0 ? "" : ",").append("{\"id\": \"SKU-").append(i).append("\", \"prompt\": \"Studio photo of mug ")
                    .append(i).append(' ').append(UUID.randomUUID()).append("\"}");
        }
        body.append("]}");
        return as(key).contentType(ContentType.JSON).header("Idempotency-Key", "webhook-" + UUID.randomUUID())
                .body(body.toString()).when().post("/v1/batches").then().statusCode(202).extract().path("id");
    }

    private static int completedEvents(String batchId) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KilnStackResource.kafka().bootstrapServers());
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "webhook-e2e-" + UUID.randomUUID());
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        int completed = 0;
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
            consumer.subscribe(List.of("kiln.status"));
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            int empty = 0;
            while (System.nanoTime() < deadline && empty < 3) {
                var records = consumer.poll(Duration.ofMillis(1000));
                empty = records.isEmpty() ? empty + 1 : 0;
                for (ConsumerRecord<String, String> record : records) {
                    var type = record.headers().lastHeader("ce_type");
                    if (batchId.equals(record.key()) && type != null
                            && "kiln.batch.completed".equals(new String(type.value(), StandardCharsets.UTF_8))) {
                        completed++;
                    }
                }
            }
        }
        return completed;
    }
}
