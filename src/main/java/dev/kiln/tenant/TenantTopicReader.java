package dev.kiln.tenant;

import dev.kiln.config.KilnConfig;
import dev.kiln.messaging.KilnJson;
import dev.kiln.messaging.Topics;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.common.annotation.Identifier;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads {@code kiln.tenants} from its beginning into the {@link TenantDirectory}, then follows it,
 * on one thread per api replica. It uses no consumer group: every replica reads every partition,
 * so an admin change reaches each within a poll (about 100 ms). A plain consumer rather than a
 * Kafka Streams global table: the topic is a few kilobytes, kept in memory, and needs no state
 * folder. Start-up waits until the topic is read to its end, so a restarted replica never
 * refuses a key that an earlier change created.
 */
@ApplicationScoped
public class TenantTopicReader {

    /** After topic set-up (10), before the REST endpoints serve. */
    static final int PRIORITY = 20;

    private static final Duration POLL = Duration.ofMillis(200);
    private static final Set<String> CONSUMER_SETTINGS = ConsumerConfig.configNames();

    private final Map<String, Object> kafka;
    private final TenantDirectory directory;
    private final boolean enabled;
    private final Duration startupTimeout;

    /** Next offset to read, by partition; guarded by itself. */
    private final Map<Integer, Long> positions = new HashMap<>();
    private Map<Integer, Long> startEnd;
    private volatile boolean running;
    private volatile KafkaConsumer<String, byte[]> consumer;
    private Thread thread;

    @Inject
    public TenantTopicReader(@Identifier("default-kafka-broker") Map<String, Object> kafka, TenantDirectory directory,
                             KilnConfig kiln, AuthConfig config) {
        // The dispatcher reads the tenants' weights (TenantDirectory.weight), so it follows the topic too.
        this(kafka, directory, kiln.parsedRole().runsApi() || kiln.parsedRole().runsDispatcher(),
                config.directoryStartupTimeout());
    }

    /** A reader of the given shared Kafka settings, for tests and tools without CDI; {@link #start()} it. */
    public TenantTopicReader(Map<String, Object> kafka, TenantDirectory directory, boolean enabled, Duration startupTimeout) {
        this.kafka = kafka;
        this.directory = directory;
        this.enabled = enabled;
        this.startupTimeout = startupTimeout;
    }

    void onStart(@Observes @Priority(PRIORITY) StartupEvent event) throws InterruptedException {
        if (!enabled) {
            return;
        }
        start();
        if (!awaitCaughtUp(startupTimeout)) {
            throw new IllegalStateException("kiln.tenants was not read to its end within " + startupTimeout
                    + " (kiln.auth.directory-startup-timeout): is Kafka reachable?");
        }
    }

    void onStop(@Observes ShutdownEvent event) {
        close();
    }

    /** Starts following the topic on its own thread. */
    public synchronized void start() {
        if (running) {
            return;
        }
        running = true;
        thread = Thread.ofPlatform().name("kiln-tenants-reader").daemon().start(this::run);
    }

