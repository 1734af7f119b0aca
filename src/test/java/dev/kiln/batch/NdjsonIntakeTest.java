package dev.kiln.batch;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.job.JobIds;
import dev.kiln.messaging.KilnJson;
import dev.kiln.testing.KilnStackResource;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static dev.kiln.batch.AllOrNothingIntakeTest.header;
import static dev.kiln.batch.AllOrNothingIntakeTest.keyed;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;

/**
 * Streamed NDJSON intake on the real broker and S3 server: a 100,000-line catalogue with three
 * bad lines is refused whole (400 naming the lines and fields, nothing on Kafka even uncommitted);
 * the same file corrected is accepted whole in one transaction (every job staged once, the batch
 * created once), replayed by its key, and cancelled so that nothing is rendered. A reference
 * found missing only while the transaction runs aborts it.
 */
@QuarkusTest
// A stack of its own (another resource argument than the other classes'), stopped with the class:
// the 100,000 cancels it leaves in progress load no other class's stack.
@WithTestResource(value = KilnStackResource.class, initArgs = @ResourceArg(name = "stack", value = "ndjson-100k"))
class NdjsonIntakeTest {

    private static final int ITEMS = 100_000;
    private static final String NDJSON = "application/x-ndjson";
    private static final String BATCH_LINE =
            "{\"batch\": {\"external_id\": \"catalogue-100k\", \"defaults\": {\"quality\": \"low\", \"size\": \"1024x1024\"}, \"priority\": \"bulk\"}}";

    @Test
    void aHundredThousandLinesWithThreeBadOnesAreRefusedWholeThenAcceptedOnceCorrected() {
        List<String> lines = catalogue();
        List<String> broken = new ArrayList<>(lines);
        broken.set(1_000, "{\"id\": \"SKU-999\"}");                                          // line 1001: no prompt
        broken.set(50_000, "{\"id\": \"SKU-49999\", \"prompt\": \"p\", \"qualty\": \"high\"}"); // line 50001: misspelt field
        broken.set(99_998, "{\"id\": \"SKU-99997\", \"prompt\": \"p\", \"size\": \"4096x4096\"}"); // line 99999: too large
        String key = "ndjson-" + UUID.randomUUID();
        String batchId = JobIds.batchIdFor("default", key);

        Response refused = post(String.join("\n", broken), key);
        assertThat(refused.statusCode()).isEqualTo(400);
        assertThat(refused.contentType()).startsWith("application/problem+json");
        List<String> fields = refused.jsonPath().getList("errors.field");
        assertThat(fields).containsExactly("line 1001.prompt", "line 50001.qualty", "line 99999.size");
        assertThat(refused.jsonPath().getString("errors[1].reason")).contains("did you mean quality?");
        // Nothing reached Kafka: no transaction was even opened for a catalogue with a bad line.
        assertThat(keyed(batchId, "kiln.items", "read_uncommitted")).isEmpty();
        assertThat(keyed(batchId, "kiln.status", "read_uncommitted")).isEmpty();
        given().get("/v1/batches/" + batchId).then().statusCode(404);

        String corrected = String.join("\n", lines) + "\n";
        long start = System.nanoTime();
        Response accepted = post(corrected, key);
        double seconds = (System.nanoTime() - start) / 1e9;
        assertThat(accepted.statusCode()).as(accepted.asString()).isEqualTo(202);
        assertThat(accepted.jsonPath().getString("id")).isEqualTo(batchId);
        assertThat(accepted.jsonPath().getInt("items")).isEqualTo(ITEMS);
        assertThat(accepted.jsonPath().getLong("images")).isEqualTo(ITEMS);
        assertThat(accepted.header("Location")).endsWith("/v1/batches/" + batchId);
        System.out.printf("NDJSON | %,d items accepted in %.2f s (%,.0f items/s, this test's JVM and stack)%n",
                ITEMS, seconds, ITEMS / seconds);

        // Every job staged exactly once, in order, and the batch created once with its counts.
        List<ConsumerRecord<String, String>> chunks = keyed(batchId, "kiln.items", "read_committed");
        List<String> jobIds = chunks.stream().flatMap(r -> jobsOf(r).stream()).toList();
        assertThat(jobIds).hasSize(ITEMS).doesNotHaveDuplicates();
        assertThat(jobIds.getFirst()).isEqualTo(JobIds.jobId(batchId, 0));
        assertThat(jobIds.getLast()).isEqualTo(JobIds.jobId(batchId, ITEMS - 1));
        Map<String, Long> statusTypes = keyed(batchId, "kiln.status", "read_committed").stream()
                .collect(Collectors.groupingBy(r -> header(r, "ce_type"), Collectors.counting()));
        assertThat(statusTypes).containsEntry("kiln.batch.created", 1L);
        assertThat(statusTypes.get("kiln.job.queued")).isGreaterThanOrEqualTo((long) ITEMS);

        // The same key and body: the same batch; the same key with another body: refused.
        post(corrected, key).then().statusCode(202).header("Idempotent-Replayed", "true").body("id", equalTo(batchId));
        post(String.join("\n", lines.subList(0, 10)), key).then().statusCode(422);

        // Cancel, so that the test does not render 100,000 images. Cancelling them all takes the
        // dispatcher minutes on a loaded 2-core machine; the test waits for the cancel to take hold,
        // and its own stack (see the class's resource argument) is stopped with the class.
        given().post("/v1/batches/" + batchId + "/cancel").then().statusCode(202);
        await().atMost(Duration.ofMinutes(5)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() ->
                given().get("/v1/batches/" + batchId).then().statusCode(200)
                        .body("external_id", equalTo("catalogue-100k"))
                        .body("counts.cancelled", greaterThan(0)));
    }

