package dev.kiln.localstack;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.jboss.logging.Logger;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;

/**
 * A real single-node Apache Kafka broker in KRaft mode (broker and controller in one node),
 * running inside this JVM. Used by the local run and by the tests, because this project's
 * machines have no Docker engine for Testcontainers or Dev Services.
 *
 * <p>Its data lives in the given directory and survives restarts: the storage is formatted only
 * when it has never been formatted. Both listeners bind to {@code 127.0.0.1} only.
 */
public final class EmbeddedKafkaBroker implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(EmbeddedKafkaBroker.class);

    /** The broker answers within about 2 s; a minute covers a slow CI machine. */
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);

    private static final int NODE_ID = 1;

    private final Path dataDir;
    private final int port;
    private final KafkaRaftServer server;
    private boolean closed;

    private EmbeddedKafkaBroker(Path dataDir, int port, KafkaRaftServer server) {
        this.dataDir = dataDir;
        this.port = port;
        this.server = server;
    }

    /**
     * Starts a broker and returns once it answers requests.
     *
     * @param dataDir where the broker keeps its log and metadata; created when missing
     * @param port    the client port on 127.0.0.1, or 0 for a free one
     */
    public static EmbeddedKafkaBroker start(Path dataDir, int port) {
        BrokerLogging.quiet();
        int clientPort = Ports.orFree(port);
        // The controller port is internal to this node, so a fresh free one is fine on every
        // start: static voters are read from the configuration, never from the stored metadata.
        int controllerPort = Ports.freePort();
        Path logDir = dataDir.resolve("log");
        Properties props = brokerProperties(logDir, clientPort, controllerPort);
        try {
            Files.createDirectories(logDir);
            formatIfNeeded(dataDir, logDir, props);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot prepare Kafka storage in " + dataDir, e);
        }

        KafkaRaftServer server = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
        EmbeddedKafkaBroker broker = new EmbeddedKafkaBroker(dataDir, clientPort, server);
        try {
            server.startup();
            broker.awaitReady();
        } catch (RuntimeException e) {
            IllegalStateException failure = new IllegalStateException("Kafka broker did not start on "
                    + Ports.LOOPBACK + ":" + clientPort + " (data in " + dataDir + ")", e);
            try {
                broker.close();
            } catch (RuntimeException closeFailure) {
                failure.addSuppressed(closeFailure);
            }
            throw failure;
        }
        LOG.infof("Kafka broker (KRaft) ready on %s, data in %s", broker.bootstrapServers(), dataDir);
        return broker;
    }

    /** The value for {@code bootstrap.servers}, such as {@code 127.0.0.1:9092}. */
    public String bootstrapServers() {
        return Ports.LOOPBACK + ":" + port;
    }

    /** The client port. */
    public int port() {
        return port;
    }

    /** The directory that holds the broker's data. */
    public Path dataDir() {
        return dataDir;
    }

    /** Shuts the broker down and waits until it has stopped. Calling it twice is harmless. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        server.shutdown();
        server.awaitShutdown();
        LOG.infof("Kafka broker on %s stopped", bootstrapServers());
    }

    private static Properties brokerProperties(Path logDir, int clientPort, int controllerPort) {
        String host = Ports.LOOPBACK;
        Properties props = new Properties();
        props.putAll(Map.ofEntries(
                Map.entry("process.roles", "broker,controller"),
                Map.entry("node.id", String.valueOf(NODE_ID)),
                Map.entry("controller.quorum.voters", NODE_ID + "@" + host + ":" + controllerPort),
                Map.entry("listeners", "PLAINTEXT://" + host + ":" + clientPort + ",CONTROLLER://" + host + ":" + controllerPort),
                Map.entry("advertised.listeners", "PLAINTEXT://" + host + ":" + clientPort),
                Map.entry("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"),
                Map.entry("controller.listener.names", "CONTROLLER"),
                Map.entry("inter.broker.listener.name", "PLAINTEXT"),
                Map.entry("log.dirs", logDir.toAbsolutePath().toString()),
                // One node: every internal topic has exactly one replica.
                Map.entry("offsets.topic.replication.factor", "1"),
                Map.entry("transaction.state.log.replication.factor", "1"),
                Map.entry("transaction.state.log.min.isr", "1"),
                Map.entry("share.coordinator.state.topic.replication.factor", "1"),
                Map.entry("share.coordinator.state.topic.min.isr", "1"),
                Map.entry("min.insync.replicas", "1"),
                Map.entry("default.replication.factor", "1"),
                // Fewer internal partitions than the defaults (50) so the first consumer group
                // and the first transaction come up in milliseconds.
                Map.entry("offsets.topic.num.partitions", "6"),
                Map.entry("transaction.state.log.num.partitions", "6"),
                // Tests and the local run start consumers and expect them to join at once.
                Map.entry("group.initial.rebalance.delay.ms", "0"),
                Map.entry("auto.create.topics.enable", "true"),
                // As many partitions as a small worker fleet can share.
                Map.entry("num.partitions", "6"),
                // A laptop-sized footprint: a day of data, small segments and indexes, a small
                // cleaner buffer (the default reserves 128 MiB), few threads.
                Map.entry("log.retention.hours", "24"),
                Map.entry("log.segment.bytes", String.valueOf(16 * 1024 * 1024)),
                Map.entry("log.index.size.max.bytes", String.valueOf(1024 * 1024)),
                Map.entry("log.cleaner.dedupe.buffer.size", String.valueOf(4 * 1024 * 1024)),
                Map.entry("num.network.threads", "2"),
                Map.entry("num.io.threads", "4"),
                // Generated images travel as S3 keys, but reference images in a job may be large.
                Map.entry("message.max.bytes", String.valueOf(16 * 1024 * 1024))));
        return props;
    }

    private static void formatIfNeeded(Path dataDir, Path logDir, Properties props) throws IOException {
        if (Files.exists(logDir.resolve("meta.properties"))) {
            return;
        }
        // StorageTool reads its settings from a file, as kafka-storage.sh does; keeping it in the
        // data directory also documents how this broker was configured.
        Path configFile = dataDir.resolve("server.properties");
        try (OutputStream out = Files.newOutputStream(configFile)) {
            props.store(out, "Kiln local stack: single-node KRaft broker");
        }
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        int exit;
        try (PrintStream printStream = new PrintStream(output, true, StandardCharsets.UTF_8)) {
            exit = StorageTool.execute(new String[] {
                    "format",
                    "--config", configFile.toString(),
                    // Transactions v2 (KIP-890, the default from Kafka 4.0) made this single broker
                    // answer CONCURRENT_TRANSACTIONS and then OutOfOrderSequenceException to Kafka
                    // Streams' exactly-once producers on a loaded machine ("Expected sequence 0 for
                    // transactions v2 idempotent producer with no existing state"), fencing the
                    // dispatcher's task for seconds at a time. Version 1 keeps the same guarantees
                    // for clients (read_committed, exactly-once) with the older protocol.
                    "--feature", "transaction.version=1",
                    "--cluster-id", Uuid.randomUuid().toString() }, printStream);
        }
        if (exit != 0) {
            throw new IllegalStateException("Formatting Kafka storage in " + logDir + " failed: "
                    + output.toString(StandardCharsets.UTF_8));
        }
        LOG.debugf("Formatted Kafka storage: %s", output.toString(StandardCharsets.UTF_8).trim());
    }

    /** Startup returns before the broker serves clients, so ask it until it answers. */
    private void awaitReady() {
        Map<String, Object> config = Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5_000);
        Instant deadline = Instant.now().plus(READY_TIMEOUT);
        try (Admin admin = Admin.create(config)) {
            while (true) {
                try {
                    if (!admin.describeCluster(new DescribeClusterOptions().timeoutMs(5_000))
                            .nodes().get(5, TimeUnit.SECONDS).isEmpty()) {
                        return;
                    }
                } catch (ExecutionException | TimeoutException e) {
                    if (Instant.now().isAfter(deadline)) {
                        throw new IllegalStateException("Kafka broker not ready after " + READY_TIMEOUT, e);
                    }
                }
                if (Instant.now().isAfter(deadline)) {
                    throw new IllegalStateException("Kafka broker registered no node within " + READY_TIMEOUT);
                }
                Thread.sleep(100);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while waiting for the Kafka broker", e);
        }
    }
}