    /** Stops following the topic. */
    public synchronized void close() {
        running = false;
        KafkaConsumer<String, byte[]> current = consumer;
        if (current != null) {
            current.wakeup();
        }
        if (thread != null) {
            try {
                thread.join(Duration.ofSeconds(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            thread = null;
        }
    }

    /** Waits until the topic has been read up to where it ended when reading started. */
    public boolean awaitCaughtUp(Duration timeout) throws InterruptedException {
        return await(timeout, () -> startEnd != null && startEnd.entrySet().stream()
                .allMatch(e -> positions.getOrDefault(e.getKey(), 0L) >= e.getValue()));
    }

    /** Waits until the record at {@code offset} of {@code partition} is in the directory. */
    public boolean awaitApplied(int partition, long offset, Duration timeout) throws InterruptedException {
        return await(timeout, () -> positions.getOrDefault(partition, 0L) > offset);
    }

    private boolean await(Duration timeout, java.util.function.BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (positions) {
            while (!done.getAsBoolean()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                positions.wait(Math.max(1, left / 1_000_000));
            }
            return true;
        }
    }

    private void run() {
        while (running) {
            try (KafkaConsumer<String, byte[]> created = new KafkaConsumer<>(consumerSettings())) {
                consumer = created;
                follow(created);
            } catch (WakeupException e) {
                // close() woke the consumer up to stop it.
            } catch (RuntimeException e) {
                if (running) {
                    Log.errorf("reading kiln.tenants failed (%s); starting over in 1 s", e.toString());
                    sleep(Duration.ofSeconds(1));
                }
            } finally {
                consumer = null;
            }
        }
    }

    private void follow(KafkaConsumer<String, byte[]> consumer) {
        List<TopicPartition> partitions = partitions(consumer);
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
        Map<Integer, Long> end = new HashMap<>();
        consumer.endOffsets(partitions).forEach((tp, offset) -> end.put(tp.partition(), offset));
        synchronized (positions) {
            if (startEnd == null) {
                startEnd = end;
            }
            positions.notifyAll();
        }
        while (running) {
            ConsumerRecords<String, byte[]> records = consumer.poll(POLL);
            Map<String, TenantRecord> changes = new LinkedHashMap<>();
            for (ConsumerRecord<String, byte[]> record : records) {
                parse(record, changes);
            }
            directory.apply(changes);
            synchronized (positions) {
                for (TopicPartition tp : partitions) {
                    positions.put(tp.partition(), consumer.position(tp));
                }
                positions.notifyAll();
            }
        }
    }

    private static void parse(ConsumerRecord<String, byte[]> record, Map<String, TenantRecord> changes) {
        String tenant = record.key();
        if (tenant == null || !ApiKeys.TENANT_ID.matcher(tenant).matches()) {
            Log.errorf("kiln.tenants record at %d-%d has no valid tenant id as key; skipped", record.partition(), record.offset());
            return;
        }
        if (record.value() == null) {
            changes.put(tenant, null);
            return;
        }
        try {
            TenantRecord value = KilnJson.MAPPER.readValue(record.value(), TenantRecord.class);
            if (!tenant.equals(value.tenant())) {
                Log.errorf("kiln.tenants record at %d-%d names another tenant than its key %s; skipped",
                        record.partition(), record.offset(), tenant);
                return;
            }
            changes.put(tenant, value);
        } catch (IOException | IllegalArgumentException e) {
            // The exception's own message could quote the value; only its type is logged.
            Log.errorf("kiln.tenants record of %s at %d-%d is not a tenant record (%s); skipped",
                    tenant, record.partition(), record.offset(), e.getClass().getSimpleName());
        }
    }

    private List<TopicPartition> partitions(KafkaConsumer<String, byte[]> consumer) {
        while (running) {
            List<PartitionInfo> infos = consumer.partitionsFor(Topics.TENANTS, Duration.ofSeconds(10));
            if (infos != null && !infos.isEmpty()) {
                return infos.stream().map(i -> new TopicPartition(i.topic(), i.partition())).toList();
            }
            Log.infof("waiting for topic %s to exist", Topics.TENANTS);
            sleep(Duration.ofSeconds(1));
        }
        throw new WakeupException();
    }

    private Map<String, Object> consumerSettings() {
        Map<String, Object> settings = new HashMap<>();
        kafka.forEach((name, value) -> {
            if (CONSUMER_SETTINGS.contains(name)) {
                settings.put(name, value);
            }
        });
        settings.remove(ConsumerConfig.GROUP_ID_CONFIG);
        settings.put(ConsumerConfig.CLIENT_ID_CONFIG, "kiln-tenants-reader");
        settings.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        settings.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        settings.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        settings.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        settings.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        // A change should reach every replica within a fraction of a second.
        settings.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 100);
        return settings;
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
