package dev.kiln.worker;

import dev.kiln.job.EventTypes;
import dev.kiln.job.ImageParameters;
import dev.kiln.job.JobIds;
import dev.kiln.job.JobState;
import dev.kiln.messaging.KilnJson;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.messaging.Topics;
import dev.kiln.simulator.ReceivedRequest;
import dev.kiln.storage.ObjectStore;
import dev.kiln.testing.KilnStackResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

/**
 * Edit jobs, published straight to {@code kiln.jobs} as the intake would publish them (references
 * already resolved), against the real broker, the real S3 server and the simulator: references
 * read from the bucket reach {@code POST /images/edits} byte for byte, outputs and usage are
 * stored, and a bad reference fails the job at once without a provider call.
 */
@QuarkusTest
@WithTestResource(KilnStackResource.class)
class EditJobsTest {

    private static final Duration PATIENCE = Duration.ofSeconds(60);

    @Inject
    ObjectStore store;

    private String product;
    private String scene;
    private String mask;

    @BeforeEach
    void putReferences() throws IOException {
        String run = UUID.randomUUID().toString();
        product = put("default/uploads/upl_product-" + run, image(256, 256, "png", false), "image/png");
        scene = put("default/uploads/upl_scene-" + run, image(320, 192, "jpeg", false), "image/jpeg");
        mask = put("default/uploads/upl_mask-" + run, image(256, 256, "png", true), "image/png");
    }

    @Test
    void anEditSendsEveryReferenceAndTheMaskAndStoresAllOutputs() throws Exception {
        String prompt = "the mug from image 1 on the table of image 2, autumn light " + UUID.randomUUID();
        ImageParameters parameters = new ImageParameters("gpt-image-2", "1024x1536", "low", null, "webp", null, null, 2, "high");
        String jobId = publish(prompt, parameters, List.of(product, scene), mask);

        JsonPath job = awaitState(jobId, "succeeded");

        ReceivedRequest call = onlyCallWith(prompt);
        assertThat(call.endpoint()).isEqualTo("edits");
        assertThat(call.imageSha256s()).containsExactly(sha256Of(product), sha256Of(scene));
        assertThat(call.maskSha256()).isEqualTo(sha256Of(mask));
        assertThat(call.params()).containsEntry("model", "gpt-image-2").containsEntry("size", "1024x1536")
                .containsEntry("quality", "low").containsEntry("output_format", "webp").containsEntry("n", "2")
                .containsEntry("input_fidelity", "high").doesNotContainKeys("background", "output_compression", "moderation");

        assertThat(job.getList("outputs")).hasSize(2);
        for (int i = 0; i < 2; i++) {
            String output = "outputs[" + i + "].";
            assertThat(job.getString(output + "content_type")).isEqualTo("image/webp");
            assertThat(job.getInt(output + "width")).isEqualTo(1024);
            assertThat(job.getInt(output + "height")).isEqualTo(1536);
            String key = job.getString(output + "key");
            assertThat(key).endsWith("/" + i + ".webp");
            ObjectStore.StoredObject stored = store.stat(key).orElseThrow();
            assertThat(stored.contentType()).isEqualTo("image/webp");
            assertThat(stored.metadata()).containsEntry("kiln-sha256", job.getString(output + "sha256"));
        }

        // The simulator's usage: 256x256 and 320x192 inputs are 64 + 60 image tokens (the mask is
        // free); a low 1024x1536 image is 294 gpt-image-2 output tokens (196 per megapixel of
        // 1024x1024, ImageTokens), twice.
        long textTokens = (prompt.getBytes(StandardCharsets.UTF_8).length + 3) / 4;
        assertThat(job.getLong("usage.images")).isEqualTo(2);
        assertThat(job.getLong("usage.text_input_tokens")).isEqualTo(textTokens);
        assertThat(job.getLong("usage.image_input_tokens")).isEqualTo(124);
        assertThat(job.getLong("usage.output_tokens")).isEqualTo(588);
        assertThat(job.getDouble("usage.cost_usd"))
                .isCloseTo((textTokens * 5 + 124 * 8 + 588 * 30) / 1_000_000d, within(1e-9));
        assertThat(job.getInt("attempt")).isEqualTo(1);
    }

    @Test
    void aRedeliveredEditWhoseOutputsExistFetchesNothingAndPaysNothing() throws Exception {
        String prompt = "a vase in front of the scene, edited once " + UUID.randomUUID();
        ImageParameters parameters = new ImageParameters("gpt-image-2", "1024x1024", "low", null, null, null, null, 1, null);
        String batchId = JobIds.newBatchId();
        String jobId = publish(batchId, prompt, parameters, List.of(product), null);
        awaitState(jobId, "succeeded");

        // The same job again, now naming a reference that does not exist: had the worker fetched
        // references before looking for its outputs, it would announce reference_not_found. The
        // status view ignores moves out of succeeded, so the events themselves are read.
        publish(batchId, prompt, parameters, List.of("default/uploads/upl_deleted-" + UUID.randomUUID()), null);
        await().atMost(PATIENCE).until(() -> statusEventsOf(batchId).stream().filter(EventTypes.job(JobState.SUCCEEDED)::equals).count() == 2);
        assertThat(statusEventsOf(batchId)).doesNotContain(EventTypes.job(JobState.FAILED), EventTypes.job(JobState.QUEUED));
        // No second render, counted by this job's prompt: the simulator is shared, and work another
        // test class left queued may render meanwhile.
        assertThat(callsWith(prompt)).hasSize(1);
    }

