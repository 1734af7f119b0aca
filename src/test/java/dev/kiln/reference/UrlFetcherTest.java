package dev.kiln.reference;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import okhttp3.tls.HandshakeCertificates;
import okhttp3.tls.HeldCertificate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The URL fetcher against a real HTTPS server on loopback, with a certificate made for the test:
 * redirects re-checked hop by hop, the size cap, the timeout, and which answers are permanent
 * and which are retried. Loopback is internal, so the tests that must reach the server use the
 * test escape {@code allow-private-addresses}; one test shows the same server refused without it.
 */
class UrlFetcherTest {

    private static final byte[] IMAGE = new byte[]{(byte) 0x89, 'P', 'N', 'G', 1, 2, 3, 4};

    private static HttpsServer server;
    private static HandshakeCertificates clientTrust;
    private static final Map<String, HttpHandler> ROUTES = new ConcurrentHashMap<>();
    private static final AtomicInteger REQUESTS = new AtomicInteger();

    @TempDir
    Path dir;

    @BeforeAll
    static void startServer() throws IOException {
        HeldCertificate certificate = new HeldCertificate.Builder()
                .addSubjectAlternativeName("localhost")
                .addSubjectAlternativeName("127.0.0.1")
                .build();
        HandshakeCertificates serverCertificates = new HandshakeCertificates.Builder().heldCertificate(certificate).build();
        clientTrust = new HandshakeCertificates.Builder().addTrustedCertificate(certificate.certificate()).build();
        server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(serverCertificates.sslContext()));
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/", exchange -> {
            REQUESTS.incrementAndGet();
            HttpHandler route = ROUTES.get(exchange.getRequestURI().getPath());
            if (route == null) {
                exchange.sendResponseHeaders(404, -1);
            } else {
                route.handle(exchange);
            }
            exchange.close();
        });
        server.start();
        ROUTES.put("/image.png", ok(IMAGE));
        ROUTES.put("/hop1", redirect("/hop2"));
        ROUTES.put("/hop2", redirect("/image.png"));
        ROUTES.put("/to-unlisted-host", exchange -> redirectTo(exchange, "https://127.0.0.1:" + port() + "/image.png"));
        ROUTES.put("/to-http", exchange -> redirectTo(exchange, "http://localhost:" + port() + "/image.png"));
        ROUTES.put("/to-metadata", exchange -> redirectTo(exchange, "https://169.254.169.254/latest/meta-data/"));
        ROUTES.put("/loop", redirect("/loop"));
        ROUTES.put("/gone", status(410));
        ROUTES.put("/forbidden", status(403));
        ROUTES.put("/broken", status(503));
        ROUTES.put("/throttled", status(429));
        ROUTES.put("/big", ok(new byte[4096]));
        ROUTES.put("/big-chunked", exchange -> {
            exchange.sendResponseHeaders(200, 0); // no length: the cap must hold while streaming
            try (OutputStream out = exchange.getResponseBody()) {
                for (int i = 0; i < 8; i++) {
                    out.write(new byte[1024]);
                    out.flush();
                }
            }
        });
        ROUTES.put("/slow", exchange -> {
            try {
                Thread.sleep(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            ok(IMAGE).handle(exchange);
        });
    }

    @AfterAll
    static void stopServer() {
        server.stop(0);
    }

    @Test
    void anImageIsFetchedThroughAllowedRedirects() throws IOException {
        Path target = dir.resolve("ref");
        fetcher(loopbackAllowed()).fetch(url("/hop1"), target);
        assertThat(Files.readAllBytes(target)).isEqualTo(IMAGE);
    }

    @Test
    void aRedirectToAHostOffTheListIsRefused() {
        int before = REQUESTS.get();
        assertPermanent(() -> fetcher(loopbackAllowed()).fetch(url("/to-unlisted-host"), dir.resolve("ref")),
                ReferenceException.REFUSED, "host 127.0.0.1 is not on kiln.references.allowed-hosts");
        assertThat(REQUESTS.get() - before).as("the refused target is never requested").isEqualTo(1);
    }

    @Test
    void aRedirectToPlainHttpIsRefused() {
        assertPermanent(() -> fetcher(loopbackAllowed()).fetch(url("/to-http"), dir.resolve("ref")),
                ReferenceException.REFUSED, "only https URLs");
    }

    @Test
    void aRedirectToTheMetadataAddressIsRefusedEvenWhenItsHostIsListed() {
        // Every internal address is refused except loopback, so that the first hop reaches the
        // test server; 169.254.169.254 is listed, yet refused on the second hop for its address.
        TestReferenceConfig config = new TestReferenceConfig(Optional.of(List.of("localhost", "169.254.169.254")),
                1 << 20, Duration.ofSeconds(5), 3, false);
        UrlGuard guard = new UrlGuard(config, address -> InternalAddresses.isInternal(address) && !address.isLoopbackAddress());
        int before = REQUESTS.get();
        assertPermanent(() -> fetcher(config, guard).fetch(url("/to-metadata"), dir.resolve("ref")),
                ReferenceException.REFUSED, "internal address 169.254.169.254");
        assertThat(REQUESTS.get() - before).as("the first hop was served").isEqualTo(1);
    }

    @Test
    void loopbackIsRefusedWithoutTheTestEscape() {
        int before = REQUESTS.get();
        assertPermanent(() -> fetcher(TestReferenceConfig.allowing("localhost")).fetch(url("/image.png"), dir.resolve("ref")),
                ReferenceException.REFUSED, "internal address");
        assertThat(REQUESTS.get()).as("nothing reached the server").isEqualTo(before);
    }

    @Test
    void moreRedirectsThanAllowedAreRefused() {
        assertPermanent(() -> fetcher(loopbackAllowed()).fetch(url("/loop"), dir.resolve("ref")),
                ReferenceException.REFUSED, "redirects more than 3 times");
    }

    @Test
    void missingIsPermanentAndSoIsAnotherClientError() {
        assertPermanent(() -> fetcher(loopbackAllowed()).fetch(url("/nothing-here.png"), dir.resolve("ref")),
                ReferenceException.NOT_FOUND, "HTTP 404");
        assertPermanent(() -> fetcher(loopbackAllowed()).fetch(url("/gone"), dir.resolve("ref")),
                ReferenceException.NOT_FOUND, "HTTP 410");
        assertPermanent(() -> fetcher(loopbackAllowed()).fetch(url("/forbidden"), dir.resolve("ref")),
                ReferenceException.REJECTED, "HTTP 403");
    }

    @Test
    void serverFaultsAndThrottlingAreRetryable() {
        assertRetryable(() -> fetcher(loopbackAllowed()).fetch(url("/broken"), dir.resolve("ref")), "HTTP 503");
        assertRetryable(() -> fetcher(loopbackAllowed()).fetch(url("/throttled"), dir.resolve("ref")), "HTTP 429");
    }

    @Test
    void aSlowHostTimesOutAsARetryableFault() {
        long start = System.nanoTime();
        assertRetryable(() -> fetcher(loopbackAllowed().withTimeout(Duration.ofMillis(500))).fetch(url("/slow"), dir.resolve("ref")),
                "took longer than PT0.5S");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(4));
    }

    @Test
    void theSizeCapHoldsWithAndWithoutContentLength() {
        TestReferenceConfig small = loopbackAllowed().withMaxBytes(1000);
        assertPermanent(() -> fetcher(small).fetch(url("/big"), dir.resolve("a")), ReferenceException.TOO_LARGE, "4096 bytes");
        assertPermanent(() -> fetcher(small).fetch(url("/big-chunked"), dir.resolve("b")), ReferenceException.TOO_LARGE,
                "more than 1000 bytes");
    }

    @Test
    void aQueryNeverAppearsInAnError() {
        assertThatThrownBy(() -> fetcher(loopbackAllowed()).fetch(url("/nothing-here.png?X-Amz-Signature=s3cr3t"), dir.resolve("ref")))
                .hasMessageNotContaining("s3cr3t");
    }

    private static TestReferenceConfig loopbackAllowed() {
        return TestReferenceConfig.allowing("localhost").withPrivateAddresses().withTimeout(Duration.ofSeconds(5));
    }

    private static UrlFetcher fetcher(TestReferenceConfig config) {
        return fetcher(config, new UrlGuard(config));
    }

    private static UrlFetcher fetcher(TestReferenceConfig config, UrlGuard guard) {
        return new UrlFetcher(config, guard,
                builder -> builder.sslSocketFactory(clientTrust.sslSocketFactory(), clientTrust.trustManager()));
    }

    private static String url(String path) {
        return "https://localhost:" + port() + path;
    }

    private static int port() {
        return server.getAddress().getPort();
    }

    private static void assertPermanent(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, String code, String reason) {
        assertThatThrownBy(call).isInstanceOfSatisfying(ReferenceException.class, e -> {
            assertThat(e.code()).isEqualTo(code);
            assertThat(e.retryable()).isFalse();
            assertThat(e.getMessage()).contains(reason);
        });
    }

    private static void assertRetryable(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, String reason) {
        assertThatThrownBy(call).isInstanceOfSatisfying(ReferenceException.class, e -> {
            assertThat(e.code()).isEqualTo(ReferenceException.UNAVAILABLE);
            assertThat(e.retryable()).isTrue();
            assertThat(e.getMessage()).contains(reason);
        });
    }

    private static HttpHandler ok(byte[] body) {
        return exchange -> {
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        };
    }

    private static HttpHandler status(int code) {
        return exchange -> exchange.sendResponseHeaders(code, -1);
    }

    private static HttpHandler redirect(String path) {
        return exchange -> redirectTo(exchange, path);
    }

    private static void redirectTo(HttpExchange exchange, String location) throws IOException {
        exchange.getResponseHeaders().set("Location", location);
        exchange.sendResponseHeaders(302, -1);
    }
}
