package dev.kiln.storage;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.minio.MinioClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link SigV4Presigner} makes the very URLs the MinIO SDK makes: for many keys (unicode, every
 * character S3 must escape) and several endpoint shapes (path style, a public endpoint on the
 * default https port, AWS' virtual-host style), the string {@link ObjectStore#presignedGet}
 * returns equals the SDK's, character for character, at the second the SDK signed. No server is
 * needed: presigning is local. {@code PublicEndpointTest} has a real S3 server accept the URLs.
 */
class SigV4PresignerTest {

    private static final DateTimeFormatter AMZ_DATE = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'", Locale.US)
            .withZone(ZoneOffset.UTC);

    /** Keys by hand: the characters that need escaping, multi-byte UTF-8, a surrogate pair. */
    private static final List<String> ITEMS = List.of("SKU-1", "Mug ☕", "naïve café", "emoji 😀 end", "a b+c=d&e",
            "100%", "x?y#z", "semi;colon:at@", "brackets[]{}", "quote'\"<>|^`", "tilde~under_score.dot-dash",
            "日本語の商品", "back\\slash", "comma,excl!dollar$star*paren()", "tab\u00a0nbsp", "Ω≈ç√∫", "..dots..", "-");

    private final MutableClock clock = new MutableClock();

    @ParameterizedTest
    @ValueSource(strings = {"http://127.0.0.1:9000", "https://s3.example.com", "http://minio:80", "https://s3.amazonaws.com"})
    void urlsEqualTheSdksForManyKeys(String publicEndpoint) {
        ObjectStore store = store("http://127.0.0.1:9000", Optional.of(publicEndpoint));
        List<String> keys = handMadeKeys();

        for (String key : keys) {
            String sdk = store.sdkPresignedGet(key);
            clock.set(signedAt(sdk));
            assertThat(store.presignedGet("acme", key)).as(key).isEqualTo(sdk);
        }
        assertThat(keys).hasSizeGreaterThan(50);
    }

    @ParameterizedTest
    @ValueSource(strings = {"http://127.0.0.1:9000", "https://s3.example.com", "http://minio:80", "https://s3.amazonaws.com"})
    void urlsWrittenIntoAnAnswerEqualTheSdksForEveryPlainKey(String publicEndpoint) {
        ObjectStore store = store("http://127.0.0.1:9000", Optional.of(publicEndpoint));
        List<String> keys = handMadeKeys();
        keys.addAll(randomKeys(40));
        int written = 0;

        for (String key : keys) {
            String sdk = store.sdkPresignedGet(key);
            clock.set(signedAt(sdk));
            byte[] utf8 = key.getBytes(StandardCharsets.UTF_8);
            // The key sits inside a larger array, as it does in a stored job.
            byte[] around = new byte[utf8.length + 7];
            System.arraycopy(utf8, 0, around, 3, utf8.length);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.write('>');

            boolean wrote = store.writePresignedGet("acme", around, 3, utf8.length, out);

            boolean plain = key.chars().allMatch(c -> c >= 0x20 && c <= 0x7e);
            assertThat(wrote).as("written in place: " + key).isEqualTo(plain);
            assertThat(out.toString(StandardCharsets.ISO_8859_1)).as(key).isEqualTo(wrote ? ">" + sdk : ">");
            if (wrote) {
                written++;
                assertThat(sdk).as("JSON-safe as it is").doesNotContain("\"", "\\");
            }
        }
        assertThat(written).as("plain keys among them").isGreaterThan(20);
    }

    @Test
    void urlsWrittenIntoAnAnswerAreOnlyTheTenantsOwn() {
        ObjectStore store = store("http://127.0.0.1:9000", Optional.empty());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String key : List.of("acmex/b_1/SKU-1/0.png", "other/b_1/SKU-1/0.png", "acme", "acme/", "acme//x.png",
                "acme/./x.png", "acme/../other/x.png", "acme/b_1/x\u0001.png", "acme/b_1/x\u007f.png", "/acme/x.png")) {
            byte[] utf8 = key.getBytes(StandardCharsets.UTF_8);
            assertThat(store.writePresignedGet("acme", utf8, 0, utf8.length, out)).as(key).isFalse();
            assertThat(ObjectKeys.isOwnedBy("acme", key)).as("the string path refuses it too: " + key).isFalse();
        }
        assertThat(out.size()).as("nothing written for a declined key").isZero();
        byte[] own = "acme/b_1/SKU-1/0.png".getBytes(StandardCharsets.UTF_8);
        assertThat(store.writePresignedGet("acme", own, 0, own.length, out)).isTrue();
        assertThat(store.writePresignedGet("acm", own, 0, own.length, out)).as("a tenant whose id prefixes another's").isFalse();
    }

    @Test
    void withoutAPublicEndpointUrlsEqualTheSdksForKilnsOwnEndpoint() {
        // The SDK takes milliseconds a URL on a loaded machine: a few hundred random keys, not thousands.
        ObjectStore store = store("http://localhost:9000", Optional.empty());
        List<String> keys = randomKeys(200);
        keys.addAll(handMadeKeys());
        for (String key : keys) {
            String sdk = store.sdkPresignedGet(key);
            clock.set(signedAt(sdk));
            assertThat(store.presignedGet("acme", key)).as(key).isEqualTo(sdk);
        }
    }

    @Test
    void awsEndpointsGetVirtualHostStyleUrlsAsTheSdkMakesThem() {
        ObjectStore store = store("https://s3.amazonaws.com", Optional.empty());
        String sdk = store.sdkPresignedGet("acme/b_1/SKU-1/0.png");
        clock.set(signedAt(sdk));

        String url = store.presignedGet("acme", "acme/b_1/SKU-1/0.png");

        assertThat(url).isEqualTo(sdk);
        assertThat(URI.create(url).getHost()).as("virtual-host style: the bucket names the host").startsWith("kiln.");
    }

    @Test
    void matchesAwsDocumentedExample() {
        // The presigned URL example of the S3 API reference ("Authenticating Requests: Using Query
        // Parameters"): an implementation independent of the SDK, at its fixed time.
        SigV4Presigner presigner = new SigV4Presigner("https://examplebucket.s3.amazonaws.com/", "/",
                "examplebucket.s3.amazonaws.com", "us-east-1", "AKIAIOSFODNN7EXAMPLE",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", 86_400,
                Clock.fixed(Instant.parse("2013-05-24T00:00:00Z"), ZoneOffset.UTC));

        assertThat(presigner.presignGet("test.txt")).isEqualTo("https://examplebucket.s3.amazonaws.com/test.txt"
                + "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                + "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                + "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
                + "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] key = "test.txt".getBytes(StandardCharsets.UTF_8);
        assertThat(presigner.writePresignedGet(key, 0, key.length, out)).isTrue();
        assertThat(out.toString(StandardCharsets.ISO_8859_1)).isEqualTo(presigner.presignGet("test.txt"));
    }

    @Test
    void theSigningKeyFollowsTheDay() {
        // One presigner crossing midnight and back signs as presigners that start on each day.
        Instant before = Instant.parse("2026-11-29T23:59:59Z");
        Instant after = Instant.parse("2026-11-30T00:00:00Z");
        SigV4Presigner crossing = presigner(clock);
        String key = "acme/b_1/Mug ☕/0.png";

        clock.set(before);
        String first = crossing.presignGet(key);
        clock.set(after);
        String second = crossing.presignGet(key);
        clock.set(before);
        String third = crossing.presignGet(key);

        assertThat(second).isEqualTo(presigner(Clock.fixed(after, ZoneOffset.UTC)).presignGet(key))
                .contains("%2F20261130%2F").contains("X-Amz-Date=20261130T000000Z");
        assertThat(first).isEqualTo(third).isEqualTo(presigner(Clock.fixed(before, ZoneOffset.UTC)).presignGet(key))
                .contains("%2F20261129%2F");
        assertThat(signature(first)).isNotEqualTo(signature(second));
    }

    @Test
    void declinesKeysTheSdkWouldRewriteAndTheStoreFallsBackToTheSdk() {
        SigV4Presigner presigner = presigner(clock);
        for (String key : List.of("acme//x.png", "acme/./x.png", "acme/../x.png", "/acme/x.png", "acme/x/", "",
                "acme/\ud800x.png")) {
            assertThat(presigner.presignGet(key)).as(key).isNull();
        }
        assertThat(presigner.presignGet("acme/.../x.png")).as("three dots are a name").isNotNull();
    }

    @Test
    void manyThreadsSignAsOne() throws Exception {
        ObjectStore store = store("http://127.0.0.1:9000", Optional.empty());
        clock.set(Instant.parse("2026-11-30T08:00:00Z"));
        List<String> keys = randomKeys(200);
        List<String> expected = keys.stream().map(k -> store.presignedGet("acme", k)).toList();
        List<Thread> threads = new ArrayList<>();
        List<String> mismatches = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int t = 0; t < 4; t++) {
            threads.add(Thread.ofPlatform().start(() -> {
                for (int round = 0; round < 5; round++) {
                    for (int i = 0; i < keys.size(); i++) {
                        if (!store.presignedGet("acme", keys.get(i)).equals(expected.get(i))) {
                            mismatches.add(keys.get(i));
                        }
                    }
                }
            }));
        }
        for (Thread thread : threads) {
            thread.join();
        }
        assertThat(mismatches).isEmpty();
    }

    @Test
    void theSecretIsInNoUrl() {
        ObjectStore store = store("http://127.0.0.1:9000", Optional.empty());
        clock.set(Instant.parse("2026-11-30T08:00:00Z"));
        assertThat(store.presignedGet("acme", "acme/b_1/SKU-1/0.png")).doesNotContain("test-secret-key")
                .contains("X-Amz-Credential=test-access%2F20261130%2Fus-east-1%2Fs3%2Faws4_request");
    }

    /** The hand-made items, as raw keys and as {@link ObjectKeys} makes them. */
    private static List<String> handMadeKeys() {
        List<String> keys = new ArrayList<>();
        for (String item : ITEMS) {
            keys.add("acme/b_1/" + item + "/0.png");
            keys.add(ObjectKeys.output("acme", "b_1", item, 0, "png"));
            keys.add(ObjectKeys.thumbnail(ObjectKeys.output("acme", "b_1", item, 0, "png")));
        }
        keys.add(ObjectKeys.manifest("acme", "b_1"));
        return keys;
    }

    /** Raw keys of random characters from a mix of those S3 must escape, multi-byte ones and safe ones. */
    private static List<String> randomKeys(int count) {
        List<String> keys = new ArrayList<>();
        String alphabet = "abcXYZ019-._~ !\"#$%&'()*+,;:=?@[]{}<>|\\^`äßé☕日😀\u00a0";
        Random random = new Random(5);
        for (int i = 0; i < count; i++) {
            StringBuilder item = new StringBuilder();
            int length = 1 + random.nextInt(24);
            for (int c = 0; c < length; c++) {
                item.appendCodePoint(alphabet.codePointAt(alphabet.offsetByCodePoints(0,
                        random.nextInt(alphabet.codePointCount(0, alphabet.length())))));
            }
            keys.add("acme/b_" + i + "/" + item + "/" + i % 4 + ".png");
        }
        return keys;
    }

    private static Instant signedAt(String url) {
        String date = url.replaceAll(".*[?&]X-Amz-Date=([0-9TZ]+).*", "$1");
        return AMZ_DATE.parse(date, Instant::from);
    }

    private static String signature(String url) {
        return url.substring(url.indexOf("X-Amz-Signature="));
    }

    private static SigV4Presigner presigner(Clock clock) {
        return new SigV4Presigner("http://127.0.0.1:9000/kiln/", "/kiln/", "127.0.0.1:9000", "us-east-1",
                "test-access", "test-secret-key", 3600, clock);
    }

    private ObjectStore store(String endpoint, Optional<String> publicEndpoint) {
        S3Config config = new TestS3Config(endpoint, publicEndpoint, "test-access", "test-secret-key");
        MinioClient client = MinioClient.builder().endpoint(config.endpoint())
                .credentials(config.accessKey(), config.secretKey()).region(config.region()).build();
        ObjectStore store = new ObjectStore(client, config, new StorageHealth(new SimpleMeterRegistry(), config), clock);
        assertThat(store.presignsWithoutTheSdk()).as("the fast presigner recognised the SDK's URL for " + endpoint).isTrue();
        return store;
    }

    /** A clock the test sets to the second the SDK signed at. */
    private static final class MutableClock extends Clock {
        private volatile Instant now = Instant.parse("2026-11-30T08:00:00Z");

        void set(Instant instant) {
            now = instant;
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }
    }
}
