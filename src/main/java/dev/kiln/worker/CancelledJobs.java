package dev.kiln.worker;

import dev.kiln.config.KilnConfig;
import dev.kiln.job.BatchCommand;
import dev.kiln.job.CancelRequested;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.messaging.KilnJson;
import dev.kiln.messaging.Topics;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The cancels a worker must honour for jobs the dispatcher already released. It tails
 * {@code kiln.control} (one partition, few records) from the start of its retention, read
 * committed and without a consumer group, and remembers the cancelled batches and jobs of the
 * last {@code KILN_RETENTION}. {@link RenderJobProcessor} asks {@link #covering} before it
 * announces a job running, so a cancelled job never takes a rate permit or reaches the provider.
 */
@ApplicationScoped
public class CancelledJobs implements Cancels {

    private final Map<String, Object> connection = new HashMap<>();
    private final boolean enabled;
    private final Duration retention;
    /** Cancelled batches (whole) by batch id, and cancelled single jobs by job id, with when. */
    private final Map<String, CancelRequested> batches = new ConcurrentHashMap<>();
    private final Map<String, CancelRequested> jobs = new ConcurrentHashMap<>();
    private volatile KafkaConsumer<String, byte[]> consumer;
    private volatile boolean running = true;
    private Thread thread;

    public CancelledJobs(@Identifier("default-kafka-broker") Map<String, Object> shared,
                         KilnConfig kiln, @ConfigProperty(name = "kiln.dispatcher.retention", defaultValue = "P30D") Duration retention) {
        shared.forEach((name, value) -> {
            if (AdminClientConfig.configNames().contains(name) && !name.equals(AdminClientConfig.CLIENT_ID_CONFIG)) {
                connection.put(name, value);
            }
        });
        this.enabled = kiln.parsedRole().runsWorker();
        this.retention = retention;
    }

    void start(@Observes StartupEvent event) {
        if (!enabled) {
            return;
        }
        Map<String, Object> config = new HashMap<>(connection);
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, "kiln-worker-control-tail");
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        config.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 50);
        consumer = new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer());
        thread = Thread.ofPlatform().daemon().name("kiln-worker-control-tail").start(this::run);
    }

    void stop(@Observes ShutdownEvent event) {
        running = false;
        KafkaConsumer<String, byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
    }

    @Override
    public java.util.Optional<CancelRequested> covering(RenderJobRequested job) {
        CancelRequested cancel = batches.get(job.batchId());
        if (cancel == null) {
            cancel = jobs.get(job.jobId());
        }
        return cancel != null && cancel.covers(job) ? java.util.Optional.of(cancel) : java.util.Optional.empty();
    }

    private void run() {
        try {
            List<TopicPartition> partitions = consumer.partitionsFor(Topics.CONTROL).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            long nextPrune = System.currentTimeMillis() + Duration.ofHours(1).toMillis();
            while (running) {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    remember(record);
                }
                if (System.currentTimeMillis() > nextPrune) {
                    prune();
                    nextPrune = System.currentTimeMillis() + Duration.ofHours(1).toMillis();
                }
            }
        } catch (WakeupException e) {
            // stop() asked
        } catch (RuntimeException e) {
            Log.errorf(e, "the worker stopped following %s; released jobs of cancelled batches will be rendered", Topics.CONTROL);
        } finally {
            consumer.close(Duration.ofSeconds(2));
        }
    }

    private void remember(ConsumerRecord<String, byte[]> record) {
        if (record.value() == null) {
            return;
        }
        try {
            BatchCommand command = KilnJson.MAPPER.readValue(record.value(), BatchCommand.class);
            if (command instanceof CancelRequested cancel && cancel.batchId() != null) {
                if (cancel.jobId() == null) {
                    batches.put(cancel.batchId(), cancel);
                } else {
                    jobs.put(cancel.jobId(), cancel);
                }
            }
        } catch (Exception e) {
            Log.debugf("skipping an unreadable command for %s: %s", record.key(), e.getMessage());
        }
    }

    private void prune() {
        Instant before = Instant.now().minus(retention);
        for (Map<String, CancelRequested> map : List.of(batches, jobs)) {
            map.values().removeIf(c -> c.requestedAt() != null && c.requestedAt().isBefore(before));
        }
    }
}
