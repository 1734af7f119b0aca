package dev.kiln.webhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.kiln.messaging.KilnJson;
import dev.kiln.testing.KilnStackResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A webhook on the real stack: a batch rendered by the simulator through a real broker and S3 ends,
 * and its {@code batch.completed} delivery reaches a receiver on loopback that answers 500 first,
 * then too late (past the attempt timeout), and takes the third. The receiver verifies every
 * signature with the spec written out in {@link WebhookSignerTest#verify}, not with Kiln's signer.
 */
@QuarkusTest
@WithTestResource(KilnStackResource.class)
class WebhookEndToEndTest {

    /** Tenant default's signing secret, as a platform learns it: from {@code GET /v1/tenant}. */
    private static String secret() {
        return io.restassured.RestAssured.given().get("/v1/tenant").then().statusCode(200)
                .extract().jsonPath().getString("webhook_secret");
    }

    @Inject
    WebhookDeliveries deliveries;

    private HttpServer receiver;
    private final List<Received> received = Collections.synchronizedList(new ArrayList<>());
    private final AtomicInteger calls = new AtomicInteger();

    record Received(Map<String, String> headers, byte[] body, Instant at) {
    }

    @BeforeEach
    void startReceiver() throws IOException {
        receiver = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        // Each request on its own thread: the slow answer must not hold up the next attempt.
        receiver.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        receiver.createContext("/hook", exchange -> {
            byte[] body;
            try (InputStream in = exchange.getRequestBody()) {
                body = in.readAllBytes();
            }
            Map<String, String> headers = new java.util.HashMap<>();
            exchange.getRequestHeaders().forEach((name, values) -> headers.put(name.toLowerCase(java.util.Locale.ROOT), values.getFirst()));
            received.add(new Received(headers, body, Instant.now()));
            int call = calls.incrementAndGet();
            if (call == 1) {
                exchange.sendResponseHeaders(500, -1);
            } else if (call == 2) {
                try {
                    Thread.sleep(4_000); // past kiln.webhooks.attempt-timeout (PT2S in tests)
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                exchange.sendResponseHeaders(200, -1);
            } else {
                exchange.sendResponseHeaders(204, -1);
            }
            exchange.close();
        });
        receiver.start();
    }

    @AfterEach
    void stopReceiver() {
        receiver.stop(0);
    }

    @Test
    void aFailingReceiverGetsTheSameSignedDeliveryUntilItTakesIt() throws Exception {
        String url = "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook";
        String body = "{\"external_id\": \"webhook-e2e\", \"defaults\": {\"size\": \"1024x1024\", \"quality\": \"low\"},"
                + " \"webhook\": \"" + url + "\", \"items\": ["
                + "{\"id\": \"SKU-1\", \"prompt\": \"Studio photo of a teal mug\"},"
                + "{\"id\": \"SKU-2\", \"prompt\": \"Studio photo of a red mug\"}]}";
        String batchId = given().contentType(ContentType.JSON).header("Idempotency-Key", "webhook-" + UUID.randomUUID())
                .body(body).when().post("/v1/batches").then().statusCode(202).extract().path("id");

        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).until(() -> received.size() >= 3);

        List<Received> three = List.copyOf(received).subList(0, 3);
        String webhookId = three.getFirst().headers().get("webhook-id");
        assertThat(webhookId).startsWith("msg_");
        for (Received r : three) {
            assertThat(r.headers().get("webhook-id")).as("the same id on every attempt").isEqualTo(webhookId);
            assertThat(r.headers().get("content-type")).startsWith("application/json");
            String timestamp = r.headers().get("webhook-timestamp");
            assertThat(Math.abs(Long.parseLong(timestamp) - r.at().getEpochSecond()))
                    .as("within the spec's 5 minute tolerance").isLessThan(300);
            assertThat(WebhookSignerTest.verify(secret(), webhookId, timestamp, r.body(), r.headers().get("webhook-signature")))
                    .as("signature of attempt at " + r.at()).isTrue();
            assertThat(r.body()).isEqualTo(three.getFirst().body());
        }
        assertThat(Duration.between(three.get(0).at(), three.get(1).at())).as("retried after about 1 s").isLessThan(Duration.ofSeconds(10));

        JsonNode payload = KilnJson.MAPPER.readTree(three.getFirst().body());
        assertThat(payload.path("type").asText()).isEqualTo("batch.completed");
        JsonNode data = payload.path("data");
        assertThat(data.path("batch_id").asText()).isEqualTo(batchId);
        assertThat(data.path("state").asText()).isEqualTo("succeeded");
        assertThat(data.path("counts").path("succeeded").asInt()).isEqualTo(2);
        assertThat(data.path("usage").path("images").asLong()).isEqualTo(2);
        assertThat(data.path("manifest").asText()).isEqualTo("default/manifests/" + batchId + ".jsonl");

        // The delivery log, as the batch will show it: three attempts, the last one taken.
        await().atMost(Duration.ofSeconds(30)).until(() -> deliveries.forBatch(batchId).stream()
                .anyMatch(d -> d.state() == DeliveryState.SUCCEEDED));
        WebhookDelivery delivery = deliveries.forBatch(batchId).getFirst();
        assertThat(delivery.webhookId()).isEqualTo(webhookId);
        assertThat(delivery.attempts()).hasSize(3);
        assertThat(delivery.attempts().get(0).httpStatus()).isEqualTo(500);
        assertThat(delivery.attempts().get(1).httpStatus()).isNull();
        assertThat(delivery.attempts().get(1).error()).contains("no answer within 2000 ms");
        assertThat(delivery.attempts().get(2).httpStatus()).isEqualTo(204);

        // Sent again by hand: the same id, a fourth attempt.
        assertThat(deliveries.resend(batchId)).isTrue();
        await().atMost(Duration.ofSeconds(30)).until(() -> received.size() >= 4);
        assertThat(received.get(3).headers().get("webhook-id")).isEqualTo(webhookId);
        await().atMost(Duration.ofSeconds(30)).until(() -> deliveries.forBatch(batchId).getFirst().attempts().size() == 4);
        assertThat(deliveries.resend("b_unknown")).isFalse();

        assertThat(completedEvents(batchId)).as("kiln.batch.completed on kiln.status, once").isEqualTo(1);
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
