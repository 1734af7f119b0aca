package dev.kiln.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Comparator;
import java.util.Deque;
import java.util.Map;
import java.util.stream.Stream;

import dev.kiln.localstack.EmbeddedKafkaBroker;
import dev.kiln.localstack.Ports;
import dev.kiln.localstack.S3ProxyServer;
import dev.kiln.localstack.SimulatorLauncher;
import dev.kiln.localstack.SimulatorLauncher.RunningSimulator;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import org.apache.kafka.common.utils.Exit;
import org.jboss.logging.Logger;

/**
 * Starts the real servers a Kiln test runs against: a Kafka broker, an S3 API server and the
 * gpt-image-2 simulator, each on a free port with its data in a fresh temporary folder, and
 * points Kiln's configuration at them. Use it with
 * {@code @WithTestResource(value = KilnStackResource.class, scope = TestResourceScope.RESTRICTED_TO_CLASS)}
 * or {@code @WithTestResource(KilnStackResource.class)}.
 *
 * <p>Kafka and S3 are Testcontainers where a Docker engine answers, else servers from Maven
 * artifacts; {@link StackChoice} decides and the choice is logged ("test stack: ...").
 *
 * <p>The running servers are also reachable statically ({@link #kafka()}, {@link #s3()},
 * {@link #simulatorBaseUrl()}) for tests that produce, consume or read objects themselves.
 */
public class KilnStackResource implements QuarkusTestResourceLifecycleManager {

    /** S3 access key of the test stack. */
    public static final String S3_ACCESS_KEY = "kiln-test";

    /** S3 secret key of the test stack. */
    public static final String S3_SECRET_KEY = "kiln-test-secret";

    /** The provider API key tests send; the simulator accepts any non-empty key. */
    public static final String PROVIDER_API_KEY = "sk-kiln-test";

    private static final Logger LOG = Logger.getLogger(KilnStackResource.class);

    private static volatile EmbeddedKafkaBroker kafka;
    private static volatile S3ProxyServer s3;
    /** Kafka and S3 as containers, when {@link StackChoice} chose them; null on the embedded stack. */
    private static volatile ContainerStack containers;
    private static volatile RunningSimulator simulator;

    /** Set before {@link #start()} to have the S3 server log every request (see {@link S3ProxyServer#log()}). */
    public static volatile boolean logS3Requests;

    private final Deque<AutoCloseable> running = new ArrayDeque<>();
    private Path root;

    @Override
    public Map<String, String> start() {
        // A broker meeting a fatal fault calls Kafka's Exit.halt, which would end the whole test
        // JVM without a word (surefire only says the fork "terminated without saying goodbye");
        // in tests the fault is reported and the test that meets it fails instead.
        Exit.setHaltProcedure(KilnStackResource::refuseToEndTheJvm);
        Exit.setExitProcedure(KilnStackResource::refuseToEndTheJvm);
        try {
            root = Files.createTempDirectory("kiln-stack-");
            StackChoice.Decision choice = StackChoice.forThisJvm();
            LOG.infof("test stack: %s (%s)", choice.stack(), choice.reason());
            if (choice.stack() == StackChoice.Stack.CONTAINERS) {
                ContainerStack started = ContainerStack.start(S3_ACCESS_KEY, S3_SECRET_KEY);
                containers = started;
                running.push(() -> {
                    started.close();
                    containers = null;
                });
                simulator = started(SimulatorLauncher.startSimulator(Ports.freePort()));
                return config(started.bootstrapServers(), started.s3Endpoint());
            }
            kafka = EmbeddedKafkaBroker.start(root.resolve("kafka"), 0);
            // Closes whichever broker runs now (stopKafka/startKafkaAgain replace it), but only
            // while it is this resource's: a second instance of this resource in the same JVM
            // (a resource applied globally) must not stop another's servers and leak its own,
            // whose folder would then be deleted under it (Kafka halts the JVM on that).
            EmbeddedKafkaBroker ownKafka = kafka;
            running.push(() -> closeIfStill(kafka, ownKafka));
            s3 = S3ProxyServer.start(S3ProxyServer.defaultJar(), root.resolve("s3"), 0, S3_ACCESS_KEY, S3_SECRET_KEY,
                    logS3Requests);
            // Closed through a lambda: restartS3() replaces the server.
            S3ProxyServer ownS3 = s3;
            running.push(() -> closeIfStill(s3, ownS3));
            simulator = started(SimulatorLauncher.startSimulator(Ports.freePort()));
        } catch (IOException | RuntimeException e) {
            stop();
            throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
        }
        // Logged so that a broker or S3 line later in the log can be tied to this stack.
        LOG.infof("test stack up: kafka %s, s3 %s, simulator %s, folder %s", kafka.bootstrapServers(), s3.endpoint(),
                simulator.baseUrl(), root);
        return config(kafka.bootstrapServers(), s3.endpoint());
    }

