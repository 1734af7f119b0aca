package dev.kiln.e2e;

import dev.kiln.image.ImageFormat;
import dev.kiln.image.ImageInfo;
import dev.kiln.image.ImageProbe;
import dev.kiln.testing.KilnStackResource;
import io.minio.GetObjectArgs;
import io.minio.ListObjectsArgs;
import io.minio.MinioClient;
import io.minio.Result;
import io.minio.messages.Item;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.containsString;

/**
 * The whole pipeline on real parts: a batch of 50 goes in over HTTP, through a real Kafka broker,
 * to the simulator over HTTP, into a real S3 server, and its status comes back out.
 */
@QuarkusTest
@WithTestResource(KilnStackResource.class)
class CatalogueBatchEndToEndTest {

    private static final int ITEMS = 50;
    private static final int MODERATED = 17;

    @Inject
    MinioClient minio;

    @Test
    void aBatchOfFiftyWithOneModeratedItemEndsPartiallyFailedWithFortyNineImages() throws Exception {
        String body = catalogue();
        String key = "e2e-" + UUID.randomUUID();

        String batchId = given().contentType(ContentType.JSON).header("Idempotency-Key", key).body(body)
                .when().post("/v1/batches")
                .then().statusCode(202)
                .header("Location", containsString("/v1/batches/b_"))
                .body("items", equalTo(ITEMS))
                .body("state", equalTo("queued"))
                .extract().path("id");

        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).untilAsserted(() ->
                given().get("/v1/batches/" + batchId).then().statusCode(200).body("state", equalTo("partially_failed")));

        JsonPath batch = given().get("/v1/batches/" + batchId).then().extract().jsonPath();
        assertThat(batch.getInt("counts.succeeded")).isEqualTo(ITEMS - 1);
        assertThat(batch.getInt("counts.failed")).isEqualTo(1);
        assertThat(batch.getInt("counts.queued")).isZero();
        assertThat(batch.getInt("counts.running")).isZero();
        assertThat(batch.getLong("usage.images")).isEqualTo(ITEMS - 1);
        assertThat(batch.getLong("usage.output_tokens")).isPositive();
        assertThat(batch.getDouble("usage.cost_usd")).isPositive();

        // The moderated item failed at once, with the provider's code, on its first attempt.
        String moderatedJob = batchId + "-0000" + MODERATED;
        given().get("/v1/jobs/" + moderatedJob).then().statusCode(200)
                .body("state", equalTo("failed"))
                .body("item_id", equalTo("SKU-" + MODERATED))
                .body("attempt", equalTo(1))
                .body("error.code", equalTo("moderation_blocked"))
                .body("error.retryable", equalTo(false));
        given().get("/v1/batches/" + batchId + "/items?state=failed").then().statusCode(200)
                .body("items.id", equalTo(List.of(moderatedJob)));

