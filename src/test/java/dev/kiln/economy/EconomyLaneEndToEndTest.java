package dev.kiln.economy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.messaging.JobPublisher;
import dev.kiln.simulator.SimulatorSettings;
import dev.kiln.testing.KilnStackResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;

/**
 * The economy lane on the real stack: Kafka, the S3 server, and the simulator's Batch API over
 * HTTP (files, batches, output and error files). Counts come from the simulator's admin endpoint:
 * {@code batch_count} (provider batches created), {@code batch_request_count} (batch lines run)
 * and synchronous renders (the simulator's received requests for the catalogue's prompts).
 */
@QuarkusTest
@TestProfile(EconomyLaneEndToEndTest.FastLane.class)
@WithTestResource(KilnStackResource.class)
class EconomyLaneEndToEndTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<Integer> MODERATED = Set.of(4, 21);

    /** Groups gathered for a second and polled every 300 ms, so that a test takes seconds, not minutes. */
    public static class FastLane implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("kiln.economy.collect-window", "PT1S", "kiln.economy.poll-interval", "PT0.3S");
        }
    }

    @Inject
    EconomyLane lane;

    @Inject
    JobPublisher jobs;

    private SimulatorSettings saved;

    @BeforeEach
    void save() {
        saved = KilnStackResource.simulator().settings();
    }

    @AfterEach
    void restore() {
        KilnStackResource.simulator().update(saved);
    }

    @Test
    void thirtyItemsWithTwoModeratedEndTwentyEightSucceededAndTwoFailedAtHalfPrice() throws Exception {
        completionDelay("3s");
        String catalogue = catalogue("economy-30", 30, MODERATED);
        JsonPath dryRun = given().contentType(ContentType.JSON).body(catalogue).post("/v1/batches?dry_run=true")
                .then().statusCode(200).extract().jsonPath();
        assertThat(dryRun.getString("lane")).isEqualTo("economy");
        assertThat(new BigDecimal(dryRun.getString("lane_cost_usd.max")).doubleValue()).as("the dry run's economy cost")
                .isCloseTo(new BigDecimal(dryRun.getString("estimated_cost_usd.max")).doubleValue() / 2, org.assertj.core.data.Offset.offset(2e-6));
        JsonNode before = stats();
        String id = submit(catalogue);
        awaitState(id, "partially_failed");
        JsonNode after = stats();

        // Jobs reach the lane as the dispatcher releases them, so a catalogue may take a few groups.
        assertThat(delta(before, after, "batch_count")).as("provider batches created").isBetween(1L, 30L);
        assertThat(delta(before, after, "batch_request_count")).as("batch lines run").isEqualTo(30);
        assertEachJobSentOnce(id, 30);
        // Synchronous calls for this catalogue's prompts, not the simulator's render count: the
        // simulator is shared, and work another test class left queued may render meanwhile.
        String prefix = catalogue.substring(catalogue.indexOf("economy-30 "), catalogue.indexOf(": a mug"));
        assertThat(KilnStackResource.simulator().received().stream()
                .filter(r -> r.prompt() != null && r.prompt().startsWith(prefix)))
                .as("synchronous renders").isEmpty();

        JsonPath batch = given().get("/v1/batches/" + id).then().extract().jsonPath();
        assertThat(batch.getInt("counts.succeeded")).isEqualTo(28);
        assertThat(batch.getInt("counts.failed")).isEqualTo(2);

        BigDecimal full = BigDecimal.ZERO;
        BigDecimal charged = BigDecimal.ZERO;
        for (Map<String, Object> item : items(id)) {
            int index = (Integer) item.get("index");
            if (MODERATED.contains(index)) {
                assertThat(item.get("state")).isEqualTo("failed");
                @SuppressWarnings("unchecked")
                Map<String, Object> error = (Map<String, Object>) item.get("error");
                assertThat(error.get("code")).isEqualTo("moderation_blocked");
                continue;
            }
            assertThat(item.get("state")).as("item %d", index).isEqualTo("succeeded");
            @SuppressWarnings("unchecked")
            Map<String, Object> usage = (Map<String, Object>) item.get("usage");
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> outputs = (List<Map<String, Object>>) item.get("outputs");
            assertThat(outputs).hasSize(1);
            assertThat(outputs.get(0).get("width")).isEqualTo(1024);
            assertThat(((Number) outputs.get(0).get("bytes")).longValue()).isPositive();
            // The standard price of the same usage (kiln.price.*: $5 text, $8 image input, $30 output per million).
            BigDecimal standard = BigDecimal.valueOf(((Number) usage.get("text_input_tokens")).longValue() * 5L
                    + ((Number) usage.get("image_input_tokens")).longValue() * 8L
                    + ((Number) usage.get("output_tokens")).longValue() * 30L).divide(BigDecimal.valueOf(1_000_000));
            BigDecimal cost = new BigDecimal(usage.get("cost_usd").toString());
            assertThat(((Number) usage.get("output_tokens")).longValue()).isPositive();
            assertThat(cost).isEqualByComparingTo(standard.divide(BigDecimal.valueOf(2), 9, RoundingMode.HALF_UP));
            full = full.add(standard);
            charged = charged.add(cost);
        }
        BigDecimal batchCost = new BigDecimal(batch.getString("usage.cost_usd"));
        assertThat(batchCost).isEqualByComparingTo(charged);
        assertThat(batchCost.doubleValue()).isCloseTo(full.doubleValue() / 2, org.assertj.core.data.Offset.offset(1e-6));
        System.out.printf("economy lane: 30 items, 28 succeeded, 2 moderated; $%s charged against $%s at the standard price (%.1f %%)%n",
                batchCost.toPlainString(), full.toPlainString(), 100 * batchCost.doubleValue() / full.doubleValue());
    }

    @Test
    void aRestartedLaneReattachesToItsProviderBatchAndARedeliveredJobIsNotSubmittedAgain() throws Exception {
        completionDelay("8s");
        JsonNode before = stats();
        String id = submit(catalogue("economy-reattach", 6, Set.of()));
        await().atMost(Duration.ofSeconds(30)).until(() -> !lane.openProviderBatches().isEmpty());
        String providerBatch = lane.openProviderBatches().iterator().next();

        // The lane stops as a killed worker would: nothing of its state is written on the way out.
        lane.stop(null);
        assertThat(providerStatus(providerBatch)).isIn("validating", "in_progress");
        long createdBeforeTheStop = delta(before, stats(), "batch_count");
        lane.start(null);
        await().atMost(Duration.ofSeconds(30)).until(() -> lane.openProviderBatches().contains(providerBatch));

        // A job of the group delivered again (as after a crash before its offset was committed) is
        // recognised as part of the open provider batch and not sent again.
        RenderJobRequested again = lane.log().open().values().stream()
                .filter(g -> providerBatch.equals(g.providerBatchId())).findFirst().orElseThrow().jobs().get(0);
        jobs.publish(again).await().atMost(Duration.ofSeconds(10));

        awaitState(id, "succeeded");
        JsonNode after = stats();
        // Jobs still arriving at the stop may form new groups after it; none is sent twice.
        assertThat(delta(before, after, "batch_count")).as("provider batches created").isBetween(createdBeforeTheStop, 6L);
        assertThat(delta(before, after, "batch_request_count")).as("batch lines run").isEqualTo(6);
        assertEachJobSentOnce(id, 6);
        assertThat(providerStatus(providerBatch)).as("the batch open at the stop, polled by the restarted lane").isEqualTo("completed");
        System.out.printf("economy lane reattach: provider batch %s was open at the stop (%d created by then), reattached and completed; "
                + "6 lines run for 6 jobs%n", providerBatch, createdBeforeTheStop);
        for (Map<String, Object> item : items(id)) {
            assertThat(item.get("state")).isEqualTo("succeeded");
        }
    }

    @Test
    void cancellingTheBatchCancelsTheProviderBatchKeepsWhatCameBackAndCancelsTheRest() throws Exception {
        completionDelay("20s");
        JsonNode before = stats();
        String id = submit(catalogue("economy-cancel", 10, Set.of()));
        await().atMost(Duration.ofSeconds(30)).until(() -> !lane.openProviderBatches().isEmpty());
        String providerBatch = lane.openProviderBatches().iterator().next();
        await().atMost(Duration.ofSeconds(30)).until(() -> delta(before, stats(), "batch_request_count") >= 1);

        given().post("/v1/batches/" + id + "/cancel").then().statusCode(202);
        awaitState(id, "cancelled");
        JsonNode after = stats();
        long run = delta(before, after, "batch_request_count");
        assertThat(providerStatus(providerBatch)).isEqualTo("cancelled");
        assertThat(run).as("lines the provider ran before the cancel").isBetween(1L, 9L);

        JsonPath batch = given().get("/v1/batches/" + id).then().extract().jsonPath();
        assertThat(batch.getLong("counts.succeeded")).as("results that came back are kept").isEqualTo(run);
        assertThat(batch.getLong("counts.cancelled")).isEqualTo(10 - run);
        System.out.printf("economy lane cancel: provider batch %s cancelled after %d of 10 lines; %d kept, %d cancelled%n",
                providerBatch, run, run, 10 - run);
    }

    /** Every job of Kiln batch {@code id} reached the provider exactly once, across all provider batches. */
    private static void assertEachJobSentOnce(String id, int jobs) throws Exception {
        Map<String, Long> sent = new java.util.TreeMap<>();
        for (JsonNode line : get(KilnStackResource.simulator().rootUrl() + "/simulator/batch-requests")) {
            String customId = line.path("custom_id").asText();
            if (customId.startsWith(id + "-")) {
                sent.merge(customId, 1L, Long::sum);
            }
        }
        assertThat(sent).hasSize(jobs);
        assertThat(sent.values()).allMatch(count -> count == 1);
    }

    private static void completionDelay(String delay) {
        KilnStackResource.simulator().update(KilnStackResource.simulator().settings()
                .withSetting("SIMULATOR_BATCH_COMPLETION_DELAY", delay));
    }

    private static String catalogue(String name, int count, Set<Integer> moderated) {
        String run = UUID.randomUUID().toString().substring(0, 8);
        StringBuilder items = new StringBuilder();
        for (int i = 0; i < count; i++) {
            String prompt = name + " " + run + ": a mug, photo " + i + (moderated.contains(i) ? " FORBIDDEN" : "");
            items.append(i == 0 ? "" : ",").append("{\"id\":\"SKU-").append(i).append("\",\"prompt\":\"").append(prompt).append("\"}");
        }
        return "{\"lane\":\"economy\",\"cache\":false,\"defaults\":{\"size\":\"1024x1024\",\"quality\":\"low\"},\"items\":["
                + items + "]}";
    }

    private static String submit(String body) {
        return given().contentType(ContentType.JSON).header("Idempotency-Key", "economy-" + UUID.randomUUID()).body(body)
                .post("/v1/batches").then().statusCode(202).extract().path("id");
    }

    private static void awaitState(String id, String state) {
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500)).untilAsserted(() ->
                given().get("/v1/batches/" + id).then().statusCode(200).body("state", equalTo(state)));
    }

    private static List<Map<String, Object>> items(String id) {
        return given().get("/v1/batches/" + id + "/items?limit=100").then().statusCode(200).extract().jsonPath().getList("items");
    }

    private static long delta(JsonNode before, JsonNode after, String field) {
        return after.path(field).asLong() - before.path(field).asLong();
    }

    private static JsonNode stats() throws Exception {
        return get(KilnStackResource.simulator().rootUrl() + "/simulator/stats");
    }

    private static String providerStatus(String providerBatch) throws Exception {
        return get(KilnStackResource.simulator().baseUrl() + "/batches/" + providerBatch).path("status").asText();
    }

    private static JsonNode get(String url) throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url))
                .header("Authorization", "Bearer " + KilnStackResource.PROVIDER_API_KEY).build(), HttpResponse.BodyHandlers.ofString());
        return JSON.readTree(response.body());
    }
}
