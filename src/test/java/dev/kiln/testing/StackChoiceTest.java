package dev.kiln.testing;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The automatic choice between Testcontainers and the embedded stack, and the Docker ping behind it. */
class StackChoiceTest {

    @Test
    void autoTakesContainersOnlyWhereAnEngineAnswers() {
        List<URI> asked = new ArrayList<>();
        StackChoice.Decision withEngine = StackChoice.choose("auto", Map.of(), uri -> asked.add(uri));
        StackChoice.Decision without = StackChoice.choose("", Map.of(), uri -> false);

        assertThat(withEngine.stack()).isEqualTo(StackChoice.Stack.CONTAINERS);
        assertThat(withEngine.reason()).isEqualTo("a Docker engine answers at unix:///var/run/docker.sock");
        assertThat(asked).containsExactly(URI.create("unix:///var/run/docker.sock"));
        assertThat(without.stack()).isEqualTo(StackChoice.Stack.EMBEDDED);
        assertThat(without.reason()).startsWith("no Docker engine answers");
    }

    @Test
    void dockerHostNamesTheEngineToAsk() {
        List<URI> asked = new ArrayList<>();
        StackChoice.choose("AUTO", Map.of("DOCKER_HOST", "tcp://10.0.0.5:2376"), uri -> asked.add(uri) && false);

        assertThat(asked).containsExactly(URI.create("tcp://10.0.0.5:2376"));
    }

    @Test
    void anExplicitChoiceWinsWithoutAsking() {
        StackChoice.Decision embedded = StackChoice.choose("embedded", Map.of(), uri -> {
            throw new AssertionError("must not ask");
        });
        StackChoice.Decision containers = StackChoice.choose("containers", Map.of(), uri -> {
            throw new AssertionError("must not ask");
        });

        assertThat(embedded.stack()).isEqualTo(StackChoice.Stack.EMBEDDED);
        assertThat(containers.stack()).isEqualTo(StackChoice.Stack.CONTAINERS);
        assertThatThrownBy(() -> StackChoice.choose("podman", Map.of(), uri -> true))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("podman");
    }

    @Test
    void thePingNeedsAnEngineThatSaysOk() throws Exception {
        HttpServer fakeEngine = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        fakeEngine.createContext("/_ping", exchange -> {
            byte[] ok = "OK".getBytes(StandardCharsets.US_ASCII);
            exchange.sendResponseHeaders(200, ok.length);
            exchange.getResponseBody().write(ok);
            exchange.close();
        });
        fakeEngine.start();
        int port = fakeEngine.getAddress().getPort();
        try {
            assertThat(StackChoice.engineAnswers(URI.create("tcp://127.0.0.1:" + port))).isTrue();
        } finally {
            fakeEngine.stop(0);
        }
        assertThat(StackChoice.engineAnswers(URI.create("tcp://127.0.0.1:" + port))).as("nothing listens any more").isFalse();
        assertThat(StackChoice.engineAnswers(URI.create("unix:///nonexistent/docker.sock"))).isFalse();
        assertThat(StackChoice.engineAnswers(URI.create("ssh://user@host"))).isFalse();
    }
}
