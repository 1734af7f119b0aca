package dev.kiln.e2e;

import dev.kiln.image.ImageFormat;
import dev.kiln.image.ImageInfo;
import dev.kiln.image.ImageProbe;
import dev.kiln.simulator.ReceivedRequest;
import dev.kiln.testing.KilnStackResource;
import io.minio.GetObjectArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;

/**
 * One batch that uses the whole gpt-image-2 surface, on real parts: generations and edits mixed,
 * edits from two uploads with a mask and from an object key already in the bucket, n = 3, a
 * transparent webp, a 3840×2160 jpeg and prompts in three scripts. Every output's format and size
 * is read back from S3, and the batch's usage and cost are checked against its jobs and the price
 * table.
 */
@QuarkusTest
@WithTestResource(KilnStackResource.class)
class MixedCatalogueEndToEndTest {

    private static final double TEXT_PER_MILLION = 5;
    private static final double IMAGE_IN_PER_MILLION = 8;
    private static final double IMAGE_OUT_PER_MILLION = 30;

    @Inject
    MinioClient minio;

    @Test
    void generationsAndEditsOfEveryKindEndSucceededWithCheckedImagesUsageAndCost() throws Exception {
        String productPhoto = upload(png(1024, 1024, false), "product.png", "image/png");
        String scenePhoto = upload(jpeg(1536, 1024), "scene.jpg", "image/jpeg");
        String mask = upload(png(1024, 1024, true), "mask.png", "image/png");
        String catalogueKey = "default/catalogue/" + UUID.randomUUID() + "/mug.png";
        putObject(catalogueKey, png(1024, 1024, false), "image/png");

        String japanese = "秋の新作マグカップ、見出し「季節限定」 " + UUID.randomUUID();
        String arabic = "كوب قهوة على خلفية شفافة " + UUID.randomUUID();
        String hindi = "रसोई में चाय का कप, तीन कोण " + UUID.randomUUID();
        String body = """
                {"defaults": {"quality": "low", "size": "1024x1024"},
                 "items": [
                   {"id": "hero", "prompt": "%s", "size": "3840x2160", "output_format": "jpeg", "output_compression": 80},
                   {"id": "cutout", "prompt": "%s", "background": "transparent", "output_format": "webp"},
                   {"id": "carousel", "prompt": "%s", "n": 3, "size": "1024x1536"},
                   {"id": "edit-uploads", "prompt": "the product on a marble counter, morning light",
                    "reference_images": ["%s", "%s"], "mask": "%s", "input_fidelity": "high"},
                   {"id": "edit-key", "prompt": "the same mug in a winter scene", "output_format": "png",
                    "reference_images": ["%s"]}
                 ]}
                """.formatted(japanese, arabic, hindi, productPhoto, scenePhoto, mask, catalogueKey);

        String batchId = given().contentType(ContentType.JSON).body(body).post("/v1/batches")
                .then().statusCode(202).body("items", equalTo(5)).body("images", equalTo(7)).extract().path("id");
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).untilAsserted(() ->
                given().get("/v1/batches/" + batchId).then().statusCode(200).body("state", equalTo("succeeded")));

        assertOutputs(job(batchId, 0), ImageFormat.JPEG, 3840, 2160, 1);
        assertOutputs(job(batchId, 1), ImageFormat.WEBP, 1024, 1024, 1);
        assertOutputs(job(batchId, 2), ImageFormat.PNG, 1024, 1536, 3);
        assertOutputs(job(batchId, 3), ImageFormat.PNG, 1024, 1024, 1);
        assertOutputs(job(batchId, 4), ImageFormat.PNG, 1024, 1024, 1);

        assertThat(received(japanese)).singleElement().satisfies(r -> assertThat(r.endpoint()).isEqualTo("generations"));
        assertThat(received(arabic)).singleElement().satisfies(r -> assertThat(r.params()).containsEntry("background", "transparent"));
        assertThat(received(hindi)).singleElement().satisfies(r -> assertThat(r.params()).containsEntry("n", "3"));
        assertThat(received("the product on a marble counter")).singleElement().satisfies(r -> {
            assertThat(r.endpoint()).isEqualTo("edits");
            assertThat(r.imageCount()).isEqualTo(2);
            assertThat(r.hasMask()).isTrue();
            assertThat(r.params()).containsEntry("input_fidelity", "high");
        });
        assertThat(received("the same mug in a winter scene")).singleElement().satisfies(r -> {
            assertThat(r.endpoint()).isEqualTo("edits");
            assertThat(r.imageCount()).isEqualTo(1);
            assertThat(r.hasMask()).isFalse();
        });

