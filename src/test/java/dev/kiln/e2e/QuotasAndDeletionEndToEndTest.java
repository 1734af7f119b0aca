package dev.kiln.e2e;

import dev.kiln.api.Problem;
import dev.kiln.simulator.ReceivedRequest;
import dev.kiln.simulator.SimulatorSettings;
import dev.kiln.testing.KilnStackResource;
import io.minio.ListObjectsArgs;
import io.minio.MinioClient;
import io.minio.Result;
import io.minio.messages.Item;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import jakarta.inject.Inject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tenant quotas, {@code DELETE /v1/batches/{id}} and {@code KILN_RETENTION} on the real stack
 * (Kafka broker, S3 server, simulator over HTTP), keys on for two tenants. The admin API sets
 * acme's quotas; the simulator's latency keeps acme's images pending while intake counts them.
 * The retention here is {@value #RETENTION_SECONDS} s, swept every second.
 */
@QuarkusTest
@TestProfile(QuotasAndDeletionEndToEndTest.ShortRetention.class)
@WithTestResource(KilnStackResource.class)
class QuotasAndDeletionEndToEndTest {

    static final String KEY_A = "test-acme-quota-key-0123456789abcdef";
    static final String KEY_B = "test-globex-quota-key-0123456789abcdef";
    static final String ADMIN = "test-admin-quota-key-0123456789abcdef";
    static final int RETENTION_SECONDS = 20;

    /** Keys for acme and globex, the write rate off, a short retention swept every second, two calls in flight. */
    public static class ShortRetention implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of(
                    "kiln.auth.api-keys", "acme=" + KEY_A + ",globex=" + KEY_B,
                    "kiln.auth.admin-api-key", ADMIN,
                    "kiln.auth.secrets-key", "test-secrets-quota-root-0123456789abcdefghij",
                    "kiln.auth.rate-limit.requests-per-second", "0",
                    "kiln.retention.period", "PT" + RETENTION_SECONDS + "S",
                    "kiln.retention.sweep-interval", "PT1S",
                    // Two calls at a time: a batch's images stay pending for seconds whatever the machine's load.
                    "kiln.worker.max-in-flight", "2");
        }
    }

    @Inject
    MinioClient minio;

    private SimulatorSettings saved;

    @AfterEach
    void restoreSimulator() {
        if (saved != null) {
            KilnStackResource.simulator().update(saved);
            saved = null;
        }
    }

    private void slowSimulator(long millis) {
        saved = KilnStackResource.simulator().settings();
        KilnStackResource.simulator().update(saved.withSetting("SIMULATOR_LATENCY_LOW_MS", Long.toString(millis))
                .withSetting("SIMULATOR_LATENCY_LOW_JITTER_MS", "0"));
    }

    @Test
    void quotasRefuseWhatIsOverThemAndADeleteCancelsWhatIsPendingAndFreesTheQuota() throws Exception {
        given().header("Authorization", "Bearer " + ADMIN).contentType("application/json")
                .body("{\"max_items_per_batch\": 30, \"max_pending_images\": 40}")
                .patch("/v1/admin/tenants/acme").then().statusCode(200);

        // Over max_items_per_batch: a 400 naming items, for the dry run too.
        String prefix = "quota-" + UUID.randomUUID().toString().substring(0, 8);
        for (String path : List.of("/v1/batches", "/v1/batches?dry_run=true")) {
            JsonPath tooMany = as(KEY_A).contentType("application/json").body(catalogue(prefix + "-x", 31))
                    .post(path).then().statusCode(400).contentType(Problem.MEDIA_TYPE).extract().jsonPath();
            assertThat(tooMany.getString("errors[0].field")).isEqualTo("items");
            assertThat(tooMany.getString("errors[0].reason")).contains("at most 30", "max_items_per_batch");
        }

        // Well below the tests' 5 s provider timeout for low quality: 30 images take 30 s at two in flight.
        slowSimulator(2_000);
        String first = submit(KEY_A, prefix + "-1", 30);
        assertThat(pendingImages(KEY_A)).isEqualTo(30);

        // 30 pending + 11 > 40: 429 naming the quota, with Retry-After; nothing is enqueued.
        int listed = batches(KEY_A).size();
        Response over = as(KEY_A).contentType("application/json").body(catalogue(prefix + "-2", 11)).post("/v1/batches");
        assertThat(over.statusCode()).isEqualTo(429);
        assertThat(over.contentType()).isEqualTo(Problem.MEDIA_TYPE);
        assertThat(Long.parseLong(over.header("Retry-After"))).isPositive();
        JsonPath problem = over.jsonPath();
        assertThat(problem.getString("type")).isEqualTo("urn:kiln:problem:quota-exceeded");
        assertThat(problem.getInt("status")).isEqualTo(429);
        assertThat(problem.getString("errors[0].field")).isEqualTo("max_pending_images");
        assertThat(problem.getString("detail")).contains("30 are pending", "40");
        assertThat(batches(KEY_A)).hasSize(listed);

        // Up to the quota passes; another tenant's quota is its own.
        String third = submit(KEY_A, prefix + "-3", 10);
        assertThat(pendingImages(KEY_A)).isEqualTo(40);
        String globex = submit(KEY_B, prefix + "-b", 2);

        // Tenant B cannot delete A's batch: 404, and A's batch is untouched.
        as(KEY_B).delete("/v1/batches/" + first).then().statusCode(404).contentType(Problem.MEDIA_TYPE);
        as(KEY_A).get("/v1/batches/" + first).then().statusCode(200);

        // A deletes its running batch: 204, then 404 everywhere, and its images no longer count.
        int calledBefore = calls(prefix + "-1").size();
        as(KEY_A).delete("/v1/batches/" + first).then().statusCode(204);
        for (String path : List.of("/v1/batches/" + first, "/v1/batches/" + first + "/items",
                "/v1/jobs/" + first + "-000000", "/v1/batches/" + first + "/manifest", "/v1/batches/" + first + "/events")) {
            as(KEY_A).get(path).then().statusCode(404);
        }
        as(KEY_A).delete("/v1/batches/" + first).then().statusCode(404);
        assertThat(batches(KEY_A)).doesNotContain(first).contains(third);
        assertThat(pendingImages(KEY_A)).isLessThanOrEqualTo(10);
        submit(KEY_A, prefix + "-2", 11);
        // globex's batch is not touched by acme's delete.
        as(KEY_B).get("/v1/batches/" + globex).then().statusCode(200);

        // What was pending never reaches the provider; what was in flight ends (before the third
        // batch's calls, which wait for the two slots), and its objects are deleted again by the sweep.
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofSeconds(1))
                .until(() -> "succeeded".equals(as(KEY_A).get("/v1/batches/" + third).path("state")));
        List<ReceivedRequest> calls = calls(prefix + "-1");
        assertThat(calls.size()).as("provider calls of the deleted batch, %d at the delete", calledBefore)
                .isLessThan(30 / 2);
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofSeconds(1))
                .until(() -> objects("acme/" + first + "/").isEmpty());
        assertThat(objects("acme/manifests/" + first + ".jsonl")).isEmpty();
        assertThat(calls(prefix + "-1")).hasSameSizeAs(calls);
        as(KEY_A).get("/v1/batches/" + first).then().statusCode(404);
    }

    @Test
    void aDeletedBatchLosesItsObjectsAndManifestAndAnEndedOneIsDeletedAfterTheRetention() throws Exception {
        String prefix = "keep-" + UUID.randomUUID().toString().substring(0, 8);
        String deleted = submit(KEY_B, prefix + "-d", 3);
        String kept = submit(KEY_B, prefix + "-k", 2);
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300))
                .until(() -> "succeeded".equals(as(KEY_B).get("/v1/batches/" + deleted).path("state"))
                        && "succeeded".equals(as(KEY_B).get("/v1/batches/" + kept).path("state")));
        long ended = System.nanoTime();
        await().atMost(Duration.ofSeconds(10)).until(() -> !objects("globex/manifests/" + deleted + ".jsonl").isEmpty());
        // Each output and its thumbnail ({index}.thumb.{ext}).
        assertThat(objects("globex/" + deleted + "/")).hasSize(6);
        String job = deleted + "-000001";
        String key = as(KEY_B).get("/v1/jobs/" + job).path("outputs[0].key");

        // Another tenant's delete is a 404; the owner's deletes outputs, manifest and view entries.
        as(KEY_A).delete("/v1/batches/" + deleted).then().statusCode(404);
        as(KEY_B).delete("/v1/batches/" + deleted).then().statusCode(204);
        assertThat(objects("globex/" + deleted + "/")).isEmpty();
        assertThat(objects("globex/manifests/" + deleted + ".jsonl")).isEmpty();
        as(KEY_B).get("/v1/jobs/" + job).then().statusCode(404);
        as(KEY_B).get("/v1/batches/" + deleted + "/items/" + prefix + "-d-1").then().statusCode(404);
        assertThat(batches(KEY_B)).doesNotContain(deleted).contains(kept);
        // The object key cannot be referenced any more: it does not exist.
        as(KEY_B).contentType("application/json").body("{\"defaults\": {\"size\": \"1024x1024\", \"quality\": \"low\"},"
                        + " \"items\": [{\"id\": \"r\", \"prompt\": \"edit it\", \"reference_images\": [\"" + key + "\"]}]}")
                .post("/v1/batches?dry_run=true").then().statusCode(400);

        // The kept batch is still there before the retention, and gone after it, objects and all.
        assertThat(objects("globex/" + kept + "/")).hasSize(4);
        as(KEY_B).get("/v1/batches/" + kept).then().statusCode(200);
        await().atMost(Duration.ofSeconds(RETENTION_SECONDS + 30)).pollInterval(Duration.ofSeconds(1))
                .until(() -> as(KEY_B).get("/v1/batches/" + kept).statusCode() == 404);
        double after = (System.nanoTime() - ended) / 1e9;
        assertThat(after).as("deleted %.1f s after it ended", after).isGreaterThanOrEqualTo(RETENTION_SECONDS - 1);
        assertThat(objects("globex/" + kept + "/")).isEmpty();
        assertThat(objects("globex/manifests/" + kept + ".jsonl")).isEmpty();
        assertThat(batches(KEY_B)).doesNotContain(kept);
    }

    private static RequestSpecification as(String key) {
        return given().header("Authorization", "Bearer " + key);
    }

    private static String submit(String key, String prefix, int items) {
        return as(key).contentType("application/json").body(catalogue(prefix, items)).post("/v1/batches")
                .then().statusCode(202).extract().path("id");
    }

    private static long pendingImages(String key) {
        return as(key).get("/v1/tenant").then().statusCode(200).extract().jsonPath().getLong("usage.pending_images");
    }

    private static List<String> batches(String key) {
        return as(key).get("/v1/batches?limit=1000").then().statusCode(200).extract().jsonPath().getList("batches.id");
    }

    private static List<ReceivedRequest> calls(String prefix) {
        return KilnStackResource.simulator().received().stream()
                .filter(r -> r.prompt() != null && r.prompt().startsWith(prefix + " ")).toList();
    }

    private List<String> objects(String prefix) throws Exception {
        List<String> keys = new ArrayList<>();
        for (Result<Item> item : minio.listObjects(ListObjectsArgs.builder().bucket("kiln").prefix(prefix).recursive(true).build())) {
            keys.add(item.get().objectName());
        }
        return keys;
    }

    private static String catalogue(String prefix, int items) {
        StringBuilder body = new StringBuilder("{\"defaults\": {\"size\": \"1024x1024\", \"quality\": \"low\"}, \"items\": [");
        for (int i = 0; i < items; i++) {
            body.append(i > 0 ? "," : "").append("{\"id\": \"").append(prefix).append('-').append(i)
                    .append("\", \"prompt\": \"").append(prefix).append(" mug ").append(i).append("\"}");
        }
        return body.append("]}").toString();
    }
}
