package dev.kiln.localstack;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.minio.BucketExistsArgs;
import io.minio.GetObjectArgs;
import io.minio.GetPresignedObjectUrlArgs;
import io.minio.Http;
import io.minio.ListObjectsArgs;
import io.minio.MakeBucketArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.RemoveObjectArgs;
import io.minio.Result;
import io.minio.StatObjectArgs;
import io.minio.StatObjectResponse;
import io.minio.messages.Item;

/** The S3 calls Kiln makes through the MinIO SDK, against a real s3proxy child process. */
class S3ProxyServerTest {

    private static final String BUCKET = "kiln";
    private static final long PART_SIZE = 5L * 1024 * 1024;

    @TempDir
    static Path dataDir;

    private static S3ProxyServer server;
    private static MinioClient s3;

    @BeforeAll
    static void start() throws Exception {
        server = S3ProxyServer.start(S3ProxyServer.defaultJar(), dataDir, 0, "test-access", "test-secret-key");
        s3 = MinioClient.builder()
                .endpoint(server.endpoint())
                .credentials(server.accessKey(), server.secretKey())
                .build();
        s3.makeBucket(MakeBucketArgs.builder().bucket(BUCKET).build());
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void bucketExists() throws Exception {
        assertThat(s3.bucketExists(BucketExistsArgs.builder().bucket(BUCKET).build())).isTrue();
    }

    @Test
    void putsWithUnknownSizeThenStatsGetsPresignsListsAndRemoves() throws Exception {
        // Larger than one part, so the SDK takes its multipart path.
        byte[] image = new byte[(int) PART_SIZE + 123_456];
        new Random(42).nextBytes(image);
        String key = "acme/batch-1/sku-1/0.png";

        s3.putObject(PutObjectArgs.builder().bucket(BUCKET).object(key)
                .stream(new ByteArrayInputStream(image), -1L, PART_SIZE)
                .contentType("image/png")
                .build());

        StatObjectResponse stat = s3.statObject(StatObjectArgs.builder().bucket(BUCKET).object(key).build());
        assertThat(stat.size()).isEqualTo(image.length);
        assertThat(stat.contentType()).isEqualTo("image/png");

        try (InputStream in = s3.getObject(GetObjectArgs.builder().bucket(BUCKET).object(key).build())) {
            assertThat(in.readAllBytes()).isEqualTo(image);
        }

        String url = s3.getPresignedObjectUrl(GetPresignedObjectUrlArgs.builder()
                .method(Http.Method.GET).bucket(BUCKET).object(key).expiry(10, TimeUnit.MINUTES).build());
        HttpResponse<byte[]> fetched = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create(url)).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
        assertThat(fetched.statusCode()).isEqualTo(200);
        assertThat(fetched.body()).isEqualTo(image);

        assertThat(list("acme/batch-1/")).containsExactly(key);

        s3.removeObject(RemoveObjectArgs.builder().bucket(BUCKET).object(key).build());
        assertThat(list("acme/batch-1/")).isEmpty();
    }

    @Test
    void closeStopsTheChildProcess() {
        S3ProxyServer other = S3ProxyServer.start(S3ProxyServer.defaultJar(), dataDir.resolve("other"), 0, "a", "b");
        other.close();
        other.close();
        assertThat(HttpProbe.answers(other.endpoint())).isFalse();
    }

    private static List<String> list(String prefix) throws Exception {
        List<String> keys = new ArrayList<>();
        for (Result<Item> result : s3.listObjects(
                ListObjectsArgs.builder().bucket(BUCKET).prefix(prefix).recursive(true).build())) {
            keys.add(result.get().objectName());
        }
        return keys;
    }

    /** Tells whether anything answers HTTP at a URL. */
    private static final class HttpProbe {
        static boolean answers(String url) {
            try {
                HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).build(),
                        HttpResponse.BodyHandlers.discarding());
                return true;
            } catch (Exception e) {
                return false;
            }
        }
    }
}