        assertUsageAndCost(batchId);
    }

    @Test
    void defaultReferencesKeepOneProductInEveryFrameOfACarousel() throws Exception {
        byte[] productBytes = png(1024, 1024, false);
        byte[] propBytes = jpeg(1024, 1024);
        String product = upload(productBytes, "product.png", "image/png");
        String prop = upload(propBytes, "prop.jpg", "image/jpeg");
        String series = "carousel " + UUID.randomUUID();
        String body = """
                {"defaults": {"quality": "low", "size": "1024x1024", "reference_images": ["%s"]},
                 "items": [
                   {"id": "frame-1", "prompt": "%s frame 1: the kettle on a stove"},
                   {"id": "frame-2", "prompt": "%s frame 2: the kettle on a picnic blanket"},
                   {"id": "frame-3", "prompt": "%s frame 3: the kettle beside a teacup", "reference_images": ["%s"]}
                 ]}
                """.formatted(product, series, series, series, prop);
        String batchId = given().contentType(ContentType.JSON).body(body).post("/v1/batches")
                .then().statusCode(202).extract().path("id");
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).untilAsserted(() ->
                given().get("/v1/batches/" + batchId).then().statusCode(200).body("state", equalTo("succeeded")));

        List<ReceivedRequest> frames = received(series);
        assertThat(frames).hasSize(3).allSatisfy(r -> assertThat(r.endpoint()).isEqualTo("edits"));
        assertThat(frames).allSatisfy(r -> assertThat(r.imageSha256s().getFirst())
                .as("the shared product is image 1 of every frame").isEqualTo(sha256(productBytes)));
        assertThat(frames).filteredOn(r -> r.prompt().contains("frame 3")).singleElement()
                .satisfies(r -> assertThat(r.imageSha256s()).as("the default product, then the item's own prop")
                        .containsExactly(sha256(productBytes), sha256(propBytes)));
        assertThat(frames).filteredOn(r -> !r.prompt().contains("frame 3"))
                .allSatisfy(r -> assertThat(r.imageCount()).isEqualTo(1));
        for (int i = 0; i < 3; i++) {
            assertOutputs(job(batchId, i), ImageFormat.PNG, 1024, 1024, 1);
        }
    }

    private void assertOutputs(JsonPath job, ImageFormat format, int width, int height, int count) throws Exception {
        assertThat(job.getString("state")).isEqualTo("succeeded");
        List<Map<String, Object>> outputs = job.getList("outputs");
        assertThat(outputs).hasSize(count);
        for (Map<String, Object> output : outputs) {
            String key = (String) output.get("key");
            try (InputStream in = minio.getObject(GetObjectArgs.builder().bucket("kiln").object(key).build())) {
                ImageInfo info = ImageProbe.probe(in.readAllBytes()).orElseThrow();
                assertThat(info.format()).as(key).isEqualTo(format);
                assertThat(info.width()).as(key).isEqualTo(width);
                assertThat(info.height()).as(key).isEqualTo(height);
            }
            assertThat(output.get("width")).isEqualTo(width);
            assertThat(output.get("height")).isEqualTo(height);
        }
        assertThat(job.getLong("usage.images")).isEqualTo(count);
        assertThat(job.getLong("usage.output_tokens")).isPositive();
        assertThat(job.getLong("usage.text_input_tokens")).isPositive();
    }

    private void assertUsageAndCost(String batchId) {
        long images = 0;
        long text = 0;
        long imageIn = 0;
        long out = 0;
        double cost = 0;
        for (int i = 0; i < 5; i++) {
            JsonPath job = job(batchId, i);
            long jobText = job.getLong("usage.text_input_tokens");
            long jobImageIn = job.getLong("usage.image_input_tokens");
            long jobOut = job.getLong("usage.output_tokens");
            double expected = (jobText * TEXT_PER_MILLION + jobImageIn * IMAGE_IN_PER_MILLION
                    + jobOut * IMAGE_OUT_PER_MILLION) / 1_000_000;
            assertThat(job.getDouble("usage.cost_usd")).as("job %d priced by the table", i).isCloseTo(expected, within(1e-9));
            if (i >= 3) {
                assertThat(jobImageIn).as("an edit pays for its reference images").isPositive();
            } else {
                assertThat(jobImageIn).as("a generation has no image input").isZero();
            }
            images += job.getLong("usage.images");
            text += jobText;
            imageIn += jobImageIn;
            out += jobOut;
            cost += job.getDouble("usage.cost_usd");
        }
        JsonPath batch = given().get("/v1/batches/" + batchId).then().extract().jsonPath();
        assertThat(batch.getLong("usage.images")).isEqualTo(images).isEqualTo(7L);
        assertThat(batch.getLong("usage.text_input_tokens")).isEqualTo(text);
        assertThat(batch.getLong("usage.image_input_tokens")).isEqualTo(imageIn);
        assertThat(batch.getLong("usage.output_tokens")).isEqualTo(out);
        assertThat(batch.getDouble("usage.cost_usd")).isCloseTo(cost, within(1e-9));
    }

    private static List<ReceivedRequest> received(String promptStart) {
        return KilnStackResource.simulator().received().stream()
                .filter(r -> r.prompt() != null && r.prompt().startsWith(promptStart) && r.accepted())
                .toList();
    }

    private static JsonPath job(String batchId, int index) {
        return given().get("/v1/jobs/%s-%06d".formatted(batchId, index)).then().statusCode(200).extract().jsonPath();
    }

    private static String upload(byte[] image, String fileName, String contentType) {
        return given().multiPart("file", fileName, image, contentType).post("/v1/uploads")
                .then().statusCode(201).extract().path("id");
    }

    private void putObject(String key, byte[] bytes, String contentType) throws Exception {
        minio.putObject(PutObjectArgs.builder().bucket("kiln").object(key)
                .stream(new ByteArrayInputStream(bytes), (long) bytes.length, null).contentType(contentType).build());
    }

    private static byte[] png(int width, int height, boolean transparentHole) throws IOException {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_ARGB);
        Graphics2D g = image.createGraphics();
        g.setColor(new Color(180, 90, 40));
        g.fillRect(0, 0, width, height);
        if (transparentHole) {
            g.setComposite(java.awt.AlphaComposite.Clear);
            g.fillRect(width / 4, height / 4, width / 2, height / 2);
        }
        g.dispose();
        return encode(image, "png");
    }

    private static byte[] jpeg(int width, int height) throws IOException {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setColor(new Color(60, 120, 200));
        g.fillRect(0, 0, width, height);
        g.dispose();
        return encode(image, "jpeg");
    }

    private static String sha256(byte[] bytes) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    private static byte[] encode(BufferedImage image, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertThat(ImageIO.write(image, format, out)).isTrue();
        return out.toByteArray();
    }
}
