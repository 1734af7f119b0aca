package dev.kiln.batch;

import dev.kiln.messaging.KilnJson;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.messaging.Topics;
import dev.kiln.testing.KilnStackResource;
import dev.kiln.testing.TestImages;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.stream.Stream;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;

/**
 * References at intake, against the real S3 server and Kafka broker: what a job on
 * {@code kiln.jobs} carries once they are resolved, each reason a batch is refused for, and the
 * dry run. The allow-list of the test profile holds {@code allowed.kiln.test}.
 */
@QuarkusTest
@WithTestResource(KilnStackResource.class)
class BatchReferencesTest {

    private static final String MISSING_UPLOAD = "upl_00000000000000000000000000";
    private static Fixture fixture;

    @Inject
    MinioClient minio;

    /** Uploads and objects every test names; made once for the class. */
    record Fixture(String reference, String mask, String smallMask, String jpegMask, String key, String notAnImage) {
    }

    @BeforeEach
    void setUp() throws Exception {
        if (fixture == null) {
            String run = UUID.randomUUID().toString();
            String key = "default/catalogue/" + run + "/mug.png";
            put(key, TestImages.png(1024, 1024), "image/png", Map.of("kiln-width", "1024", "kiln-height", "1024"));
            String notAnImage = "default/catalogue/" + run + "/notes.txt";
            put(notAnImage, "hello".getBytes(), "text/plain", Map.of());
            fixture = new Fixture(upload(TestImages.png(1024, 1024)), upload(TestImages.png(1024, 1024)),
                    upload(TestImages.png(512, 512)), upload(TestImages.jpeg(1024, 1024)), key, notAnImage);
        }
    }

    @Test
    void jobsCarryTheResolvedReferencesWithTheDefaultsFirst() {
        String url = "https://allowed.kiln.test/shoe.png";
        String body = """
                {"defaults": {"size": "1024x1024", "quality": "low", "input_fidelity": "high",
                              "reference_images": ["%s"]},
                 "items": [{"id": "a", "prompt": "the mug on a beach", "reference_images": ["%s"], "mask": "%s"},
                           {"id": "b", "prompt": "the mug beside a shoe", "reference_images": ["%s"]}]}
                """.formatted(fixture.reference(), fixture.key(), fixture.mask(), url);
        String batchId = accept(body);

        Map<Integer, RenderJobRequested> jobs = jobsOf(batchId, 2);
        assertThat(jobs.get(0).referenceImages()).containsExactly(uploadKey(fixture.reference()), fixture.key());
        assertThat(jobs.get(0).mask()).isEqualTo(uploadKey(fixture.mask()));
        assertThat(jobs.get(0).parameters().inputFidelity()).isEqualTo("high");
        assertThat(jobs.get(1).referenceImages()).containsExactly(uploadKey(fixture.reference()), url);
        assertThat(jobs.get(1).mask()).isNull();

        // The worker takes the resolved job as it is: an edit with two 1024x1024 references (1024 tokens each).
        await().atMost(Duration.ofSeconds(60)).until(() ->
                "succeeded".equals(given().get("/v1/jobs/" + batchId + "-000000").then().extract().path("state")));
        given().get("/v1/jobs/" + batchId + "-000000").then()
                .body("usage.image_input_tokens", equalTo(2048))
                .body("outputs[0].width", equalTo(1024));
    }

    @Test
    void aGenerationInABatchOfEditsIsSentWithoutReferencesOrInputFidelity() {
        String body = """
                {"defaults": {"input_fidelity": "low"},
                 "items": [{"id": "g", "prompt": "a plain mug"},
                           {"id": "e", "prompt": "this mug in red", "reference_images": ["%s"]}]}
                """.formatted(fixture.reference());
        Map<Integer, RenderJobRequested> jobs = jobsOf(accept(body), 2);
        assertThat(jobs.get(0).referenceImages()).isEmpty();
        assertThat(jobs.get(0).mask()).isNull();
        assertThat(jobs.get(0).parameters().inputFidelity()).isNull();
        assertThat(jobs.get(1).referenceImages()).containsExactly(uploadKey(fixture.reference()));
        assertThat(jobs.get(1).parameters().inputFidelity()).isEqualTo("low");
    }

