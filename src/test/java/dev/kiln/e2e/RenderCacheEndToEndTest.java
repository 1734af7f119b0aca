package dev.kiln.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.testing.KilnStackResource;
import io.minio.MinioClient;
import io.minio.StatObjectArgs;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;

/**
 * The render cache on the real stack (broker, S3 server, simulator): a nightly catalogue of 40
 * items re-submitted under another Idempotency-Key with two prompts changed makes exactly two
 * provider calls, counted at the simulator's admin endpoint; its batch shows 38 cached items and
 * costs exactly what the two renders cost. The re-submission carries a {@code budget_usd} just above
 * the estimate of its two changed items: the dispatcher releases the 38 likely hits reserving
 * nothing, so the whole batch goes through. {@code cache: false} renders everything again.
 * Provider calls are counted among the simulator's received requests by this run's prompts, since
 * the simulator is shared with other test classes.
 */
@QuarkusTest
@WithTestResource(KilnStackResource.class)
class RenderCacheEndToEndTest {

    private static final int ITEMS = 40;
    private static final Set<Integer> CHANGED = Set.of(7, 31);
    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    MinioClient minio;

    @Test
    void aResubmittedCatalogueWithTwoPromptsChangedPaysForTwoRenders() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);

        long before = renderCount(run);
        String first = submitAndFinish(catalogue(run, false, null));
        long afterFirst = renderCount(run);
        assertThat(afterFirst - before).isEqualTo(ITEMS);
        JsonPath firstBatch = batch(first);
        assertThat(firstBatch.getLong("usage.cached")).isZero();

        // The dry run of the re-submission expects the 38 unchanged items from the cache and prices only the 2 others.
        JsonPath dryRun = given().contentType(ContentType.JSON).body(catalogue(run, true, null))
                .post("/v1/batches?dry_run=true").then().statusCode(200).extract().jsonPath();
        assertThat(dryRun.getInt("expected_cache_hits")).isEqualTo(ITEMS - CHANGED.size());
        // The two changed prompts are a little longer than the others, hence between 2 and 3 of 40 shares.
        double all = new BigDecimal(dryRun.getString("estimated_cost_usd.max")).doubleValue();
        assertThat(new BigDecimal(dryRun.getString("expected_cost_usd.max")).doubleValue())
                .isBetween(all * CHANGED.size() / ITEMS, all * (CHANGED.size() + 1) / ITEMS);
        assertThat(dryRun.getString("lane")).isEqualTo("standard");

        // A budget just above what the two changed items may cost. Were every item to reserve a job's
        // estimate, the batch would stop at its third release; the hits reserve nothing.
        BigDecimal budget = new BigDecimal(dryRun.getString("expected_cost_usd.max")).multiply(new BigDecimal("1.05"))
                .setScale(6, java.math.RoundingMode.UP);
        String second = submitAndFinish(catalogue(run, true, null, budget));
        long afterSecond = renderCount(run);
        assertThat(afterSecond - afterFirst).as("provider calls of the re-submission").isEqualTo(CHANGED.size());

        JsonPath secondBatch = batch(second);
        assertThat(secondBatch.getInt("counts.succeeded")).isEqualTo(ITEMS);
        assertThat(secondBatch.getLong("usage.cached")).isEqualTo(ITEMS - CHANGED.size());
        assertThat(secondBatch.getLong("usage.images")).isEqualTo(ITEMS);

        List<Map<String, Object>> items = given().get("/v1/batches/" + second + "/items?limit=100")
                .then().statusCode(200).extract().jsonPath().getList("items");
        assertThat(items).hasSize(ITEMS);
        BigDecimal renderedCost = BigDecimal.ZERO;
        int cached = 0;
        for (Map<String, Object> item : items) {
            int index = (Integer) item.get("index");
            @SuppressWarnings("unchecked")
            Map<String, Object> usage = (Map<String, Object>) item.get("usage");
            BigDecimal cost = new BigDecimal(usage.get("cost_usd").toString());
            if (CHANGED.contains(index)) {
                assertThat(item.get("cached")).as("item %d was rendered", index).isNull();
                assertThat(cost).isPositive();
                renderedCost = renderedCost.add(cost);
            } else {
                assertThat(item.get("cached")).as("item %d came from the cache", index).isEqualTo(true);
                assertThat(cost).isZero();
                assertThat(((Number) usage.get("output_tokens")).longValue()).isZero();
                cached++;
                assertCopiedServerSide(item, first, index);
            }
        }
        assertThat(cached).isEqualTo(ITEMS - CHANGED.size());
        assertThat(new BigDecimal(secondBatch.getString("usage.cost_usd"))).isEqualByComparingTo(renderedCost)
                .isLessThanOrEqualTo(budget);
        // The two renders cost what two renders of the first batch cost: the saving is 38 of 40.
        BigDecimal firstCost = new BigDecimal(firstBatch.getString("usage.cost_usd"));
        System.out.printf("render cache: first batch $%s for %d renders, re-submission $%s for %d renders (%.1f %% saved)%n",
                firstCost.toPlainString(), ITEMS, renderedCost.toPlainString(), CHANGED.size(),
                100 * (1 - renderedCost.doubleValue() / firstCost.doubleValue()));

        // cache: false renders the whole catalogue again, and keeps it out of the count of cached items.
        String third = submitAndFinish(catalogue(run, false, false));
        assertThat(renderCount(run) - afterSecond).as("provider calls with cache: false").isEqualTo(ITEMS);
        JsonPath thirdBatch = batch(third);
        assertThat(thirdBatch.getLong("usage.cached")).isZero();
        assertThat(new BigDecimal(thirdBatch.getString("usage.cost_usd"))).isEqualByComparingTo(firstCost);
    }

    /** The cached item's object is a copy of the first batch's object, under the new batch's key. */
    private void assertCopiedServerSide(Map<String, Object> item, String firstBatch, int index) throws Exception {
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> outputs = (List<Map<String, Object>>) item.get("outputs");
        assertThat(outputs).hasSize(1);
        String key = outputs.get(0).get("key").toString();
        assertThat(key).doesNotContain(firstBatch);
        var stat = minio.statObject(StatObjectArgs.builder().bucket("kiln").object(key).build());
        assertThat(stat.size()).isEqualTo(((Number) outputs.get(0).get("bytes")).longValue());
        String original = given().get("/v1/batches/" + firstBatch + "/items?limit=100").then().extract().jsonPath()
                .getString("items.find { it.index == " + index + " }.outputs[0].sha256");
        assertThat(outputs.get(0).get("sha256")).isEqualTo(original);
    }

    private static String catalogue(String run, boolean changed, Boolean cache) {
        return catalogue(run, changed, cache, null);
    }

    private static String catalogue(String run, boolean changed, Boolean cache, BigDecimal budget) {
        StringBuilder items = new StringBuilder();
        for (int i = 0; i < ITEMS; i++) {
            String prompt = "cache run " + run + ": product shot of mug " + i
                    + (changed && CHANGED.contains(i) ? ", now in blue" : "");
            items.append(i == 0 ? "" : ",").append("{\"id\":\"SKU-").append(i).append("\",\"prompt\":\"").append(prompt).append("\"}");
        }
        return "{" + (cache == null ? "" : "\"cache\":" + cache + ",")
                + (budget == null ? "" : "\"budget_usd\":" + budget.toPlainString() + ",")
                + "\"defaults\":{\"size\":\"1024x1024\",\"quality\":\"low\",\"output_format\":\"png\"},"
                + "\"items\":[" + items + "]}";
    }

    private static String submitAndFinish(String body) {
        String id = given().contentType(ContentType.JSON).header("Idempotency-Key", "cache-" + UUID.randomUUID()).body(body)
                .when().post("/v1/batches").then().statusCode(202).extract().path("id");
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500)).untilAsserted(() ->
                given().get("/v1/batches/" + id).then().statusCode(200).body("state", equalTo("succeeded")));
        return id;
    }

    private static JsonPath batch(String id) {
        return given().get("/v1/batches/" + id).then().statusCode(200).extract().jsonPath();
    }

    /** Image requests of this run the simulator answered with an image so far, from its admin endpoint. */
    private static long renderCount(String run) throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create(KilnStackResource.simulator().rootUrl() + "/simulator/received")).build(),
                HttpResponse.BodyHandlers.ofString());
        long count = 0;
        for (JsonNode request : JSON.readTree(response.body())) {
            if (request.path("prompt").asText("").startsWith("cache run " + run + ":") && request.path("status").asInt() == 200) {
                count++;
            }
        }
        return count;
    }
}
