package dev.kiln.storage;

import dev.kiln.image.CheckedImage;
import dev.kiln.image.ImageFormat;
import dev.kiln.job.ImageParameters;
import dev.kiln.job.JobOutput;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.job.RenderKey;
import dev.kiln.job.Usage;
import dev.kiln.localstack.S3ProxyServer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.minio.MakeBucketArgs;
import io.minio.MinioClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The render cache's index against a real S3 server (s3proxy), through the MinIO SDK: entries are
 * per tenant and never found across tenants, a hit copies server-side to the new item's keys with
 * the cached marker, a deleted original is a miss, and reference digests come from metadata or
 * are computed. (The test profile runs open, as one tenant; tenant separation is proved here.)
 */
class RenderCacheTest {

    @TempDir
    static Path dataDir;

    private static S3ProxyServer server;
    private static ObjectStore store;
    private static RenderCache cache;

    /** Each test renders its own prompt, so that no test finds another's entries. */
    private String prompt;

    @org.junit.jupiter.api.BeforeEach
    void freshPrompt() {
        prompt = "a mug on a table " + java.util.UUID.randomUUID();
    }

    @BeforeAll
    static void start() throws Exception {
        server = S3ProxyServer.start(S3ProxyServer.defaultJar(), dataDir.resolve("s3"), 0, "test-access", "test-secret-key");
        MinioClient client = MinioClient.builder().endpoint(server.endpoint())
                .credentials(server.accessKey(), server.secretKey()).build();
        client.makeBucket(MakeBucketArgs.builder().bucket("kiln").build());
        S3Config config = config(server.endpoint());
        store = new ObjectStore(client, config, new StorageHealth(new SimpleMeterRegistry(), config));
        cache = new RenderCache(store, new ReferenceDigests(store));
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void aHitCopiesTheEarlierOutputsServerSideWithinItsTenant() throws Exception {
        RenderJobRequested first = job("acme", "b_one", List.of(), null, 2);
        RenderJobRequested second = job("acme", "b_two", List.of(), null, 2);
        RenderKey key = cache.keyOf(first).orElseThrow();
        assertThat(cache.keyOf(second)).contains(key);
        assertThat(cache.serve(second, key)).isEmpty();

        List<JobOutput> stored = storeOutputs(first, 2);
        cache.remember(first, key, stored, new Usage(2, 10, 0, 392, 0.01181));

        List<JobOutput> copied = cache.serve(second, key).orElseThrow();
        assertThat(copied).extracting(JobOutput::key)
                .containsExactly(OutputUploader.keyOf(second, 0), OutputUploader.keyOf(second, 1));
        assertThat(copied).extracting(JobOutput::sha256).containsExactlyElementsOf(stored.stream().map(JobOutput::sha256).toList());
        ObjectStore.StoredObject object = store.stat(OutputUploader.keyOf(second, 1)).orElseThrow();
        assertThat(object.bytes()).isEqualTo(stored.get(1).bytes());
        assertThat(object.contentType()).isEqualTo("image/png");
        assertThat(object.metadata()).containsEntry(ImageMetadata.CACHED, key.hex())
                .containsEntry(ImageMetadata.SHA256, stored.get(1).sha256());
        // A redelivery of the served job finds its outputs stored, and still says cached, at zero cost.
        OutputUploader.StoredResult again = new OutputUploader(store).findComplete(second).orElseThrow();
        assertThat(again.cached()).isTrue();
        assertThat(again.usage().costUsd()).isZero();
        assertThat(again.usage().cached()).isEqualTo(1);
    }

    @Test
    void anotherTenantNeverHitsEvenWithTheSameRenderKey() throws Exception {
        RenderJobRequested acme = job("acme", "b_three", List.of(), null, 1);
        RenderJobRequested globex = job("globex", "b_four", List.of(), null, 1);
        RenderKey key = cache.keyOf(acme).orElseThrow();
        assertThat(cache.keyOf(globex)).contains(key); // the same render has the same key ...
        cache.remember(acme, key, storeOutputs(acme, 1), Usage.ZERO);
        assertThat(cache.lookup("acme", key)).isPresent();
        assertThat(cache.lookup("globex", key)).isEmpty(); // ... but each tenant has its own index
        assertThat(cache.serve(globex, key)).isEmpty();
        assertThat(store.stat(OutputUploader.keyOf(globex, 0))).isEmpty();
        assertThat(ObjectKeys.cacheEntry("acme", key.hex())).isEqualTo("acme/cache/" + key.hex() + ".json");
    }

    @Test
    void anEntryNamingAnotherTenantsObjectIsNeverServed() throws Exception {
        RenderJobRequested acme = job("acme", "b_five", List.of(), null, 1);
        RenderJobRequested globex = job("globex", "b_six", List.of(), null, 1);
        RenderKey key = cache.keyOf(acme).orElseThrow();
        // A hand-made entry under globex's prefix pointing at acme's object.
        cache.remember(globex, key, storeOutputs(acme, 1), Usage.ZERO);
        assertThat(cache.lookup("globex", key)).isPresent();
        assertThat(cache.serve(globex, key)).isEmpty();
    }

    @Test
    void aDeletedOriginalIsAMissAndOptingOutHasNoKey() {
        RenderJobRequested first = job("acme", "b_seven", List.of(), null, 1);
        RenderKey key = cache.keyOf(first).orElseThrow();
        cache.remember(first, key, List.of(new JobOutput(0, "acme/b_gone/SKU-1/0.png", "image/png", 10, 1024, 1024,
                "d".repeat(64))), Usage.ZERO);
        assertThat(cache.serve(job("acme", "b_eight", List.of(), null, 1), key)).isEmpty();
        assertThat(cache.keyOf(first.withCache(false))).isEmpty();
    }

    @Test
    void referenceDigestsComeFromMetadataOrAreComputedAndChangeTheKey() throws Exception {
        Path a = Files.write(dataDir.resolve("ref-a.png"), "reference A".getBytes(StandardCharsets.UTF_8));
        Path b = Files.write(dataDir.resolve("ref-b.png"), "reference B".getBytes(StandardCharsets.UTF_8));
        store.put("acme/uploads/up_a", a, "image/png", Map.of(ImageMetadata.SHA256, "a".repeat(64)));
        store.put("acme/uploads/up_b", b, "image/png", Map.of()); // no digest in its metadata: computed
        ReferenceDigests.Digests digests = new ReferenceDigests(store)
                .of(job("acme", "b_nine", List.of("acme/uploads/up_a", "acme/uploads/up_b"), null, 1)).orElseThrow();
        assertThat(digests.references()).containsExactly("a".repeat(64), sha256("reference B"));

        RenderKey ab = cache.keyOf(job("acme", "b_ten", List.of("acme/uploads/up_a", "acme/uploads/up_b"), null, 1)).orElseThrow();
        RenderKey ba = cache.keyOf(job("acme", "b_ten", List.of("acme/uploads/up_b", "acme/uploads/up_a"), null, 1)).orElseThrow();
        RenderKey masked = cache.keyOf(job("acme", "b_ten", List.of("acme/uploads/up_a", "acme/uploads/up_b"),
                "acme/uploads/up_b", 1)).orElseThrow();
        assertThat(Set.of(ab, ba, masked)).hasSize(3);
        // The digests behind a key, by object key, as the worker announces them with a fresh render:
        // the dispatcher keys a later edit of the same objects from them alone, and gets the same key.
        RenderJobRequested edit = job("acme", "b_ten", List.of("acme/uploads/up_a", "acme/uploads/up_b"), "acme/uploads/up_b", 1);
        RenderCache.Keyed keyed = cache.keyed(edit).orElseThrow();
        assertThat(keyed.key()).isEqualTo(masked);
        assertThat(keyed.sha256ByReference()).isEqualTo(Map.of("acme/uploads/up_a", "a".repeat(64),
                "acme/uploads/up_b", sha256("reference B")));
        assertThat(RenderKey.of(edit, edit.referenceImages().stream().map(keyed.sha256ByReference()::get).toList(),
                keyed.sha256ByReference().get(edit.mask()))).isEqualTo(masked);
        assertThat(cache.keyed(job("acme", "b_ten", List.of(), null, 1)).orElseThrow().sha256ByReference()).isEmpty();
        // A URL reference has no digest before it is fetched: no key, no cache.
        assertThat(cache.keyOf(job("acme", "b_ten", List.of("https://example.com/a.png"), null, 1))).isEmpty();
        // Another tenant's object is never digested for this tenant.
        assertThat(cache.keyOf(job("globex", "b_ten", List.of("acme/uploads/up_a"), null, 1))).isEmpty();
    }

    private List<JobOutput> storeOutputs(RenderJobRequested job, int n) throws Exception {
        OutputUploader uploader = new OutputUploader(store);
        List<JobOutput> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String content = "image " + i + " of " + job.jobId();
            Path file = Files.write(dataDir.resolve(job.jobId() + "-" + i + ".png"), content.getBytes(StandardCharsets.UTF_8));
            out.add(uploader.put(job, new CheckedImage(i, file, ImageFormat.PNG, 1024, 1024, Files.size(file), sha256(content)),
                    Usage.ZERO));
        }
        return out;
    }

    private RenderJobRequested job(String tenant, String batch, List<String> refs, String mask, int n) {
        return new RenderJobRequested(batch + "-000000", batch, tenant, "SKU-1", 0, prompt,
                new ImageParameters("gpt-image-2", "1024x1024", "low", null, "png", null, null, n, null),
                refs, mask, Map.of(), 1, Instant.now());
    }

    private static String sha256(String text) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    }

    private static S3Config config(String endpoint) {
        return new S3Config() {
            public String endpoint() { return endpoint; }
            public java.util.Optional<String> publicEndpoint() { return java.util.Optional.empty(); }
            public String accessKey() { return "test-access"; }
            public String secretKey() { return "test-secret-key"; }
            public String bucket() { return "kiln"; }
            public String region() { return "us-east-1"; }
            public Duration presignExpiry() { return Duration.ofHours(1); }
            public boolean createBucket() { return false; }
            public Duration connectTimeout() { return Duration.ofSeconds(5); }
            public Duration readTimeout() { return Duration.ofSeconds(5); }
            public Duration writeTimeout() { return Duration.ofSeconds(5); }
            public Duration callTimeout() { return Duration.ofSeconds(10); }
            public Duration healthInterval() { return Duration.ofSeconds(1); }
        };
    }
}
