package dev.kiln.budget;

import dev.kiln.config.KilnConfig;
import dev.kiln.job.ServiceUnavailableException;
import dev.kiln.messaging.KilnJson;
import dev.kiln.tenant.PendingImages;
import dev.kiln.tenant.TenantUsage;
import dev.kiln.tenant.TenantUsageSource;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.io.IOException;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A tenant's usage for {@code GET /v1/tenant} and intake's {@code monthly_budget_usd} check: the
 * pending images from the status view, and the month's spend and images from the dispatcher's
 * ledger of each tenant's month. The api role reads those back from the changelog of the
 * dispatcher's tenant months store, {@code <kiln.dispatcher.application-id>-dispatch-tenant-months-changelog}
 * (compacted, written exactly once), which every role can reach. Until that changelog has been
 * read to where it ended at start, the month's figures are not known (null).
 */
@ApplicationScoped
public class MonthSpendReader implements TenantUsageSource {

    private static final Duration POLL = Duration.ofMillis(500);

    private final PendingImages pending;
    private final Map<String, Object> kafka;
    private final String topic;
    private final boolean enabled;
    private final Clock clock;
    private final Map<String, TenantMonth> ledgers = new ConcurrentHashMap<>();
    private volatile boolean running;
    private volatile boolean caughtUp;
    private volatile KafkaConsumer<String, byte[]> consumer;
    private Thread thread;

    /** The dispatcher's store of tenant months, whose changelog this reads (dispatch.DispatchTopology). */
    static final String STORE = "dispatch-tenant-months";

    /**
     * @param dispatcherApplicationId the dispatcher's Kafka Streams application id, the prefix of its
     *                                changelogs (read by name: the api does not depend on the dispatcher's code)
     */
    @Inject
    public MonthSpendReader(PendingImages pending, KilnConfig kiln,
                            @ConfigProperty(name = "kiln.dispatcher.application-id", defaultValue = "kiln-dispatcher")
                            String dispatcherApplicationId,
                            @Identifier("default-kafka-broker") Map<String, Object> kafka) {
        this(pending, kafka, changelog(dispatcherApplicationId), kiln.parsedRole().runsApi(), Clock.systemUTC());
    }

    /** The changelog of the dispatcher's tenant months. */
    static String changelog(String dispatcherApplicationId) {
        return dispatcherApplicationId + "-" + STORE + "-changelog";
    }

    MonthSpendReader(PendingImages pending, Map<String, Object> kafka, String topic, boolean enabled, Clock clock) {
        this.pending = pending;
        this.kafka = kafka;
        this.topic = topic;
        this.enabled = enabled;
        this.clock = clock;
    }

    void onStart(@Observes StartupEvent event) {
        if (enabled) {
            running = true;
            thread = Thread.ofPlatform().name("kiln-month-spend-reader").daemon().start(this::run);
        }
    }

    void onStop(@Observes ShutdownEvent event) throws InterruptedException {
        running = false;
        KafkaConsumer<String, byte[]> current = consumer;
        if (current != null) {
            current.wakeup();
        }
        if (thread != null) {
            thread.join(Duration.ofSeconds(10));
        }
    }

    @Override
    public TenantUsage usage(String tenant) {
        Long images;
        try {
            images = pending.pendingImages(tenant);
        } catch (ServiceUnavailableException loading) {
            // The view is still loading: say "not known" rather than fail the whole answer.
            images = null;
        }
        if (!caughtUp) {
            return new TenantUsage(images, null, null);
        }
        TenantMonth ledger = ledgers.get(tenant);
        if (ledger == null || !ledger.month().equals(TenantMonth.monthOf(clock.instant()))) {
            // Nothing spent yet this month.
            return new TenantUsage(images, 0L, BigDecimal.ZERO);
        }
        return new TenantUsage(images, ledger.images(), BigDecimal.valueOf(Math.round(ledger.spent() * 1e9), 9).stripTrailingZeros());
    }

    /** Applies one record of the changelog: a tenant's ledger, or its removal. */
    void apply(String tenant, byte[] value) {
        if (tenant == null) {
            return;
        }
        if (value == null) {
            ledgers.remove(tenant);
            return;
        }
        try {
            ledgers.put(tenant, KilnJson.MAPPER.readValue(value, TenantMonth.class));
        } catch (IOException e) {
            Log.warnf("%s: the ledger of tenant %s is unreadable (%s); skipped", topic, tenant, e.getClass().getSimpleName());
        }
    }

    void markCaughtUp() {
        caughtUp = true;
    }

    private void run() {
        while (running) {
            try (KafkaConsumer<String, byte[]> created = new KafkaConsumer<>(consumerSettings())) {
                consumer = created;
                follow(created);
            } catch (WakeupException e) {
                // onStop woke the consumer up to stop it.
            } catch (RuntimeException e) {
                if (running) {
                    Log.errorf("reading %s failed (%s); starting over in 1 s", topic, e.toString());
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
        Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
        while (running) {
            for (ConsumerRecord<String, byte[]> record : consumer.poll(POLL)) {
                apply(record.key(), record.value());
            }
            if (!caughtUp && end.entrySet().stream().allMatch(e -> consumer.position(e.getKey()) >= e.getValue())) {
                markCaughtUp();
            }
        }
    }

    /** The changelog's partitions, once the guard has created it (it may start after this role). */
    private List<TopicPartition> partitions(KafkaConsumer<String, byte[]> consumer) {
        boolean logged = false;
        while (running) {
            List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(10));
            if (infos != null && !infos.isEmpty()) {
                return infos.stream().map(i -> new TopicPartition(i.topic(), i.partition())).toList();
            }
            if (!logged) {
                Log.infof("waiting for the dispatcher's topic %s to exist", topic);
                logged = true;
            }
            sleep(Duration.ofSeconds(1));
        }
        throw new WakeupException();
    }

    private Map<String, Object> consumerSettings() {
        Map<String, Object> settings = new HashMap<>();
        kafka.forEach((name, value) -> {
            if (ConsumerConfig.configNames().contains(name)) {
                settings.put(name, value);
            }
        });
        settings.remove(ConsumerConfig.GROUP_ID_CONFIG);
        settings.put(ConsumerConfig.CLIENT_ID_CONFIG, "kiln-month-spend-reader");
        settings.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        settings.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        settings.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        settings.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        settings.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        // The dispatcher writes its ledgers in exactly-once transactions: only committed ones count.
        settings.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
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