    private Map<String, String> config(String bootstrapServers, String s3Endpoint) {
        return Map.of(
                "kafka.bootstrap.servers", bootstrapServers,
                "kiln.s3.endpoint", s3Endpoint,
                "kiln.s3.access-key", S3_ACCESS_KEY,
                "kiln.s3.secret-key", S3_SECRET_KEY,
                "kiln.provider.base-url", simulator.baseUrl(),
                "kiln.provider.api-key", PROVIDER_API_KEY,
                // The view's store and the worker's files belong to this broker: a store left by an
                // earlier run would hold offsets this fresh broker never had.
                "kiln.status-view.state-dir", root.resolve("status-view").toString(),
                "kiln.worker.work-dir", root.resolve("work").toString(),
                "kiln.dispatcher.state-dir", root.resolve("dispatcher").toString());
    }

    @Override
    public void stop() {
        LOG.infof("test stack stopping: folder %s", root);
        while (!running.isEmpty()) {
            try {
                running.pop().close();
            } catch (Exception e) {
                // Keep stopping the rest; a leaked server would only cost this test JVM a port.
                System.err.println("KilnStackResource: stopping a server failed: " + e);
            }
        }
        if (kafka != null && ownsDataOf(kafka)) {
            kafka = null;
        }
        if (s3 != null && ownsDataOf(s3)) {
            s3 = null;
        }
        simulator = null;
        deleteQuietly(root);
    }

    private static void refuseToEndTheJvm(int status, String message) {
        IllegalStateException fault = new IllegalStateException(
                "the embedded Kafka broker asked to end the JVM with status " + status + ": " + message);
        fault.printStackTrace();
        throw fault;
    }

    /**
     * The running embedded Kafka broker. On the container stack there is none: tests that only
     * produce or consume use {@link #bootstrapServers()}; tests that stop the broker need the
     * embedded stack ({@code -Dtest.stack=embedded}).
     */
    public static EmbeddedKafkaBroker kafka() {
        if (kafka == null && containers != null) {
            throw new IllegalStateException("this test stops or inspects the embedded broker, but the stack runs on "
                    + "Testcontainers; run it with -Dtest.stack=embedded");
        }
        return require(kafka, "Kafka broker");
    }

    /** The bootstrap servers of the running Kafka, embedded or container. */
    public static String bootstrapServers() {
        ContainerStack c = containers;
        return c != null ? c.bootstrapServers() : kafka().bootstrapServers();
    }

    /**
     * Starts the S3 server again on the same port over the same data, as an operator restarting
     * it would; the old process must have ended ({@link S3ProxyServer#kill()}).
     */
    public static S3ProxyServer restartS3() {
        S3ProxyServer old = s3();
        s3 = S3ProxyServer.start(S3ProxyServer.defaultJar(), old.dataDir(), old.port(), S3_ACCESS_KEY, S3_SECRET_KEY,
                logS3Requests);
        return s3;
    }

    /** Stops the broker, keeping its data and port for {@link #startKafkaAgain()}. */
    public static void stopKafka() {
        kafka().close();
    }

    /** Starts the broker again on the same port over the same data. */
    public static EmbeddedKafkaBroker startKafkaAgain() {
        EmbeddedKafkaBroker old = kafka();
        kafka = EmbeddedKafkaBroker.start(old.dataDir(), old.port());
        return kafka;
    }

    /** The running S3 API server. */
    public static S3ProxyServer s3() {
        return require(s3, "S3 API server");
    }

    /** The endpoint of the running S3 API server, embedded or container. */
    public static String s3Endpoint() {
        ContainerStack c = containers;
        return c != null ? c.s3Endpoint() : s3().endpoint();
    }

    /** The running simulator, to change its settings or read what it received. */
    public static dev.kiln.simulator.SimulatorServer simulator() {
        return require(simulator, "simulator").server();
    }

    /** The base URL of the running simulator, as {@code kiln.provider.base-url}. */
    public static String simulatorBaseUrl() {
        return require(simulator, "simulator").baseUrl();
    }

    /**
     * Closes the server now held statically when it was started over this resource's folder
     * (the first one or a restart of it), else the one this resource started.
     */
    private void closeIfStill(AutoCloseable current, AutoCloseable own) throws Exception {
        if (current != null && current != own && ownsDataOf(current)) {
            current.close();
        } else {
            own.close();
        }
    }

    private boolean ownsDataOf(AutoCloseable server) {
        Path data = server instanceof EmbeddedKafkaBroker broker ? broker.dataDir()
                : server instanceof S3ProxyServer s3Server ? s3Server.dataDir() : null;
        return data != null && root != null && data.startsWith(root);
    }

    private <T extends AutoCloseable> T started(T server) {
        running.push(server);
        return server;
    }

    private static <T> T require(T server, String what) {
        if (server == null) {
            throw new IllegalStateException("No " + what + " is running: is the test annotated with KilnStackResource?");
        }
        return server;
    }

    private static void deleteQuietly(Path dir) {
        if (dir == null) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        } catch (IOException e) {
            // A temporary folder left behind is harmless.
        }
    }
}