    /** The {@code ce_type} of every event on {@code kiln.status} keyed by the batch, oldest first. */
    private static List<String> statusEventsOf(String batchId) {
        Map<String, Object> config = Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KilnStackResource.kafka().bootstrapServers(),
                ConsumerConfig.GROUP_ID_CONFIG, "edit-jobs-test-" + UUID.randomUUID(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        List<String> types = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(Topics.STATUS).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    Header type = record.headers().lastHeader("ce_type");
                    if (batchId.equals(record.key()) && type != null) {
                        types.add(new String(type.value(), StandardCharsets.UTF_8));
                    }
                }
            }
        }
        return types;
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "a missing object key,          MISSING_KEY,      ,       reference_not_found, no object",
            "another tenant's object,       OTHER_TENANT,     ,       reference_refused,   not under the job's tenant",
            "a plain http URL,              HTTP_URL,         ,       reference_refused,   only https URLs",
            "a URL host off the allow-list, UNLISTED_URL,     ,       reference_refused,   not on kiln.references.allowed-hosts",
            "an object that is no image,    NOT_AN_IMAGE,     ,       invalid_reference,   is not a PNG, JPEG or WebP image",
            "a mask of the wrong size,      PRODUCT,          SMALL_MASK, invalid_mask,    mask is 128x128 but reference_images[0] is 256x256",
            "a mask that is no PNG,         PRODUCT,          JPEG_MASK,  invalid_mask,    a mask must be a PNG",
            "a missing mask,                PRODUCT,          MISSING_KEY, reference_not_found, mask: no object"})
    void aBadReferenceFailsTheJobAtOnceWithoutCallingTheProvider(String description, String reference, String maskCase,
                                                                  String code, String reason) throws Exception {
        String prompt = "an edit with " + description + " " + UUID.randomUUID();
        ImageParameters parameters = new ImageParameters("gpt-image-2", "1024x1024", "low", null, null, null, null, 1, null);
        String jobId = publish(prompt, parameters, List.of(source(reference)), maskCase == null ? null : source(maskCase));

        JsonPath failed = awaitState(jobId, "failed");
        assertThat(failed.getString("error.code")).isEqualTo(code);
        assertThat(failed.getString("error.message")).contains(reason);
        assertThat(failed.getBoolean("error.retryable")).isFalse();
        assertThat(failed.getInt("attempt")).as("not retried").isEqualTo(1);
        assertThat(callsWith(prompt)).as("the provider was never called").isEmpty();
    }

    private String source(String name) throws IOException {
        String run = UUID.randomUUID().toString();
        return switch (name) {
            case "PRODUCT" -> product;
            case "MISSING_KEY" -> "default/uploads/upl_missing-" + run;
            case "OTHER_TENANT" -> put("acme/uploads/upl_theirs-" + run, image(256, 256, "png", false), "image/png");
            case "HTTP_URL" -> "http://images.example.com/mug.png";
            case "UNLISTED_URL" -> "https://images.example.com/mug.png";
            case "NOT_AN_IMAGE" -> put("default/uploads/upl_text-" + run, "just some text".getBytes(StandardCharsets.UTF_8), "image/png");
            case "SMALL_MASK" -> put("default/uploads/upl_small-mask-" + run, image(128, 128, "png", true), "image/png");
            case "JPEG_MASK" -> put("default/uploads/upl_jpeg-mask-" + run, image(256, 256, "jpeg", false), "image/jpeg");
            default -> throw new IllegalArgumentException(name);
        };
    }

    private String publish(String prompt, ImageParameters parameters, List<String> references, String maskKey) throws Exception {
        return publish(JobIds.newBatchId(), prompt, parameters, references, maskKey);
    }

    private String publish(String batchId, String prompt, ImageParameters parameters, List<String> references, String maskKey)
            throws Exception {
        String jobId = JobIds.jobId(batchId, 0);
        RenderJobRequested job = new RenderJobRequested(jobId, batchId, "default", "SKU-EDIT", 0, prompt, parameters,
                references, maskKey, Map.of(), 1, Instant.now());
        return dev.kiln.testing.DirectJobs.publish(job);
    }

    private static JsonPath awaitState(String jobId, String state) {
        await().atMost(PATIENCE).ignoreExceptions().until(() -> state.equals(job(jobId).getString("state")));
        return job(jobId);
    }

    private static JsonPath job(String id) {
        return given().get("/v1/jobs/" + id).then().statusCode(200).extract().jsonPath();
    }

    private static List<ReceivedRequest> callsWith(String prompt) {
        return KilnStackResource.simulator().received().stream().filter(r -> prompt.equals(r.prompt())).toList();
    }

    private static ReceivedRequest onlyCallWith(String prompt) {
        List<ReceivedRequest> calls = callsWith(prompt);
        assertThat(calls).hasSize(1);
        return calls.get(0);
    }

    private String put(String key, byte[] bytes, String contentType) throws IOException {
        // Quarkus tests do not get JUnit's @TempDir injected; a temporary file serves.
        Path file = Files.write(Files.createTempFile("kiln-reference-", ".bin"), bytes);
        try {
            store.put(key, file, contentType, Map.of());
        } finally {
            Files.delete(file);
        }
        return key;
    }

    private String sha256Of(String key) throws Exception {
        try (var in = store.open(key).orElseThrow()) {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(in.readAllBytes()));
        }
    }

    /** A small picture; a mask is transparent where the edit may paint. */
    private static byte[] image(int width, int height, String format, boolean mask) throws IOException {
        BufferedImage image = new BufferedImage(width, height, mask ? BufferedImage.TYPE_INT_ARGB : BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setColor(mask ? new Color(0, 0, 0, 255) : new Color(200, 120, 40));
        g.fillRect(0, 0, width, height);
        g.setComposite(java.awt.AlphaComposite.Clear);
        g.fillRect(width / 4, height / 4, width / 2, height / 2);
        g.dispose();
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        ImageIO.write(image, format, out);
        return out.toByteArray();
    }
}
