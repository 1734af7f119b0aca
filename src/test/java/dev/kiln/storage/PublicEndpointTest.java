package dev.kiln.storage;

import dev.kiln.localstack.S3ProxyServer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.minio.MinioClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code KILN_S3_PUBLIC_ENDPOINT} against a real S3 server (s3proxy): Kiln stores through its own
 * endpoint, and presigned URLs name the public one and are signed for it, so S3 accepts them
 * there and refuses the same signature under another host.
 *
 * <p>s3proxy listens on 127.0.0.1; {@code localhost} plays the public name of the same server.
 */
class PublicEndpointTest {

    private static final String KEY = "acme/b_public/SKU-1/0.png";
    private static final byte[] BYTES = "not really a png".getBytes(StandardCharsets.UTF_8);

    @TempDir
    static Path dataDir;

    private static S3ProxyServer server;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        server = S3ProxyServer.start(S3ProxyServer.defaultJar(), dataDir, 0, "test-access", "test-secret-key");
        store(Optional.empty()).ensureBucket();
        store(Optional.empty()).putBytes(KEY, BYTES, "image/png", Map.of());
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void presignedUrlsNameAndAreSignedForThePublicEndpoint() throws Exception {
        String publicEndpoint = server.endpoint().replace("127.0.0.1", "localhost");
        assertThat(publicEndpoint).isNotEqualTo(server.endpoint());

        String url = store(Optional.of(publicEndpoint)).presignedGet("acme", KEY);

        assertThat(url).startsWith(publicEndpoint + "/kiln/" + KEY + "?");
        HttpResponse<byte[]> answer = get(url);
        assertThat(answer.statusCode()).as("S3 accepts the URL at the public host").isEqualTo(200);
        assertThat(answer.body()).isEqualTo(BYTES);

        String sameSignatureOtherHost = url.replace(publicEndpoint, server.endpoint());
        assertThat(get(sameSignatureOtherHost).statusCode())
                .as("the signature covers the host: rewriting a URL after signing would not do").isEqualTo(403);
    }

    @Test
    void urlsOfKeysThatNeedEscapingAreAcceptedByS3() throws Exception {
        // Signed by SigV4Presigner, not the SDK: the key's path must be encoded exactly as S3
        // canonicalises it, or the server computes another signature and answers 403.
        String publicEndpoint = server.endpoint().replace("127.0.0.1", "localhost");
        ObjectStore store = store(Optional.of(publicEndpoint));
        assertThat(store.presignsWithoutTheSdk()).isTrue();
        for (String key : List.of("acme/b_public/Mug ☕ naïve (1) a+b=c&d;e@f!/0.png",
                ObjectKeys.output("acme", "b_public", "日本語 SKU/7?#%", 0, "png"),
                "acme/b_public/emoji 😀 ~tilde_under.dot-dash[]'*,$/0.png")) {
            byte[] bytes = key.getBytes(StandardCharsets.UTF_8);
            store.putBytes(key, bytes, "image/png", Map.of());

            String url = store.presignedGet("acme", key);
            assertThat(url).startsWith(publicEndpoint + "/kiln/acme/b_public/").doesNotContain(" ");

            HttpResponse<byte[]> answer = get(url);
            assertThat(answer.statusCode()).as(key + " at " + url).isEqualTo(200);
            assertThat(answer.body()).isEqualTo(bytes);
        }
    }

    @Test
    void kilnItselfTalksToItsOwnEndpoint() throws Exception {
        // The public name does not resolve at all: storing must not use it.
        ObjectStore store = store(Optional.of("https://s3.public.invalid"));
        store.putBytes("acme/b_public/SKU-2/0.png", BYTES, "image/png", Map.of());

        assertThat(store.stat("acme/b_public/SKU-2/0.png")).isPresent();
        assertThat(store.presignedGet("acme", "acme/b_public/SKU-2/0.png"))
                .startsWith("https://s3.public.invalid/kiln/acme/b_public/SKU-2/0.png?");
    }

    @Test
    void withoutAPublicEndpointUrlsNameKilnsOwn() throws Exception {
        String url = store(Optional.empty()).presignedGet("acme", KEY);

        assertThat(url).startsWith(server.endpoint() + "/kiln/" + KEY + "?");
        assertThat(get(url).statusCode()).isEqualTo(200);
    }

    private HttpResponse<byte[]> get(String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private static ObjectStore store(Optional<String> publicEndpoint) {
        S3Config config = new TestS3Config(server.endpoint(), publicEndpoint, server.accessKey(), server.secretKey());
        MinioClient client = MinioClient.builder().endpoint(config.endpoint())
                .credentials(config.accessKey(), config.secretKey()).region(config.region()).build();
        return new ObjectStore(client, config, new StorageHealth(new SimpleMeterRegistry(), config));
    }
}
