package dev.kiln.e2e;

import dev.kiln.job.JobIds;
import dev.kiln.simulator.ReceivedRequest;
import dev.kiln.simulator.SimulatorSettings;
import dev.kiln.testing.KilnStackResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.UUID;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;

/**
 * A client's retry of a failed job, end to end on the real broker, S3 server and simulator: an
 * item refused by moderation ends {@code failed}; once the provider lets its prompt through, a
 * retry (of the job, or of its batch) renders it again, exactly once more, at a later attempt,
 * and the batch ends {@code succeeded}.
 */
@QuarkusTest
@WithTestResource(KilnStackResource.class)
class JobRetryEndToEndTest {

    /** Generous for two low-quality images and one retry on a loaded machine. */
    private static final Duration BATCH = Duration.ofSeconds(60);

    private SimulatorSettings saved;
    private String run;

    @BeforeEach
    void saveSimulator() {
        saved = KilnStackResource.simulator().settings();
        run = UUID.randomUUID().toString().substring(0, 8);
    }

    @AfterEach
    void restoreSimulator() {
        KilnStackResource.simulator().update(saved);
    }

    @Test
    void aRetriedFailedJobRendersOnceMore() {
        String batch = submitWithOneRefusedItem();
        String job = JobIds.jobId(batch, 0);

        allowTheRefusedPrompt();
        given().post("/v1/jobs/" + job + "/retry").then().statusCode(202).body("jobs", equalTo(1));

        assertRenderedOnceMore(batch, job);
    }

    @Test
    void aBatchRetryRendersItsFailedJobOnceMore() {
        String batch = submitWithOneRefusedItem();
        String job = JobIds.jobId(batch, 0);

        allowTheRefusedPrompt();
        given().post("/v1/batches/" + batch + "/retry").then().statusCode(202).body("jobs", equalTo(1));

        assertRenderedOnceMore(batch, job);
    }

    /** Two items, the first refused by the simulator's moderation: the batch ends partially failed. */
    private String submitWithOneRefusedItem() {
        String body = """
                {"defaults":{"size":"1024x1024","quality":"low"},"items":[
                 {"id":"REFUSED","prompt":"%1$s"},
                 {"id":"FINE","prompt":"%2$s"}]}""".formatted(prompt("A " + saved.moderationMarker() + " mug"), prompt("A green mug"));
        String batch = given().contentType(ContentType.JSON).body(body).post("/v1/batches")
                .then().statusCode(202).extract().path("id");
        await().atMost(BATCH).pollInterval(Duration.ofMillis(300)).until(() -> "partially_failed".equals(state(batch)));
        given().get("/v1/jobs/" + JobIds.jobId(batch, 0)).then().statusCode(200)
                .body("state", equalTo("failed")).body("attempt", equalTo(1)).body("error.code", equalTo("moderation_blocked"));
        assertThat(callsFor(0)).as("the refused item's calls before the retry").hasSize(1);
        return batch;
    }

    /** The provider now lets the prompt through, so the retried item can succeed. */
    private void allowTheRefusedPrompt() {
        KilnStackResource.simulator().update(saved.withSetting("SIMULATOR_MODERATION_MARKER", "NEVER-" + UUID.randomUUID()));
    }

    private void assertRenderedOnceMore(String batch, String job) {
        await().atMost(BATCH).pollInterval(Duration.ofMillis(300)).until(() -> "succeeded".equals(state(batch)));
        JsonPath retried = given().get("/v1/jobs/" + job).then().statusCode(200).extract().jsonPath();
        assertThat(retried.getString("state")).isEqualTo("succeeded");
        assertThat(retried.getInt("attempt")).isGreaterThanOrEqualTo(2);
        List<ReceivedRequest> calls = callsFor(0);
        assertThat(calls).as("the refused item's calls").hasSize(2);
        assertThat(calls.get(1).accepted()).isTrue();
        assertThat(callsFor(1)).as("the fine item is not rendered again").hasSize(1);
        given().post("/v1/jobs/" + job + "/retry").then().statusCode(409);
        given().post("/v1/batches/" + batch + "/retry").then().statusCode(409);
    }

    private String prompt(String text) {
        return "job retry e2e " + run + ": " + text;
    }

    private List<ReceivedRequest> callsFor(int item) {
        String prompt = item == 0 ? prompt("A " + saved.moderationMarker() + " mug") : prompt("A green mug");
        return KilnStackResource.simulator().received().stream().filter(r -> prompt.equals(r.prompt())).toList();
    }

    private static String state(String batchId) {
        return given().get("/v1/batches/" + batchId).then().extract().path("state");
    }
}
