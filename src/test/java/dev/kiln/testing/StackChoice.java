package dev.kiln.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Which servers the stack-backed tests run against: Testcontainers (Kafka and MinIO containers)
 * where a Docker engine answers, the embedded servers from Maven artifacts (a KRaft broker and
 * s3proxy) everywhere else, as on this machine and in CI. {@code -Dtest.stack=embedded|containers}
 * (or {@code TEST_STACK}) forces one; the default {@code auto} asks the engine.
 *
 * <p>The engine is asked the way the Docker CLI would: {@code GET /_ping} on {@code DOCKER_HOST}
 * ({@code unix://} or {@code tcp://}), else on {@code /var/run/docker.sock}, with a short timeout.
 * A socket file alone is not enough: a stopped daemon leaves it behind.
 */
public final class StackChoice {

    /** The two stacks. */
    public enum Stack { EMBEDDED, CONTAINERS }

    /**
     * A choice and why it was made, for the log.
     *
     * @param stack  the stack to start
     * @param reason one line saying why
     */
    public record Decision(Stack stack, String reason) {
    }

    private static final int PING_TIMEOUT_MILLIS = 2000;
    private static final Path DEFAULT_SOCKET = Path.of("/var/run/docker.sock");

    private StackChoice() {
    }

    /** The choice for this JVM: its {@code test.stack} property, {@code TEST_STACK}, {@code DOCKER_HOST}. */
    public static Decision forThisJvm() {
        String requested = System.getProperty("test.stack", System.getenv().getOrDefault("TEST_STACK", "auto"));
        return choose(requested, System.getenv(), StackChoice::engineAnswers);
    }

    /**
     * Decides.
     *
     * @param requested     {@code auto}, {@code embedded} or {@code containers} (case-insensitive; blank is auto)
     * @param env           the environment, for {@code DOCKER_HOST}
     * @param engineAnswers whether a Docker engine answers a ping at the given endpoint
     * @throws IllegalArgumentException for any other request
     */
    public static Decision choose(String requested, Map<String, String> env, Predicate<URI> engineAnswers) {
        String mode = requested == null || requested.isBlank() ? "auto" : requested.strip().toLowerCase(Locale.ROOT);
        URI endpoint = dockerEndpoint(env);
        return switch (mode) {
            case "embedded" -> new Decision(Stack.EMBEDDED, "test.stack=embedded");
            case "containers" -> new Decision(Stack.CONTAINERS, "test.stack=containers");
            case "auto" -> engineAnswers.test(endpoint)
                    ? new Decision(Stack.CONTAINERS, "a Docker engine answers at " + endpoint)
                    : new Decision(Stack.EMBEDDED, "no Docker engine answers at " + endpoint);
            default -> throw new IllegalArgumentException("test.stack must be auto, embedded or containers, not '" + requested + "'");
        };
    }

    /** Where the engine would be: {@code DOCKER_HOST}, else the default Unix socket. */
    static URI dockerEndpoint(Map<String, String> env) {
        String host = env.get("DOCKER_HOST");
        return host == null || host.isBlank() ? URI.create("unix://" + DEFAULT_SOCKET) : URI.create(host.strip());
    }

    /** Whether {@code GET /_ping} at {@code endpoint} answers 200 OK. */
    static boolean engineAnswers(URI endpoint) {
        try {
            return switch (endpoint.getScheme()) {
                case "unix" -> pingUnix(Path.of(endpoint.getPath()));
                case "tcp", "http" -> pingTcp(endpoint.getHost(), endpoint.getPort() < 0 ? 2375 : endpoint.getPort());
                default -> false; // https with client certificates and ssh are left to an explicit test.stack
            };
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static boolean pingUnix(Path socket) throws IOException {
        if (!Files.exists(socket)) {
            return false;
        }
        try (SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            channel.write(ByteBuffer.wrap(request().getBytes(StandardCharsets.US_ASCII)));
            // A Unix socket channel has no read timeout; the engine answers a ping at once or is wedged.
            Thread reader = Thread.currentThread();
            Thread watchdog = Thread.ofVirtual().start(() -> {
                try {
                    Thread.sleep(PING_TIMEOUT_MILLIS);
                    channel.close();
                } catch (InterruptedException | IOException ignored) {
                    // done in time, or closing anyway
                }
            });
            try {
                return isOk(Channels.newInputStream(channel));
            } finally {
                watchdog.interrupt();
            }
        }
    }

    private static boolean pingTcp(String host, int port) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(host, port), PING_TIMEOUT_MILLIS);
            socket.setSoTimeout(PING_TIMEOUT_MILLIS);
            OutputStream out = socket.getOutputStream();
            out.write(request().getBytes(StandardCharsets.US_ASCII));
            out.flush();
            return isOk(socket.getInputStream());
        }
    }

    private static String request() {
        return "GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n";
    }

    /** The status line says 200 and the body {@code OK}. */
    static boolean isOk(InputStream in) throws IOException {
        String answer = new String(in.readNBytes(4096), StandardCharsets.US_ASCII);
        return answer.startsWith("HTTP/1.") && answer.split("\r\n", 2)[0].contains(" 200") && answer.endsWith("OK");
    }
}