    static Stream<Arguments> refusedBatches() {
        return Stream.of(
                Arguments.of("another tenant's key", item("\"reference_images\": [\"other/catalogue/mug.png\"]"),
                        "items[0].reference_images[0]", "starting with default/"),
                Arguments.of("a key that does not exist", item("\"reference_images\": [\"default/catalogue/missing.png\"]"),
                        "items[0].reference_images[0]", "names no object"),
                Arguments.of("an upload that does not exist", item("\"reference_images\": [\"" + MISSING_UPLOAD + "\"]"),
                        "items[0].reference_images[0]", "names no upload"),
                Arguments.of("a URL off the allow-list", item("\"reference_images\": [\"https://evil.example.org/a.png\"]"),
                        "items[0].reference_images[0]", "allow-list"),
                Arguments.of("a plain http URL", item("\"reference_images\": [\"http://allowed.kiln.test/a.png\"]"),
                        "items[0].reference_images[0]", "https"),
                Arguments.of("a key that is no image", item("\"reference_images\": [\"${notAnImage}\"]"),
                        "items[0].reference_images[0]", "png, jpeg or webp"),
                Arguments.of("a mask of the wrong size", item("\"reference_images\": [\"${reference}\"], \"mask\": \"${smallMask}\""),
                        "items[0].mask", "1024x1024"),
                Arguments.of("a mask that is no PNG", item("\"reference_images\": [\"${reference}\"], \"mask\": \"${jpegMask}\""),
                        "items[0].mask", "must be a PNG"),
                Arguments.of("a mask without references", item("\"mask\": \"${mask}\""),
                        "items[0].mask", "needs reference_images"),
                Arguments.of("input_fidelity without references", item("\"input_fidelity\": \"high\""),
                        "items[0].input_fidelity", "reference_images"),
                Arguments.of("a default reference that does not exist",
                        "{\"defaults\": {\"reference_images\": [\"" + MISSING_UPLOAD + "\"]}, \"items\": [{\"id\": \"a\", \"prompt\": \"p\"}]}",
                        "defaults.reference_images[0]", "names no upload"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusedBatches")
    void aBatchWithABadReferenceIsRefusedNamingTheFieldAndNothingIsEnqueued(String rule, String template, String field,
                                                                            String reason) {
        String body = template.replace("${notAnImage}", fixture.notAnImage())
                .replace("${reference}", fixture.reference())
                .replace("${mask}", fixture.mask())
                .replace("${smallMask}", fixture.smallMask())
                .replace("${jpegMask}", fixture.jpegMask());
        long before = endOfJobs();
        for (String dryRun : List.of("false", "true")) {
            given().contentType(ContentType.JSON).queryParam("dry_run", dryRun).body(body)
                    .when().post("/v1/batches")
                    .then().statusCode(400)
                    .contentType("application/problem+json")
                    .body("errors.field", hasItem(field))
                    .body("errors.find { it.field == '" + field + "' }.reason", containsString(reason));
        }
        assertThat(endOfJobs()).as("nothing reached kiln.jobs").isEqualTo(before);
    }

    @Test
    void aDryRunAnswersTheImagesCostAndDurationAndEnqueuesNothing() {
        String key = "dry-" + UUID.randomUUID();
        String body = """
                {"defaults": {"size": "1024x1024", "quality": "low"},
                 "items": [{"id": "a", "prompt": "abcd", "n": 2},
                           {"id": "b", "prompt": "abcdefgh", "quality": "high", "size": "1536x1024"},
                           {"id": "c", "prompt": "abcd", "quality": "auto", "size": "auto", "reference_images": ["%s"]},
                           {"id": "d", "prompt": "abcdefgh", "n": 3}]}
                """.formatted(fixture.reference());
        long before = endOfJobs();

        JsonPath estimate = given().contentType(ContentType.JSON).header("Idempotency-Key", key).body(body)
                .queryParam("dry_run", "true")
                .when().post("/v1/batches")
                .then().statusCode(200)
                .contentType(ContentType.JSON)
                .extract().jsonPath();

        // Worked out by hand, in millionths of a dollar, at $5 text, $8 image input and $30 output per
        // million tokens; prompts of 4 and 8 bytes are 1 and 2 text tokens; OpenAI's output tokens are
        // 196 (low 1024x1024), 7024 (high 1024x1024) and 10536 (high 1536x1024); a 1024x1024 reference is 1024 tokens.
        long a = 1 * 5 + 2 * 196 * 30;
        long b = 2 * 5 + 10536 * 30;
        long cMin = 1 * 5 + 1024 * 8 + 196 * 30;
        long cMax = 1 * 5 + 1024 * 8 + 10536 * 30;
        long d = 2 * 5 + 3 * 196 * 30;
        assertThat(estimate.getBoolean("dry_run")).isTrue();
        assertThat(estimate.getInt("jobs")).isEqualTo(4);
        assertThat(estimate.getLong("images")).isEqualTo(7);
        assertThat(dollars(estimate, "estimated_cost_usd.min")).isEqualTo(a + b + cMin + d);
        assertThat(dollars(estimate, "estimated_cost_usd.max")).isEqualTo(a + b + cMax + d);
        assertThat(estimate.getList("by_quality_and_size.quality")).containsExactly("low", "high", "auto");
        assertThat(estimate.getList("by_quality_and_size.size")).containsExactly("1024x1024", "1536x1024", "auto");
        assertThat(estimate.getList("by_quality_and_size.images", Integer.class)).containsExactly(5, 1, 1);
        assertThat(dollars(estimate, "by_quality_and_size[0].cost_usd.max")).isEqualTo(a + d);
        assertThat(dollars(estimate, "by_quality_and_size[1].cost_usd.min")).isEqualTo(b);
        assertThat(dollars(estimate, "by_quality_and_size[2].cost_usd.min")).isEqualTo(cMin);
        assertThat(dollars(estimate, "by_quality_and_size[2].cost_usd.max")).isEqualTo(cMax);
        assertThat(estimate.getDouble("ipm")).as("the test profile sets no IPM").isZero();
        assertThat(estimate.getString("estimated_duration_seconds")).as("no limit, no floor").isNull();
        assertThat(estimate.getString("id")).isNull();

        assertThat(endOfJobs()).as("nothing reached kiln.jobs").isEqualTo(before);
        // The key named nothing: the same key now makes a new batch rather than replaying one.
        given().contentType(ContentType.JSON).header("Idempotency-Key", key).body(body)
                .when().post("/v1/batches")
                .then().statusCode(202)
                .header("Idempotent-Replayed", "false")
                .body("images", equalTo(7));
    }

    private static String item(String fields) {
        return "{\"items\": [{\"id\": \"a\", \"prompt\": \"p\", " + fields + "}]}";
    }

    private static long dollars(JsonPath json, String path) {
        return new java.math.BigDecimal(json.getString(path)).movePointRight(6).longValueExact();
    }

    private static String accept(String body) {
        return given().contentType(ContentType.JSON).body(body)
                .when().post("/v1/batches")
                .then().statusCode(202)
                .extract().path("id");
    }

    private static String upload(byte[] image) {
        return given().multiPart("file", "ref", image, "application/octet-stream")
                .when().post("/v1/uploads")
                .then().statusCode(201)
                .extract().path("id");
    }

    private static String uploadKey(String uploadId) {
        return "default/uploads/" + uploadId;
    }

    private void put(String key, byte[] bytes, String contentType, Map<String, String> metadata) throws Exception {
        minio.putObject(PutObjectArgs.builder().bucket("kiln").object(key)
                .stream(new ByteArrayInputStream(bytes), (long) bytes.length, -1L)
                .contentType(contentType).userMetadata(metadata).build());
    }

    /** The jobs of a batch as the workers receive them, by item index. */
    private static Map<Integer, RenderJobRequested> jobsOf(String batchId, int count) {
        Map<Integer, RenderJobRequested> jobs = new HashMap<>();
        try (KafkaConsumer<String, byte[]> consumer = consumer()) {
            consumer.subscribe(List.of(Topics.JOBS));
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    if (record.key() != null && record.key().startsWith(batchId + "-")) {
                        RenderJobRequested job = parse(record.value());
                        jobs.put(job.index(), job);
                    }
                }
                return jobs.size() >= count;
            });
        }
        return jobs;
    }

    /** The sum of kiln.jobs' end offsets: it grows with every job published. */
    private static long endOfJobs() {
        try (KafkaConsumer<String, byte[]> consumer = consumer()) {
            List<TopicPartition> partitions = consumer.partitionsFor(Topics.JOBS).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            return consumer.endOffsets(partitions).values().stream().mapToLong(Long::longValue).sum();
        }
    }

    private static KafkaConsumer<String, byte[]> consumer() {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KilnStackResource.kafka().bootstrapServers());
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "references-test-" + UUID.randomUUID());
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        return new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer());
    }

    private static RenderJobRequested parse(byte[] value) {
        try {
            return KilnJson.MAPPER.readValue(value, RenderJobRequested.class);
        } catch (IOException e) {
            throw new IllegalStateException("kiln.jobs holds a value that is no job", e);
        }
    }
}