    @Test
    void aMissingReferenceFoundDuringTheTransactionAbortsIt() {
        String key = "ndjson-ref-" + UUID.randomUUID();
        String batchId = JobIds.batchIdFor("default", key);
        String body = String.join("\n", BATCH_LINE,
                "{\"id\": \"A\", \"prompt\": \"a mug\"}",
                "{\"id\": \"B\", \"prompt\": \"the mug, blue\", \"reference_images\": [\"upl_00000000000000000000000000\"]}");

        Response refused = post(body, key);
        assertThat(refused.statusCode()).isEqualTo(400);
        assertThat(refused.jsonPath().getList("errors.field")).containsExactly("line 3.reference_images[0]");
        // The batch event was sent before the reference was looked up, and then aborted.
        assertThat(keyed(batchId, "kiln.status", "read_uncommitted")).isNotEmpty();
        assertThat(keyed(batchId, "kiln.status", "read_committed")).isEmpty();
        assertThat(keyed(batchId, "kiln.items", "read_committed")).isEmpty();
        given().get("/v1/batches/" + batchId).then().statusCode(404);
    }

    @Test
    void aDryRunOfACatalogueAnswersTheSameEstimateAsTheSameBatchInJson() {
        String ndjson = String.join("\n", BATCH_LINE.replace("\"priority\"", "\"budget_usd\": 0.05, \"priority\""),
                "{\"id\": \"A\", \"prompt\": \"a mug\", \"n\": 2}",
                "{\"id\": \"B\", \"prompt\": \"a cup\", \"quality\": \"high\", \"size\": \"1536x1024\"}");
        String json = "{\"external_id\": \"catalogue-100k\", \"defaults\": {\"quality\": \"low\", \"size\": \"1024x1024\"},"
                + " \"budget_usd\": 0.05, \"priority\": \"bulk\", \"items\": [{\"id\": \"A\", \"prompt\": \"a mug\", \"n\": 2},"
                + " {\"id\": \"B\", \"prompt\": \"a cup\", \"quality\": \"high\", \"size\": \"1536x1024\"}]}";
        long before = keyedCount();
        Response fromNdjson = given().contentType(NDJSON).body(ndjson.getBytes(StandardCharsets.UTF_8)).post("/v1/batches?dry_run=true");
        Response fromJson = given().contentType("application/json").body(json).post("/v1/batches?dry_run=true");
        assertThat(fromNdjson.statusCode()).as(fromNdjson.asString()).isEqualTo(200);
        assertThat(fromNdjson.jsonPath().getInt("jobs")).isEqualTo(2);
        assertThat(fromNdjson.jsonPath().getLong("images")).isEqualTo(3);
        assertThat(fromNdjson.jsonPath().getBoolean("fits_budget")).isNotNull();
        assertThat(fromNdjson.jsonPath().getMap("")).isEqualTo(fromJson.jsonPath().getMap(""));
        assertThat(keyedCount()).as("a dry run enqueues nothing").isEqualTo(before);
    }

    @Test
    void aBudgetedCatalogueCarriesItsDearestJobOnTheBatchEvent() {
        String key = "ndjson-budget-" + UUID.randomUUID();
        String batchId = JobIds.batchIdFor("default", key);
        String body = String.join("\n", BATCH_LINE.replace("\"priority\"", "\"budget_usd\": 5, \"priority\""),
                "{\"id\": \"A\", \"prompt\": \"a mug\"}",
                "{\"id\": \"B\", \"prompt\": \"a cup\", \"quality\": \"high\"}");
        post(body, key).then().statusCode(202).body("id", equalTo(batchId));
        given().post("/v1/batches/" + batchId + "/cancel").then().statusCode(202);

        List<ConsumerRecord<String, String>> created = keyed(batchId, "kiln.status", "read_committed").stream()
                .filter(r -> header(r, "ce_type").equals("kiln.batch.created")).toList();
        assertThat(created).hasSize(1);
        JsonNode event = readJson(created.getFirst().value());
        assertThat(event.get("budget_usd").asDouble()).isEqualTo(5.0);
        // The high-quality item (auto size: up to 1536x1024) is the dearer, well above a low one's cent.
        assertThat(event.get("job_cost_usd").asDouble()).isGreaterThan(0.1).isLessThan(5.0);
    }

    /** How many records kiln.items holds in all, committed or not. */
    private static long keyedCount() {
        return AllOrNothingIntakeTest.endOffsets("kiln.items");
    }

    private static JsonNode readJson(String text) {
        try {
            return KilnJson.MAPPER.readTree(text);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static Response post(String body, String key) {
        return given().contentType(NDJSON).header("Idempotency-Key", key).body(body.getBytes(StandardCharsets.UTF_8))
                .when().post("/v1/batches");
    }

    private static List<String> catalogue() {
        List<String> lines = new ArrayList<>(ITEMS + 1);
        lines.add(BATCH_LINE);
        IntStream.range(0, ITEMS).mapToObj(i -> "{\"id\": \"SKU-" + i + "\", \"prompt\": \"studio photo of product "
                + i + " on white\", \"metadata\": {\"row\": " + i + "}}").forEach(lines::add);
        return lines;
    }

    private static List<String> jobsOf(ConsumerRecord<String, String> record) {
        try {
            JsonNode jobs = KilnJson.MAPPER.readTree(record.value()).get("jobs");
            List<String> ids = new ArrayList<>();
            jobs.forEach(job -> ids.add(job.get("job_id").asText()));
            return ids;
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
