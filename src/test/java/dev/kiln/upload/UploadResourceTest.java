package dev.kiln.upload;

import dev.kiln.job.JobIds;
import dev.kiln.testing.KilnStackResource;
import dev.kiln.testing.TestImages;
import io.minio.MinioClient;
import io.minio.StatObjectArgs;
import io.minio.StatObjectResponse;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.path.json.JsonPath;
import io.restassured.specification.RequestSpecification;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

/** {@code POST /v1/uploads} against a real S3 server: what is stored, and what is refused and why. */
@QuarkusTest
@WithTestResource(KilnStackResource.class)
class UploadResourceTest {

    private static final int MAX_BYTES = 50 * 1024 * 1024;

    @Inject
    MinioClient minio;

    @ParameterizedTest(name = "{0}")
    @CsvSource({"png, image/png, 1024, 1024", "jpeg, image/jpeg, 1536, 1024", "webp, image/webp, 320, 200"})
    void aPngJpegOrWebpIsStoredUnderTheTenantsUploadsWithItsMetadata(String format, String contentType, int width,
                                                                     int height) throws Exception {
        byte[] image = switch (format) {
            case "png" -> TestImages.png(width, height);
            case "jpeg" -> TestImages.jpeg(width, height);
            default -> TestImages.webp(width, height);
        };
        // The declared type is wrong on purpose: Kiln goes by the decoded bytes.
        JsonPath upload = given().multiPart("file", "photo.bin", image, "application/octet-stream")
                .when().post("/v1/uploads")
                .then().statusCode(201)
                .header("Location", containsString("/v1/uploads/upl_"))
                .extract().jsonPath();

        String id = upload.getString("id");
        assertThat(JobIds.isUploadId(id)).isTrue();
        assertThat(upload.getString("object_key")).isEqualTo("default/uploads/" + id);
        assertThat(upload.getString("content_type")).isEqualTo(contentType);
        assertThat(upload.getLong("bytes")).isEqualTo(image.length);
        assertThat(upload.getInt("width")).isEqualTo(width);
        assertThat(upload.getInt("height")).isEqualTo(height);
        assertThat(upload.getString("sha256")).isEqualTo(JobIds.sha256Hex(image));

        StatObjectResponse stored = minio.statObject(StatObjectArgs.builder().bucket("kiln").object("default/uploads/" + id).build());
        assertThat(stored.size()).isEqualTo(image.length);
        assertThat(stored.contentType()).isEqualTo(contentType);
        Map<String, String> metadata = new java.util.HashMap<>();
        stored.userMetadata().forEach(e -> metadata.put(e.getKey().toLowerCase(), e.getValue()));
        assertThat(metadata).containsAllEntriesOf(Map.of(
                "kiln-sha256", JobIds.sha256Hex(image),
                "kiln-width", Integer.toString(width),
                "kiln-height", Integer.toString(height)));

        given().get("/v1/uploads/" + id).then().statusCode(200)
                .body("id", equalTo(id))
                .body("object_key", equalTo("default/uploads/" + id))
                .body("content_type", equalTo(contentType))
                .body("width", equalTo(width))
                .body("height", equalTo(height))
                .body("sha256", equalTo(JobIds.sha256Hex(image)));
    }

    @Test
    void aFileOfAnotherTypeIsRefusedNamingTheFile() {
        byte[] gif = "GIF89a\u0001\u0000\u0001\u0000\u0080\u0000\u0000".getBytes();
        refused(given().multiPart("file", "a.gif", gif, "image/gif"), 400, "png, jpeg or webp");
        refused(given().multiPart("file", "a.png", "not an image at all".getBytes(), "image/png"), 400, "png, jpeg or webp");
    }

    @Test
    void anImageThatDoesNotDecodeIsRefusedNamingTheFile() {
        byte[] png = TestImages.png(640, 480);
        refused(given().multiPart("file", "half.png", Arrays.copyOf(png, png.length / 2), "image/png"), 400, "could not be decoded as png");
        byte[] webp = TestImages.webp(64, 64);
        refused(given().multiPart("file", "cut.webp", Arrays.copyOf(webp, webp.length - 100), "image/webp"), 400, "could not be decoded as webp");
    }

    @Test
    void aFileOverFiftyMegabytesIsRefusedNamingTheFile() throws Exception {
        // The JDK client streams the 50 MB body; RestAssured's multipart encoding of it takes far longer.
        byte[] png = TestImages.png(64, 64);
        String boundary = "kiln-test-boundary";
        byte[] head = ("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"huge.png\"\r\n"
                + "Content-Type: image/png\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        byte[] tail = ("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.US_ASCII);
        HttpRequest request = HttpRequest.newBuilder(URI.create(RestAssured.baseURI + ":" + RestAssured.port + "/v1/uploads"))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.concat(HttpRequest.BodyPublishers.ofByteArray(head),
                        HttpRequest.BodyPublishers.ofByteArray(Arrays.copyOf(png, MAX_BYTES + 1)),
                        HttpRequest.BodyPublishers.ofByteArray(tail)))
                .build();
        HttpResponse<String> response = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(413);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        JsonPath problem = new JsonPath(response.body());
        assertThat(problem.getString("errors[0].field")).isEqualTo("file");
        assertThat(problem.getString("errors[0].reason")).contains("at most " + MAX_BYTES + " bytes");
    }

    @Test
    void aRequestWithoutTheFilePartIsRefusedNamingTheFile() {
        refused(given().multiPart("image", "a.png", TestImages.png(8, 8), "image/png"), 400, "is required");
        given().get("/v1/uploads/upl_00000000000000000000000000").then().statusCode(404)
                .contentType("application/problem+json");
    }

    private static void refused(RequestSpecification request, int status, String reason) {
        request.when().post("/v1/uploads")
                .then().statusCode(status)
                .contentType("application/problem+json")
                .body("errors[0].field", equalTo("file"))
                .body("errors[0].reason", containsString(reason));
    }
}
