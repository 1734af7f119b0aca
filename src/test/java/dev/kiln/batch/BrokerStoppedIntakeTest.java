package dev.kiln.batch;

import dev.kiln.job.JobIds;
import dev.kiln.messaging.TransactionalPublisher;
import dev.kiln.testing.KilnStackResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.config.HttpClientConfig;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static dev.kiln.batch.AllOrNothingIntakeTest.header;
import static dev.kiln.batch.AllOrNothingIntakeTest.keyed;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;

/**
 * Fault suite (JUnit tag {@code faults}, {@code mvn verify -Pfaults}): the real broker is stopped
 * while a streamed catalogue's transaction is open, after every record was sent and before the
 * commit. The client gets 503 with Retry-After; once the broker is back, nothing of that attempt
 * is visible to read_committed readers, and the retry with the same Idempotency-Key is accepted
 * whole, every job staged exactly once.
 */
@Tag("faults")
@QuarkusTest
@WithTestResource(KilnStackResource.class)
class BrokerStoppedIntakeTest {

    private static final int ITEMS = 1_200;

    @Inject
    TransactionalPublisher transactions;

    @AfterEach
    void noHook() {
        transactions.beforeCommit(null);
    }

    @Test
    void aBrokerStoppedMidTransactionAnswers503AndLeavesNoPartialBatch() {
        String key = "broker-stop-" + UUID.randomUUID();
        String batchId = JobIds.batchIdFor("default", key);
        String body = catalogue();
        AtomicInteger stopped = new AtomicInteger();
        transactions.beforeCommit(transactionalId -> {
            if (stopped.getAndIncrement() == 0) {
                KilnStackResource.stopKafka();
            }
        });

        long start = System.nanoTime();
        Response refused = post(body, key);
        System.out.printf("FAULTS | intake | broker stopped before the commit: %d after %.1f s%n",
                refused.statusCode(), (System.nanoTime() - start) / 1e9);
        assertThat(stopped.get()).isEqualTo(1);
        assertThat(refused.statusCode()).as(refused.asString()).isEqualTo(503);
        assertThat(refused.header("Retry-After")).isNotBlank();
        assertThat(refused.contentType()).startsWith("application/problem+json");

        KilnStackResource.startKafkaAgain();
        // A client retries with the same key until Kafka takes the batch (503 while the api reconnects).
        await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofSeconds(2)).until(() -> {
            Response retry = post(body, key);
            assertThat(retry.statusCode()).as(retry.asString()).isIn(202, 503);
            return retry.statusCode() == 202;
        });

        List<ConsumerRecord<String, String>> chunks = keyed(batchId, "kiln.items", "read_committed");
        long staged = chunks.stream().mapToLong(r -> count(r.value(), "\"job_id\"")).sum();
        assertThat(staged).as("every job staged exactly once: nothing of the failed attempt shows").isEqualTo(ITEMS);
        Map<String, Long> statusTypes = keyed(batchId, "kiln.status", "read_committed").stream()
                .collect(Collectors.groupingBy(r -> header(r, "ce_type"), Collectors.counting()));
        assertThat(statusTypes).containsEntry("kiln.batch.created", 1L);

        given().post("/v1/batches/" + batchId + "/cancel").then().statusCode(202);
        await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() ->
                given().get("/v1/batches/" + batchId).then().statusCode(200)
                        .body("items", equalTo(ITEMS)).body("state", equalTo("cancelled")));
    }

    /**
     * Kafka's producer waits up to max.block.ms (30 s) for a commit the stopped broker never
     * answers, then for the abort: the 503 takes about a minute, past RestAssured's default.
     */
    private static Response post(String body, String key) {
        return given().config(RestAssured.config().httpClient(HttpClientConfig.httpClientConfig()
                        .setParam("http.socket.timeout", (int) Duration.ofMinutes(3).toMillis())))
                .contentType("application/x-ndjson").header("Idempotency-Key", key)
                .body(body.getBytes(StandardCharsets.UTF_8)).when().post("/v1/batches");
    }

    private static long count(String text, String needle) {
        long n = 0;
        for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
            n++;
        }
        return n;
    }

    private static String catalogue() {
        return "{\"batch\": {\"defaults\": {\"quality\": \"low\", \"size\": \"1024x1024\"}, \"priority\": \"bulk\"}}\n"
                + IntStream.range(0, ITEMS).mapToObj(i -> "{\"id\": \"STOP-" + i + "\", \"prompt\": \"broker stop " + i + "\"}")
                .collect(Collectors.joining("\n"));
    }
}
