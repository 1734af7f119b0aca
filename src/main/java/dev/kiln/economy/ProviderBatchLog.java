package dev.kiln.economy;

import dev.kiln.messaging.KilnJson;
import dev.kiln.messaging.Topics;
import io.quarkus.logging.Log;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code kiln.provider-batches}: writes each group's state and follows the topic from its start,
 * so that every worker knows every open group (to reattach its own and to never submit a job that
 * is already in one). An ended group is written as a tombstone, which compaction then drops.
 */
final class ProviderBatchLog implements AutoCloseable {

    private final KafkaProducer<String, byte[]> producer;
    private final Map<String, Object> connection;
    private final Map<String, EconomyGroup> open = new ConcurrentHashMap<>();
    private final CountDownLatch caughtUp = new CountDownLatch(1);
    private volatile KafkaConsumer<String, byte[]> consumer;
    private volatile boolean closed;
    private Thread follower;

    ProviderBatchLog(Map<String, Object> shared) {
        connection = new HashMap<>();
        shared.forEach((name, value) -> {
            if (AdminClientConfig.configNames().contains(name) && !name.equals(AdminClientConfig.CLIENT_ID_CONFIG)) {
                connection.put(name, value);
            }
        });
        Map<String, Object> producerConfig = new HashMap<>(connection);
        producerConfig.put(ProducerConfig.ACKS_CONFIG, "all");
        producerConfig.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        producerConfig.put(ProducerConfig.CLIENT_ID_CONFIG, "kiln-economy-lane");
        producer = new KafkaProducer<>(producerConfig, new StringSerializer(), new ByteArraySerializer());
    }

    /** Starts following the topic from its beginning. */
    void follow() {
        follower = Thread.ofPlatform().daemon().name("kiln-provider-batches").start(this::run);
    }

    /** Waits until the topic was read to the end offsets it had at the start. */
    boolean awaitCaughtUp(Duration timeout) throws InterruptedException {
        return caughtUp.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Writes {@code group}'s state and waits until Kafka has it; an ended group becomes a tombstone. */
    void write(EconomyGroup group) throws IOException, InterruptedException {
        byte[] value = group.state().equals(EconomyGroup.ENDED) ? null : KilnJson.MAPPER.writeValueAsBytes(group);
        try {
            producer.send(new ProducerRecord<>(Topics.PROVIDER_BATCHES, group.groupId(), value)).get(30, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            throw new IOException("kiln.provider-batches did not take group " + group.groupId() + ": " + e.getMessage(), e);
        }
        remember(group.groupId(), value == null ? null : group);
    }

    /** Every group not ended, as last written. */
    Map<String, EconomyGroup> open() {
        return Map.copyOf(open);
    }

    private void remember(String groupId, EconomyGroup group) {
        if (group == null) {
            open.remove(groupId);
        } else {
            open.merge(groupId, group, (known, next) -> rank(next) >= rank(known) ? next : known);
        }
    }

    /** States only move forward; a late read of an older state must not undo a newer one. */
    private static int rank(EconomyGroup group) {
        return switch (group.state()) {
            case EconomyGroup.SUBMITTING -> 0;
            case EconomyGroup.SUBMITTED -> 1;
            default -> 2;
        };
    }

    private void run() {
        Map<String, Object> config = new HashMap<>(connection);
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, "kiln-provider-batches-reader");
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        while (!closed) {
            try (KafkaConsumer<String, byte[]> created = new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer())) {
                consumer = created;
                List<TopicPartition> partitions = created.partitionsFor(Topics.PROVIDER_BATCHES, Duration.ofSeconds(30)).stream()
                        .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
                created.assign(partitions);
                created.seekToBeginning(partitions);
                Map<TopicPartition, Long> end = created.endOffsets(partitions);
                while (!closed) {
                    for (ConsumerRecord<String, byte[]> record : created.poll(Duration.ofMillis(500))) {
                        if (record.key() == null) {
                            continue;
                        }
                        if (record.value() == null) {
                            open.remove(record.key());
                        } else {
                            try {
                                remember(record.key(), KilnJson.MAPPER.readValue(record.value(), EconomyGroup.class));
                            } catch (IOException e) {
                                Log.warnf("kiln.provider-batches: skipping unreadable group %s: %s", record.key(), e.getMessage());
                            }
                        }
                    }
                    if (caughtUp.getCount() > 0 && end.entrySet().stream().allMatch(e -> created.position(e.getKey()) >= e.getValue())) {
                        caughtUp.countDown();
                    }
                }
            } catch (WakeupException e) {
                return;
            } catch (RuntimeException e) {
                if (!closed) {
                    Log.warnf("kiln.provider-batches: reading failed (%s); starting again", e.getMessage());
                    try {
                        Thread.sleep(1000);
                    } catch (InterruptedException interrupted) {
                        return;
                    }
                }
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        KafkaConsumer<String, byte[]> current = consumer;
        if (current != null) {
            current.wakeup();
        }
        producer.close(Duration.ofSeconds(5));
    }
}
