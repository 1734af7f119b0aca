package dev.kiln.worker;

import jakarta.enterprise.context.ApplicationScoped;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;

import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * The {@code kiln.jobs} records the consumer has polled that SmallRye has not handed over yet,
 * per partition: they wait in SmallRye's own queue, unseen by {@link InFlightJobs}, for as long as
 * the connector's thread is busy. Counted on the polling thread as each poll returns
 * ({@link JobsPollInterceptor}), so that {@link FetchGate} can pause before the next poll;
 * a record leaves the count when {@link JobHandOver} sees it handed over, and a revoked
 * partition's count is dropped with the records SmallRye drops from its queue.
 */
@ApplicationScoped
public class PolledJobs {

    private final Map<TopicPartition, AtomicInteger> queued = new ConcurrentHashMap<>();
    private volatile IntConsumer onPoll = records -> { };
    private volatile long lastMoveNanos = System.nanoTime();

    /** A poll returned {@code records}; runs the poll listener (the fetch gate) at once. */
    void polled(ConsumerRecords<?, ?> records) {
        for (TopicPartition partition : records.partitions()) {
            queued.computeIfAbsent(partition, p -> new AtomicInteger()).addAndGet(records.records(partition).size());
        }
        if (!records.isEmpty()) {
            lastMoveNanos = System.nanoTime();
            onPoll.accept(records.count());
        }
    }

    /** SmallRye handed over a record of {@code topic}/{@code partition}. */
    void handedOver(String topic, int partition) {
        lastMoveNanos = System.nanoTime();
        AtomicInteger count = queued.get(new TopicPartition(topic, partition));
        if (count != null) {
            // Never below zero: a record polled before its partition was revoked and handed over
            // after the count was dropped must not hide a later one.
            count.updateAndGet(n -> Math.max(0, n - 1));
        }
    }

    /** The partitions were revoked or lost: SmallRye dropped their queued records. */
    void dropped(Collection<TopicPartition> partitions) {
        partitions.forEach(queued::remove);
    }

    /**
     * Forgets the count when nothing was polled or handed over for {@code idle}. SmallRye hands a
     * queued record over within milliseconds while its subscriber asks for more, so a count left
     * standing that long is most likely a record SmallRye dropped unseen (this count would
     * otherwise hold the fetch gate shut for good); forgetting a few records that do wait (all of
     * {@code max-concurrency} busy) only lets SmallRye's own queue bound apply instead.
     */
    void forgetIfIdleFor(Duration idle) {
        if (System.nanoTime() - lastMoveNanos > idle.toNanos() && queued() > 0) {
            queued.clear();
        }
    }

    /** Records polled and not handed over yet. */
    int queued() {
        int sum = 0;
        for (AtomicInteger count : queued.values()) {
            sum += count.get();
        }
        return sum;
    }

    /** Runs {@code listener} on the polling thread with the number of records whenever a poll returns some. */
    void onPoll(IntConsumer listener) {
        this.onPoll = listener;
    }
}
