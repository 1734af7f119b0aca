package dev.kiln.webhook;

import com.sun.net.httpserver.HttpServer;
import dev.kiln.reference.InternalAddresses;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The address guard (SSRF) and one attempt against a loopback server: redirects are failures, never followed. */
class WebhookClientTest {

    private static final List<String> SECRETS = List.of(WebhookSigner.newSecret());
    private HttpServer server;
    private final AtomicInteger targetHits = new AtomicInteger();

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/redirect", exchange -> {
            exchange.getResponseHeaders().add("Location", "/target");
            exchange.sendResponseHeaders(307, -1);
            exchange.close();
        });
        server.createContext("/target", exchange -> {
            targetHits.incrementAndGet();
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    @Test
    void inProductionOnlyHttpsToPublicAddressesPasses() {
        WebhookAddressGuard guard = new WebhookAddressGuard(false);
        assertThat(guard.check("https://hooks.example.com/kiln").host()).isEqualTo("hooks.example.com");
        assertThatThrownBy(() -> guard.check("http://hooks.example.com/kiln")).hasMessageContaining("https");
        assertThatThrownBy(() -> guard.check("https://user:pw@hooks.example.com/")).hasMessageContaining("user info");
        assertThatThrownBy(() -> guard.check("https://169.254.169.254/latest/meta-data")).hasMessageContaining("internal");
        assertThatThrownBy(() -> guard.check("https://[::1]/hook")).hasMessageContaining("internal");
        assertThatThrownBy(() -> guard.check("https://10.0.0.5/hook")).hasMessageContaining("internal");
        assertThatThrownBy(() -> guard.check("ftp://example.com/")).isInstanceOf(WebhookAddressGuard.RefusedUrlException.class);
        assertThatThrownBy(() -> guard.lookup("localhost")).isInstanceOf(WebhookAddressGuard.RefusedAddressException.class);
    }

    @Test
    void aHostResolvingInternallyIsRefusedAtConnectTimeButRetried() {
        // The guard is the client's DNS: a name resolving to loopback never gets a connection.
        WebhookAddressGuard guard = new WebhookAddressGuard(true, InternalAddresses::isInternal);
        WebhookClient client = new WebhookClient(guard, tenant -> SECRETS, Duration.ofSeconds(2), Clock.systemUTC());
        WebhookAttempted outcome = client.attempt(delivery("http://localhost:" + port() + "/target"), 1);
        assertThat(outcome.attempt().httpStatus()).isNull();
        assertThat(outcome.attempt().error()).contains("internal address");
        assertThat(outcome.retryable()).isTrue();
        assertThat(targetHits).hasValue(0);
    }

    @Test
    void aRedirectIsAFailedAttemptAndIsNotFollowed() {
        WebhookClient client = new WebhookClient(new WebhookAddressGuard(true), tenant -> SECRETS, Duration.ofSeconds(2), Clock.systemUTC());
        WebhookAttempted outcome = client.attempt(delivery("http://127.0.0.1:" + port() + "/redirect"), 1);
        assertThat(outcome.attempt().httpStatus()).isEqualTo(307);
        assertThat(outcome.attempt().succeeded()).isFalse();
        assertThat(targetHits).hasValue(0);

        assertThat(client.attempt(delivery("http://127.0.0.1:" + port() + "/target"), 2).attempt().httpStatus()).isEqualTo(204);
    }

    @Test
    void noSecretNoRequest() {
        WebhookClient client = new WebhookClient(new WebhookAddressGuard(true), tenant -> List.of(), Duration.ofSeconds(2), Clock.systemUTC());
        WebhookAttempted outcome = client.attempt(delivery("http://127.0.0.1:" + port() + "/target"), 1);
        assertThat(outcome.attempt().error()).contains("no webhook signing secret");
        assertThat(targetHits).hasValue(0);
    }

    private int port() {
        return server.getAddress().getPort();
    }

    private static WebhookDelivery delivery(String url) {
        Instant t = Instant.now();
        return WebhookDelivery.create("msg_1", "b_1", "default", url, "batch.completed", "{\"type\":\"batch.completed\"}", t, t);
    }
}
