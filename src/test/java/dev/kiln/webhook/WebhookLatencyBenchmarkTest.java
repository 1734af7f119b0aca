package dev.kiln.webhook;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.messaging.KilnJson;
import dev.kiln.testing.KilnStackResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.RestAssured;
import io.restassured.http.ContentType;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * How long a platform waits to hear that work ended, on the real stack (broker, S3 server, simulator
 * over HTTP), with the webhook settings as shipped (tick PT0.25S, attempt timeout PT15S, grace PT30S):
 * <ul>
 *   <li>webhook: from a batch's last job ending ({@code completed_at}, the time of that job's final
 *       event) to the {@code batch.completed} request reaching a receiver on loopback, for
 *       {@value #BATCHES} batches of {@value #ITEMS_PER_BATCH} items submitted
 *       {@value #IN_PARALLEL} at a time;</li>
 *   <li>event: from a job's final event ({@code at}) to its arrival on an SSE client watching a
 *       {@value #STREAMED_ITEMS}-item batch live, at the same time.</li>
 * </ul>
 * Prints {@code BENCHMARK | …} lines, appends them to {@code target/benchmark-results.md}, and fails
 * above the targets (p99 ≤ 2 s for each). Run with {@code mvn verify -Pbench -Dtest=WebhookLatencyBenchmarkTest}.
 */
@QuarkusTest
@TestProfile(WebhookLatencyBenchmarkTest.ShippedWebhookSettings.class)
@WithTestResource(KilnStackResource.class)
@Tag("benchmark")
class WebhookLatencyBenchmarkTest {

    private static final int BATCHES = 100;
    private static final int ITEMS_PER_BATCH = 5;
    private static final int IN_PARALLEL = 10;
    private static final int STREAMED_ITEMS = 300;
    private static final Duration TARGET_P99 = Duration.ofSeconds(2);

    /** The webhook settings as shipped (the test profile shortens them). */
    public static class ShippedWebhookSettings implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("kiln.webhooks.tick", "PT0.25S",
                    "kiln.webhooks.attempt-timeout", "PT15S",
                    "kiln.webhooks.outcome-grace", "PT30S",
                    "kiln.webhooks.retry-schedule", "PT0S,PT5S,PT5M,PT30M,PT2H,PT5H,PT10H,PT10H");
        }
    }

    @Test
    void batchCompletedWebhooksAndJobEventsReachTheirClientsWithinTheTarget() throws Exception {
        try (WebhookReceiver receiver = WebhookReceiver.start(call -> 204);
             ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            String streamed = submit(null, STREAMED_ITEMS, "stream");
            Future<List<Long>> eventLatencies = pool.submit(() -> streamLatencies(streamed));

            List<Future<String>> submitted = new ArrayList<>();
            java.util.concurrent.Semaphore slots = new java.util.concurrent.Semaphore(IN_PARALLEL);
            for (int b = 0; b < BATCHES; b++) {
                slots.acquire();
                int n = b;
                submitted.add(pool.submit(() -> {
                    try {
                        return submit(receiver.url(), ITEMS_PER_BATCH, "hook-" + n);
                    } finally {
                        slots.release();
                    }
                }));
            }
            for (Future<String> f : submitted) {
                f.get();
            }
            await().atMost(Duration.ofMinutes(5)).pollInterval(Duration.ofMillis(500))
                    .until(() -> receiver.received().stream().map(WebhookReceiver.Received::webhookId).distinct().count() >= BATCHES);

            // The first arrival of each webhook-id: a later one is a duplicate (at least once), counted apart.
            Map<String, WebhookReceiver.Received> firsts = new java.util.LinkedHashMap<>();
            receiver.received().forEach(r -> firsts.putIfAbsent(r.webhookId(), r));
            int duplicates = receiver.received().size() - firsts.size();
            List<Long> webhook = new ArrayList<>();
            for (WebhookReceiver.Received r : firsts.values()) {
                JsonNode data = KilnJson.MAPPER.readTree(r.body()).path("data");
                webhook.add(Duration.between(Instant.parse(data.path("completed_at").asText()), r.at()).toMillis());
            }
            List<Long> events = eventLatencies.get();

            int third = events.size() / 3;
            List<String> lines = List.of(
                    figure("webhook batch.completed, last job end -> receiver (first arrival of each webhook-id; "
                            + duplicates + " duplicate requests)", webhook),
                    figure("SSE job final event, event time -> client", events),
                    // By thirds of the stream: a stream that falls behind shows a growing tail.
                    figure("SSE, first third of the stream", events.subList(0, third)),
                    figure("SSE, last third of the stream", events.subList(events.size() - third, events.size())));
            lines.forEach(System.out::println);
            Path results = Path.of("target", "benchmark-results.md");
            Files.writeString(results, String.join("\n", lines) + "\n", StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);

            assertThat(webhook).hasSize(BATCHES);
            assertThat(events).hasSize(STREAMED_ITEMS);
            assertThat(percentile(webhook, 99)).as("webhook p99 ms").isLessThanOrEqualTo(TARGET_P99.toMillis());
            assertThat(percentile(events, 99)).as("SSE p99 ms").isLessThanOrEqualTo(TARGET_P99.toMillis());
        }
    }

    private static String figure(String what, List<Long> millis) {
        return "BENCHMARK | %s | n=%d | p50 %d ms | p99 %d ms | max %d ms | target p99 <= %d ms".formatted(what,
                millis.size(), percentile(millis, 50), percentile(millis, 99), Collections.max(millis), TARGET_P99.toMillis());
    }

    private static long percentile(List<Long> values, int p) {
        List<Long> sorted = values.stream().sorted().toList();
        int rank = (int) Math.ceil(p / 100.0 * sorted.size());
        return sorted.get(Math.max(0, rank - 1));
    }

    /**
     * Watches the batch live; for each job's final event (succeeded, or failed when a loaded machine
     * ran a render out of attempts), how long after its time it arrived.
     */
    private static List<Long> streamLatencies(String batchId) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<Stream<String>> response = http.send(HttpRequest.newBuilder(
                        URI.create(RestAssured.baseURI + ":" + RestAssured.port + "/v1/batches/" + batchId + "/events"))
                .header("Accept", "text/event-stream").build(), HttpResponse.BodyHandlers.ofLines());
        List<Long> latencies = new ArrayList<>();
        try (Stream<String> lines = response.body()) {
            Iterator<String> it = lines.iterator();
            String type = null;
            while (it.hasNext()) {
                String line = it.next();
                if (line.startsWith("event:")) {
                    type = line.substring(6).trim();
                } else if (line.startsWith("data:") && ("kiln.job.succeeded".equals(type) || "kiln.job.failed".equals(type))) {
                    Instant at = Instant.parse(KilnJson.MAPPER.readTree(line.substring(5).trim()).path("at").asText());
                    latencies.add(Duration.between(at, Instant.now()).toMillis());
                } else if (line.isEmpty()) {
                    type = null;
                }
            }
        }
        return latencies;
    }

    private static String submit(String webhook, int items, String tag) {
        StringBuilder body = new StringBuilder("{\"defaults\": {\"size\": \"1024x1024\", \"quality\": \"low\"},");
        if (webhook != null) {
            body.append(" \"webhook\": \"").append(webhook).append("\",");
        }
        body.append(" \"items\": [");
        String run = UUID.randomUUID().toString();
        for (int i = 0; i < items; i++) {
            body.append(i == 0 ? "" : ",").append("{\"id\": \"SKU-").append(i).append("\", \"prompt\": \"Mug ")
                    .append(tag).append(' ').append(i).append(' ').append(run).append("\"}");
        }
        body.append("]}");
        return given().contentType(ContentType.JSON).body(body.toString()).post("/v1/batches")
                .then().statusCode(202).extract().path("id");
    }
}
