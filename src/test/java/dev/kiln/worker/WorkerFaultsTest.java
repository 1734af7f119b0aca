package dev.kiln.worker;

import dev.kiln.job.ImageParameters;
import dev.kiln.messaging.KilnJson;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.messaging.Topics;
import dev.kiln.simulator.Fault;
import dev.kiln.simulator.SimulatorServer;
import dev.kiln.simulator.SimulatorSettings;
import dev.kiln.testing.KilnStackResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Each error class of the provider, produced by the simulator over HTTP, against the real broker
 * and S3 server: what is retried, what is not, and what never counts as an attempt.
 */
@QuarkusTest
@WithTestResource(KilnStackResource.class)
class WorkerFaultsTest {

    private static final Duration PATIENCE = Duration.ofSeconds(60);

    @AfterEach
    void healTheProvider() {
        SimulatorServer simulator = KilnStackResource.simulator();
        simulator.update(simulator.settings().toBuilder().noFaults().build());
    }

    @ParameterizedTest
    @EnumSource(value = Fault.class, names = {"SERVER_ERROR", "HANG", "MALFORMED_JSON", "TRUNCATED_B64", "WRONG_SIZE"})
    void aRetryableFaultIsRetriedAndTheJobSucceedsOnceTheProviderRecovers(Fault fault) {
        failEveryCallWith(fault);
        String job = submitOne("mug on a table, " + fault) + "-000000";

        // The failed attempt goes back to queued with the next attempt number, and is retried.
        await().atMost(PATIENCE).until(() -> job(job).getInt("attempt") >= 2);
        JsonPath retried = job(job);
        assertThat(retried.getString("error.code")).isNotBlank();
        assertThat(retried.getBoolean("error.retryable")).isTrue();

        healTheProvider();
        await().atMost(PATIENCE).until(() -> "succeeded".equals(job(job).getString("state")));
        JsonPath done = job(job);
        assertThat(done.getInt("outputs[0].width")).isEqualTo(1024);
        assertThat(done.getString("error")).as("a success clears the last error").isNull();
    }

    @Test
    void aFaultThatNeverEndsFailsTheJobAfterTheLastAttemptWithTheReason() {
        failEveryCallWith(Fault.SERVER_ERROR);
        String job = submitOne("a lamp that never renders") + "-000000";

        await().atMost(PATIENCE).until(() -> "failed".equals(job(job).getString("state")));
        JsonPath failed = job(job);
        assertThat(failed.getInt("attempt")).isEqualTo(3);
        assertThat(failed.getString("error.message")).contains("HTTP 500");
        assertThat(failed.getBoolean("error.retryable")).isFalse();
    }

    @Test
    void a429IsWaitedOutAndNeverCountsAsAnAttempt() throws InterruptedException {
        failEveryCallWith(Fault.RATE_LIMIT_WITHOUT_RETRY_AFTER);
        long limitedBefore = KilnStackResource.simulator().rateLimitedCount();
        String job = submitOne("a chair in a busy hour") + "-000000";

        await().atMost(PATIENCE).until(() -> KilnStackResource.simulator().rateLimitedCount() >= limitedBefore + 2);
        assertThat(job(job).getString("state")).isEqualTo("running");
        assertThat(job(job).getInt("attempt")).isEqualTo(1);

        healTheProvider();
        await().atMost(PATIENCE).until(() -> "succeeded".equals(job(job).getString("state")));
        assertThat(job(job).getInt("attempt")).as("429s are not attempts").isEqualTo(1);
    }

    @Test
    void aRedeliveredJobWhoseOutputExistsIsNotRenderedAgain() throws Exception {
        String batch = submitOne("a vase, rendered once");
        String jobId = batch + "-000000";
        await().atMost(PATIENCE).until(() -> "succeeded".equals(job(jobId).getString("state")));

        // The same command again, as Kafka would redeliver it after a crash before the commit.
        RenderJobRequested again = new RenderJobRequested(jobId, batch, "default", "SKU-1", 0, "a vase, rendered once",
                new ImageParameters("gpt-image-2", "1024x1024", "low", null, null, null, null, null, null),
                List.of(), null, Map.of(), 1, Instant.now());
        publish(again);

        long calls = callsForTheVase();
        Thread.sleep(3000);
        // Counted by this job's prompt: the simulator is shared, and work another test class left
        // queued may render meanwhile.
        assertThat(callsForTheVase()).as("no second call for the job's prompt").isEqualTo(calls);
        assertThat(job(jobId).getString("state")).isEqualTo("succeeded");
    }

    @Test
    void aRequestTheProviderRefusesAsInvalidFailsAtOnceWithItsCodeAndMessageAndIsNeverRetried() throws Exception {
        // Intake checks the same rules, so only a job from elsewhere (an older producer, a
        // hand-made command) can carry a size the provider refuses.
        String batch = submitOne("a valid neighbour");
        String jobId = batch + "-000001";
        String prompt = "a stool at an impossible size " + UUID.randomUUID();
        RenderJobRequested invalid = new RenderJobRequested(jobId, batch, "default", "SKU-2", 1, prompt,
                new ImageParameters("gpt-image-2", "1000x1000", "low", null, null, null, null, null, null),
                List.of(), null, Map.of(), 1, Instant.now());
        publish(invalid);

        await().atMost(PATIENCE).until(() -> given().get("/v1/jobs/" + jobId).statusCode() == 200
                && "failed".equals(job(jobId).getString("state")));
        JsonPath failed = job(jobId);
        assertThat(failed.getInt("attempt")).isEqualTo(1);
        assertThat(failed.getString("error.code")).isEqualTo("invalid_value");
        assertThat(failed.getString("error.message")).contains("size");
        assertThat(failed.getBoolean("error.retryable")).isFalse();
        Thread.sleep(2000);
        assertThat(KilnStackResource.simulator().received().stream().filter(r -> prompt.equals(r.prompt())))
                .as("one call, answered 400, never retried").singleElement()
                .satisfies(r -> assertThat(r.status()).isEqualTo(400));
    }

    private static void publish(RenderJobRequested job) throws Exception {
        dev.kiln.testing.DirectJobs.publish(job);
    }

    private static long callsForTheVase() {
        return KilnStackResource.simulator().received().stream()
                .filter(r -> r.prompt() != null && r.prompt().startsWith("a vase, rendered once"))
                .count();
    }

    private static void failEveryCallWith(Fault fault) {
        SimulatorServer simulator = KilnStackResource.simulator();
        SimulatorSettings settings = simulator.settings().toBuilder().noFaults().faultRate(fault, 1.0).hangMillis(10_000).build();
        simulator.update(settings);
    }

    private static String submitOne(String prompt) {
        String body = "{\"defaults\": {\"size\": \"1024x1024\", \"quality\": \"low\"}, \"items\": [{\"id\": \"SKU-1\", \"prompt\": \""
                + prompt + " " + UUID.randomUUID() + "\"}]}";
        return given().contentType(ContentType.JSON).body(body).post("/v1/batches").then().statusCode(202).extract().path("id");
    }

    private static JsonPath job(String id) {
        return given().get("/v1/jobs/" + id).then().statusCode(200).extract().jsonPath();
    }
}
