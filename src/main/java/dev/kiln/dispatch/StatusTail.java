package dev.kiln.dispatch;

import dev.kiln.job.EventTypes;
import dev.kiln.job.JobState;
import dev.kiln.messaging.Topics;
import io.quarkus.logging.Log;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Follows {@code kiln.status} from its end and tells {@link UnstartedJobs} which released jobs a
 * worker has started. It reads only headers: a job event's {@code ce_subject} is its job id, and
 * any job event past {@code queued} means it started (or ended without starting, as a cancel
 * does). No consumer group: every dispatcher instance reads every partition, and only new events
 * matter.
 */
final class StatusTail implements Runnable {

    private static final String QUEUED = EventTypes.job(JobState.QUEUED);

    private final KafkaConsumer<String, byte[]> consumer;
    private final UnstartedJobs unstarted;
    private volatile boolean running = true;

    StatusTail(Map<String, Object> connection, UnstartedJobs unstarted) {
        Map<String, Object> config = new HashMap<>(connection);
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, "kiln-dispatcher-status-tail");
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        // Status events are small; follow within tens of milliseconds so the window refills quickly.
        config.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 50);
        this.consumer = new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer());
        this.unstarted = unstarted;
    }

    @Override
    public void run() {
        try {
            List<TopicPartition> partitions = consumer.partitionsFor(Topics.STATUS).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToEnd(partitions);
            while (running) {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    String type = CloudEventHeaders.get(record.headers(), CloudEventHeaders.TYPE);
                    if (type != null && type.startsWith(EventTypes.JOB_PREFIX) && !type.equals(QUEUED)) {
                        String jobId = CloudEventHeaders.get(record.headers(), CloudEventHeaders.SUBJECT);
                        if (jobId != null) {
                            unstarted.started(jobId);
                        }
                    }
                }
            }
        } catch (WakeupException e) {
            // stop() asked
        } catch (RuntimeException e) {
            // Without the tail the window would close once it filled; unstartedTimeout reopens it.
            Log.errorf(e, "the dispatcher stopped following %s; released jobs count as unstarted until they time out", Topics.STATUS);
        } finally {
            consumer.close(Duration.ofSeconds(2));
        }
    }

    void stop() {
        running = false;
        consumer.wakeup();
    }
}