        assertObjectsInS3(batchId);
        assertItemsPagesAndUrls(batchId);
        assertStatusEvents(batchId);
        assertIdempotentReplay(body, key, batchId);
        assertWorkerMetrics();
    }

    /** The worker's Micrometer meters on /q/metrics; other tests share the application, hence at least. */
    private void assertWorkerMetrics() {
        String metrics = given().get("/q/metrics").then().statusCode(200).extract().asString();
        assertThat(metric(metrics, "kiln_images_rendered_total")).isGreaterThanOrEqualTo(ITEMS - 1);
        assertThat(metric(metrics, "kiln_jobs_ended_total{outcome=\"succeeded\"}")).isGreaterThanOrEqualTo(ITEMS - 1);
        assertThat(metric(metrics, "kiln_jobs_ended_total{outcome=\"failed\"}")).isGreaterThanOrEqualTo(1);
        assertThat(metric(metrics, "kiln_provider_calls_total{endpoint=\"generations\",outcome=\"rejected\"}")).isGreaterThanOrEqualTo(1);
        assertThat(metric(metrics, "kiln_provider_calls_total{endpoint=\"generations\",outcome=\"ok\"}")).isGreaterThanOrEqualTo(ITEMS - 1);
        assertThat(metric(metrics, "kiln_cost_usd_total")).isPositive();
        assertThat(metric(metrics, "kiln_tokens_total{kind=\"output\"}")).isPositive();
    }

    private static double metric(String exposition, String series) {
        return exposition.lines().filter(line -> line.startsWith(series + " "))
                .mapToDouble(line -> Double.parseDouble(line.substring(series.length() + 1).trim()))
                .findFirst().orElseThrow(() -> new AssertionError("no series " + series + " on /q/metrics"));
    }

    private void assertObjectsInS3(String batchId) throws Exception {
        List<String> keys = new ArrayList<>();
        List<String> thumbnails = new ArrayList<>();
        for (Result<Item> result : minio.listObjects(ListObjectsArgs.builder().bucket("kiln")
                .prefix("default/" + batchId + "/").recursive(true).build())) {
            String name = result.get().objectName();
            (name.contains(".thumb.") ? thumbnails : keys).add(name);
        }
        assertThat(keys).hasSize(ITEMS - 1);
        // Each output has its thumbnail beside it, 256 px on the long edge, in the output's format.
        assertThat(thumbnails).containsExactlyInAnyOrderElementsOf(
                keys.stream().map(k -> k.replaceFirst("\\.(png|jpeg|webp)$", ".thumb.$1")).toList());
        try (InputStream in = minio.getObject(GetObjectArgs.builder().bucket("kiln").object(thumbnails.getFirst()).build())) {
            ImageInfo thumb = ImageProbe.probe(in.readAllBytes()).orElseThrow();
            assertThat(Math.max(thumb.width(), thumb.height())).as(thumbnails.getFirst()).isEqualTo(256);
        }
        assertThat(keys).doesNotContain("default/" + batchId + "/SKU-" + MODERATED + "/0.png");
        for (String objectKey : keys) {
            ImageFormat expected = objectKey.endsWith(".jpeg") ? ImageFormat.JPEG
                    : objectKey.endsWith(".webp") ? ImageFormat.WEBP : ImageFormat.PNG;
            try (InputStream in = minio.getObject(GetObjectArgs.builder().bucket("kiln").object(objectKey).build())) {
                ImageInfo info = ImageProbe.probe(in.readAllBytes()).orElseThrow();
                assertThat(info.format()).as(objectKey).isEqualTo(expected);
                assertThat(info.width()).as(objectKey).isEqualTo(expected == ImageFormat.JPEG ? 1536 : 1024);
                assertThat(info.height()).as(objectKey).isEqualTo(1024);
            }
        }
    }

    private void assertItemsPagesAndUrls(String batchId) throws Exception {
        JsonPath first = given().get("/v1/batches/" + batchId + "/items?limit=20").then().statusCode(200).extract().jsonPath();
        assertThat(first.getList("items")).hasSize(20);
        assertThat(first.getInt("items[5].metadata.row")).as("item metadata comes back with the item").isEqualTo(5);
        String cursor = first.getString("next_cursor");
        assertThat(cursor).isNotBlank();
        List<String> ids = new ArrayList<>(first.getList("items.item_id"));
        while (cursor != null) {
            JsonPath page = given().queryParam("cursor", cursor).queryParam("limit", 20)
                    .get("/v1/batches/" + batchId + "/items").then().statusCode(200).extract().jsonPath();
            ids.addAll(page.getList("items.item_id"));
            cursor = page.getString("next_cursor");
        }
        assertThat(ids).hasSize(ITEMS).doesNotHaveDuplicates().startsWith("SKU-0", "SKU-1");

        JsonPath job = given().get("/v1/jobs/" + batchId + "-000000").then().statusCode(200).extract().jsonPath();
        assertThat(job.getInt("metadata.row")).as("and with the job").isZero();
        String url = job.getString("outputs[0].url");
        HttpResponse<byte[]> image = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(image.statusCode()).isEqualTo(200);
        assertThat(image.body().length).isEqualTo(job.getLong("outputs[0].bytes"));
        assertThat(ImageProbe.probe(image.body())).map(ImageInfo::format).contains(ImageFormat.PNG);
        assertThat(job.getString("outputs[0].sha256")).hasSize(64);
    }

    private void assertStatusEvents(String batchId) {
        Map<String, Integer> types = new HashMap<>();
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KilnStackResource.kafka().bootstrapServers());
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "e2e-" + UUID.randomUUID());
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
            consumer.subscribe(List.of("kiln.status"));
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(500))) {
                    if (batchId.equals(record.key())) {
                        String type = new String(record.headers().lastHeader("ce_type").value(), StandardCharsets.UTF_8);
                        types.merge(type, 1, Integer::sum);
                    }
                }
                return types.getOrDefault("kiln.job.succeeded", 0) + types.getOrDefault("kiln.job.failed", 0) >= ITEMS;
            });
        }
        assertThat(types).containsEntry("kiln.batch.created", 1)
                .containsEntry("kiln.job.queued", ITEMS)
                .containsEntry("kiln.job.running", ITEMS)
                .containsEntry("kiln.job.succeeded", ITEMS - 1)
                .containsEntry("kiln.job.failed", 1);
    }

    private void assertIdempotentReplay(String body, String key, String batchId) {
        given().contentType(ContentType.JSON).header("Idempotency-Key", key).body(body)
                .when().post("/v1/batches")
                .then().statusCode(202)
                .header("Idempotent-Replayed", "true")
                .body("id", equalTo(batchId))
                .body("state", equalTo("partially_failed"));
        given().contentType(ContentType.JSON).header("Idempotency-Key", key).body(body.replace("SKU-1\"", "SKU-1b\""))
                .when().post("/v1/batches")
                .then().statusCode(422)
                .contentType("application/problem+json")
                .body("type", equalTo("urn:kiln:problem:idempotency-key-reused"));
        // Nothing new: the batch still has its 50 jobs and 49 images.
        given().get("/v1/batches/" + batchId).then()
                .body("items", equalTo(ITEMS))
                .body("counts.succeeded", equalTo(ITEMS - 1));
    }

    @Test
    void invalidBatchesAreRefusedWithTheFieldAndNothingIsEnqueued() {
        String body = """
                {"defaults": {"size": "1000x1000", "output_format": "jpeg", "background": "transparent"},
                 "items": [{"id": "a", "prompt": "x"}, {"id": "a", "prompt": ""}, {"id": "c", "prompt": "y", "n": 11}]}
                """;
        given().contentType(ContentType.JSON).body(body).when().post("/v1/batches")
                .then().statusCode(400)
                .contentType("application/problem+json")
                .body("errors.field", hasItem("defaults.size"))
                .body("errors.field", hasItem("defaults.background"))
                .body("errors.field", hasItem("items[1].id"))
                .body("errors.field", hasItem("items[1].prompt"))
                .body("errors.field", hasItem("items[2].n"));
        given().contentType(ContentType.JSON).body("{\"items\": [{\"id\": 1,\n \"prompt\": [}")
                .when().post("/v1/batches")
                .then().statusCode(400).contentType("application/problem+json")
                .body("errors[0].reason", containsString("line 2, column"));
        given().get("/v1/batches/b_doesnotexist").then().statusCode(404).contentType("application/problem+json");
    }

    private static String catalogue() {
        StringBuilder items = new StringBuilder();
        for (int i = 0; i < ITEMS; i++) {
            if (i > 0) {
                items.append(',');
            }
            String prompt = i == MODERATED
                    ? "A FORBIDDEN product photo"
                    : "Studio photo of ceramic mug number " + i + " on a white background";
            String format = i % 10 == 3 ? ", \"output_format\": \"jpeg\", \"size\": \"1536x1024\""
                    : i % 10 == 7 ? ", \"output_format\": \"webp\"" : "";
            items.append("{\"id\": \"SKU-").append(i).append("\", \"prompt\": \"").append(prompt).append('"')
                    .append(format).append(", \"metadata\": {\"row\": ").append(i).append("}}");
        }
        return "{\"external_id\": \"nightly-1\", \"defaults\": {\"size\": \"1024x1024\", \"quality\": \"low\"},"
                + " \"items\": [" + items + "]}";
    }
}
