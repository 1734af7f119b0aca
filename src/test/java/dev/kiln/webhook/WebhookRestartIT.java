package dev.kiln.webhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.testing.KilnProcess;
import dev.kiln.testing.ProcessStack;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A webhook delivery survives a crash of the api process between two attempts: the packaged
 * application runs as api, dispatcher and worker processes on a real broker, S3 server and the
 * simulator; the receiver is down (503) for the first attempt, the api is killed with SIGKILL once
 * the delivery log records that attempt, the receiver comes back while the api is down, and the
 * restarted api sends the same delivery (same {@code webhook-id}, same body, a valid signature),
 * which the receiver takes exactly once.
 */
class WebhookRestartIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private static ProcessStack stack;

    @BeforeAll
    static void startStack() throws IOException {
        stack = ProcessStack.start(Map.of(
                "kiln.webhooks.allow-private-addresses", "true",
                // Its own state folder, kept by the restarted api as a pod's volume would be.
                "kiln.webhooks.state-dir", Files.createTempDirectory("kiln-webhook-restart").toString(),
                "kiln.webhooks.retry-schedule", "PT0S,PT3S,PT3S,PT5S,PT10S,PT30S,PT60S,PT60S",
                "kiln.webhooks.attempt-timeout", "PT2S",
                "kiln.webhooks.outcome-grace", "PT5S",
                // One root for the secrets, so that the restarted api signs with the same secret.
                "kiln.auth.secrets-key", "test-secrets-webhook-restart-0123456789abcdef"));
        stack.startWorkers(1, i -> "webhook-worker", i -> Map.of(), List.of("-Xmx384m", "-XX:TieredStopAtLevel=1"));
    }

    @AfterAll
    static void stopStack() {
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    void aDeliveryPendingWhenTheApiCrashesArrivesAfterTheRestartWithTheSameWebhookId() throws Exception {
        AtomicBoolean up = new AtomicBoolean(false);
        List<Integer> answers = java.util.Collections.synchronizedList(new ArrayList<>());
        try (WebhookReceiver receiver = WebhookReceiver.start(call -> {
            int status = up.get() ? 204 : 503;
            answers.add(status);
            return status;
        })) {
            String secret = get(stack.api(), "/v1/tenant").path("webhook_secret").asText();
            String batchId = submit(receiver.url());

            // The first attempt fails and the delivery log records it, with the next attempt due.
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200)).until(() ->
                    delivery(batchId).path("attempts").size() >= 1);
            JsonNode before = delivery(batchId);
            assertThat(before.path("attempts").get(0).path("http_status").asInt()).isEqualTo(503);
            String webhookId = before.path("webhook_id").asText();

            KilnProcess restarted = restartWhileDown(up);
            assertThat(restarted.isAlive()).isTrue();

            await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofMillis(200)).until(() -> answers.contains(204));
            // A little longer: a duplicate would come now, if at all.
            ProcessStack.sleep(Duration.ofSeconds(5));

            List<WebhookReceiver.Received> all = receiver.received();
            assertThat(all).as("every request is this delivery").allSatisfy(r -> {
                assertThat(r.webhookId()).isEqualTo(webhookId);
                assertThat(r.body()).isEqualTo(all.getFirst().body());
                assertThat(r.verifies(secret)).as("signature at " + r.at()).isTrue();
            });
            assertThat(answers.stream().filter(s -> s == 204)).as("taken exactly once").hasSize(1);
            assertThat(JSON.readTree(all.getFirst().body()).path("data").path("batch_id").asText()).isEqualTo(batchId);

            await().atMost(Duration.ofSeconds(30)).until(() -> "succeeded".equals(delivery(batchId).path("state").asText()));
            JsonNode after = delivery(batchId);
            assertThat(after.path("webhook_id").asText()).isEqualTo(webhookId);
            List<Integer> numbers = new ArrayList<>();
            after.path("attempts").forEach(a -> numbers.add(a.path("number").asInt()));
            assertThat(numbers).as("attempts numbered without a gap across the restart")
                    .isEqualTo(java.util.stream.IntStream.rangeClosed(1, numbers.size()).boxed().toList());
            assertThat(after.path("attempts").get(0).path("http_status").asInt()).isEqualTo(503);
            assertThat(after.path("attempts").get(numbers.size() - 1).path("http_status").asInt()).isEqualTo(204);
        }
    }

    /** Kills the api, lets the next attempt fall due while it is down, brings the receiver back, restarts the api. */
    private static KilnProcess restartWhileDown(AtomicBoolean receiverUp) {
        stack.api().kill();
        ProcessStack.sleep(Duration.ofSeconds(4));
        receiverUp.set(true);
        return stack.restartApi("api-restarted");
    }

    private static JsonNode delivery(String batchId) {
        return get(stack.api(), "/v1/batches/" + batchId).path("webhook").path("deliveries").path(0);
    }

    private static String submit(String webhook) throws IOException, InterruptedException {
        String body = "{\"defaults\": {\"size\": \"1024x1024\", \"quality\": \"low\"}, \"webhook\": \"" + webhook + "\","
                + " \"items\": [{\"id\": \"SKU-1\", \"prompt\": \"Studio photo of a teal mug, restart\"},"
                + " {\"id\": \"SKU-2\", \"prompt\": \"Studio photo of a red mug, restart\"}]}";
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(stack.api().url() + "/v1/batches"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(202);
        return JSON.readTree(response.body()).path("id").asText();
    }

    private static JsonNode get(KilnProcess api, String path) {
        try {
            HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(api.url() + path))
                    .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).as(path + ": " + response.body()).isEqualTo(200);
            return JSON.readTree(response.body());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
