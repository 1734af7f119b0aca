package dev.kiln.storage;

import dev.kiln.image.CheckedImage;
import dev.kiln.image.ImageFormat;
import dev.kiln.image.ImageInfo;
import dev.kiln.image.ImageProbe;
import dev.kiln.job.ImageParameters;
import dev.kiln.job.JobOutput;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.job.RenderKey;
import dev.kiln.job.Usage;
import dev.kiln.localstack.S3ProxyServer;
import dev.kiln.testing.TestImages;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.minio.MinioClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Thumbnails in a real S3 server (s3proxy): storing a 3840x2160 output also stores
 * {@code {index}.thumb.{ext}} beside it, 256x144 in the same format, with its size in its
 * metadata; a render-cache hit copies the thumbnail with the output.
 */
class ThumbnailStorageTest {

    @TempDir
    static Path dataDir;

    private static S3ProxyServer server;
    private static ObjectStore store;

    @BeforeAll
    static void start() throws Exception {
        server = S3ProxyServer.start(S3ProxyServer.defaultJar(), dataDir.resolve("s3"), 0, "test-access", "test-secret-key");
        S3Config config = new TestS3Config(server.endpoint(), Optional.empty(), server.accessKey(), server.secretKey());
        MinioClient client = MinioClient.builder().endpoint(config.endpoint())
                .credentials(config.accessKey(), config.secretKey()).region(config.region()).build();
        store = new ObjectStore(client, config, new StorageHealth(new SimpleMeterRegistry(), config));
        store.ensureBucket();
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    @ParameterizedTest
    @EnumSource(ImageFormat.class)
    void aStored4kOutputHasA256PxThumbnailBesideIt(ImageFormat format) throws Exception {
        RenderJobRequested job = job("b_thumb" + format.extension(), format, 1);
        CheckedImage image = image(job, format, 3840, 2160);

        List<JobOutput> stored = new OutputUploader(store).storeAll(job, List.of(image), Usage.ZERO, false);

        String outputKey = stored.getFirst().key();
        assertThat(outputKey).isEqualTo("acme/" + job.batchId() + "/SKU-1/0." + format.extension());
        String thumbKey = "acme/" + job.batchId() + "/SKU-1/0.thumb." + format.extension();
        assertThat(ObjectKeys.thumbnail(outputKey)).isEqualTo(thumbKey);
        ObjectStore.StoredObject thumb = store.stat(thumbKey).orElseThrow();
        assertThat(thumb.contentType()).isEqualTo(format.contentType());
        assertThat(thumb.metadata()).containsEntry(ImageMetadata.WIDTH, "256").containsEntry(ImageMetadata.HEIGHT, "144");
        assertThat(thumb.bytes()).as("much smaller than the output").isLessThan(image.bytes() / 4);
        try (InputStream in = store.open(thumbKey).orElseThrow()) {
            ImageInfo info = ImageProbe.probe(in.readAllBytes()).orElseThrow();
            assertThat(info.format()).isEqualTo(format);
            assertThat(info.width()).isEqualTo(256);
            assertThat(info.height()).isEqualTo(144);
        }
    }

    @Test
    void aCacheHitCopiesTheThumbnailToo() throws Exception {
        String prompt = "a mug " + UUID.randomUUID();
        RenderJobRequested first = job("b_thumbcache1", ImageFormat.PNG, 1, prompt);
        RenderJobRequested second = job("b_thumbcache2", ImageFormat.PNG, 1, prompt);
        RenderCache cache = new RenderCache(store, new ReferenceDigests(store));
        RenderKey key = cache.keyOf(first).orElseThrow();
        List<JobOutput> stored = new OutputUploader(store).storeAll(first,
                List.of(image(first, ImageFormat.PNG, 1536, 1024)), Usage.ZERO, false);
        cache.remember(first, key, stored, Usage.ZERO);

        List<JobOutput> served = cache.serve(second, key).orElseThrow();

        ObjectStore.StoredObject thumb = store.stat(ObjectKeys.thumbnail(served.getFirst().key())).orElseThrow();
        assertThat(thumb.metadata()).containsEntry(ImageMetadata.WIDTH, "256").containsEntry(ImageMetadata.HEIGHT, "171");
        assertThat(thumb.contentType()).isEqualTo("image/png");
    }

    private static CheckedImage image(RenderJobRequested job, ImageFormat format, int width, int height) throws Exception {
        byte[] bytes = switch (format) {
            case PNG -> TestImages.png(width, height);
            case JPEG -> TestImages.jpeg(width, height);
            case WEBP -> TestImages.webp(width, height);
        };
        Path file = Files.write(dataDir.resolve(job.batchId() + "." + format.extension()), bytes);
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        return new CheckedImage(0, file, format, width, height, bytes.length, sha);
    }

    private static RenderJobRequested job(String batch, ImageFormat format, int n) {
        return job(batch, format, n, "a mug");
    }

    private static RenderJobRequested job(String batch, ImageFormat format, int n, String prompt) {
        return new RenderJobRequested(batch + "-000000", batch, "acme", "SKU-1", 0, prompt,
                new ImageParameters("gpt-image-2", "3840x2160", "low", null, format.apiName(), null, null, n, null),
                List.of(), null, Map.of(), 1, Instant.now());
    }
}
