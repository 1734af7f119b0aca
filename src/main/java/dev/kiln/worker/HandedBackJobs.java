package dev.kiln.worker;

import dev.kiln.config.KilnConfig;
import dev.kiln.job.BatchCommand;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.job.RetryRequested;
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
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

/**
 * The attempts workers handed back to the dispatcher, so that a stale delivery of an attempt is
 * never rendered next to the attempt that replaced it.
 *
 * <p>The window it closes: a worker whose attempt failed announces {@code queued} at the next
 * attempt, sends a {@link RetryRequested} on {@code kiln.control}, and only then acknowledges
 * the job. A worker that dies between the two has the job delivered again, at the old attempt,
 * while the dispatcher releases the next one; both would render and both would be paid. Before
 * a job starts, {@link RenderWorker} asks {@link #supersedes}: a delivery at an attempt below
 * one already handed back is a leftover of that crash, and is acknowledged without a render.
 *
 * <p>Why this is sound: the hand-back is committed before the dying worker could have
 * acknowledged, the stale delivery reaches a worker only after the group noticed the death (a
 * session timeout or a restart, seconds), and {@link #awaitReadUpTo} holds each job until this
 * tail has read {@code kiln.control} up to its end offsets (last stable offset, read committed)
 * sampled after the job arrived. Everything committed before the delivery is therefore known
 * when the job is checked. Attempts only grow (a client's retry starts at the next number), so
 * a delivery below a handed-back attempt can never be a job's live attempt.
 *
 * <p>It tails {@code kiln.control} with its own consumer (one partition, no group, read
 * committed) from {@link #MEMORY} ago and keeps one small entry per job handed back in that time.
 */
@ApplicationScoped
public class HandedBackJobs {

    /**
     * How long a hand-back is remembered. A stale delivery comes as soon as another worker takes
     * the dead one's partitions (seconds) or the worker restarts; a day covers every worker being
     * down overnight. After that the duplicate could only be paid again if both renders overlapped
     * in time, since a delivery that finds the other's stored outputs is not rendered anyway.
     */
    static final Duration MEMORY = Duration.ofDays(1);
    /** The tail's poll while no job waits for it; a waiting job wakes it at once. */
    private static final Duration IDLE_POLL = Duration.ofMillis(500);
    private static final Duration CATCH_UP_POLL = Duration.ofMillis(100);
    private static final Duration PRUNE_EVERY = Duration.ofHours(1);

    private final Map<String, Object> connection = new HashMap<>();
    private final boolean enabled;
    /** The highest attempt handed back per job id, with when. */
    private final Map<String, HandedBack> attempts = new ConcurrentHashMap<>();
    private final Object lock = new Object();
    /** Whether any end offsets were read up to yet; guarded by lock. */
    private boolean read;
    /** System.nanoTime() at which the last end offsets read up to were sampled; guarded by lock. */
    private long readUpTo;
    /** Whether a job waits for a newer sample; guarded by lock. */
    private boolean waiting;
    /** The latest arrival a job waits to see covered; guarded by lock. */
    private long wanted;
    /** True while the tail sits in its idle poll, where a waiting job may wake it (once). */
    private final AtomicBoolean idle = new AtomicBoolean();
    private volatile KafkaConsumer<String, byte[]> consumer;
    private volatile boolean running = true;

    public HandedBackJobs(@Identifier("default-kafka-broker") Map<String, Object> shared, KilnConfig kiln) {
        shared.forEach((name, value) -> {
            if (AdminClientConfig.configNames().contains(name) && !name.equals(AdminClientConfig.CLIENT_ID_CONFIG)) {
                connection.put(name, value);
            }
        });
        this.enabled = kiln.parsedRole().runsWorker();
    }

    /**
     * One hand-back: the attempt the dispatcher got the job back at, and when its batch was
     * accepted. A batch deleted and made again with the same {@code Idempotency-Key} has the same
     * job ids, its attempts start at 1 again, and it was accepted later: its deliveries are not
     * stale because of the old batch's hand-backs.
     */
    private record HandedBack(int attempt, Instant at, Instant batchAcceptedAt) {
    }

    void start(@Observes StartupEvent event) {
        if (!enabled) {
            return;
        }
        Map<String, Object> config = new HashMap<>(connection);
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, "kiln-worker-handed-back-tail");
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        config.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 50);
        consumer = new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer());
        Thread.ofPlatform().daemon().name("kiln-worker-handed-back-tail").start(this::run);
    }

    void stop(@Observes ShutdownEvent event) {
        running = false;
        KafkaConsumer<String, byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
    }

    /**
     * Whether {@code job} is a stale delivery: a worker already handed a later attempt of it back
     * to the dispatcher. Ask only after {@link #awaitReadUpTo} confirmed the job's arrival.
     */
    public boolean supersedes(RenderJobRequested job) {
        HandedBack handedBack = attempts.get(job.jobId());
        return handedBack != null && handedBack.attempt() > job.attempt()
                && java.util.Objects.equals(handedBack.batchAcceptedAt(), job.requestedAt());
    }

    /**
     * Waits until every hand-back committed before {@code arrivedNanos} (a {@link System#nanoTime()})
     * has been read, at most {@code max}.
     *
     * @return false when that could not be confirmed in time (the broker is away); true at once
     *         where this process runs no worker
     */
    public boolean awaitReadUpTo(long arrivedNanos, Duration max) throws InterruptedException {
        if (!enabled) {
            return true;
        }
        long deadline = System.nanoTime() + max.toNanos();
        synchronized (lock) {
            if (covers(arrivedNanos)) {
                return true;
            }
            if (!waiting || arrivedNanos - wanted > 0) {
                wanted = arrivedNanos;
            }
            waiting = true;
        }
        KafkaConsumer<String, byte[]> c = consumer;
        if (c != null && idle.compareAndSet(true, false)) {
            // Out of its idle poll, to sample the end offsets now. Only once per idle poll: a
            // wake-up that lands in the catch-up would only start it again.
            c.wakeup();
        }
        synchronized (lock) {
            while (!covers(arrivedNanos)) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                lock.wait(Math.max(1, left / 1_000_000));
            }
            return true;
        }
    }

    /** Whether the end offsets last read up to were sampled at or after {@code arrivedNanos}; hold lock. */
    private boolean covers(long arrivedNanos) {
        return read && readUpTo - arrivedNanos >= 0;
    }

    /** Remembers the hand-backs in {@code command}; package-private for the tests. */
    void remember(BatchCommand command) {
        if (command instanceof RetryRequested retry && retry.afterFailedAttempt()) {
            Instant at = retry.requestedAt() == null ? Instant.now() : retry.requestedAt();
            Instant accepted = retry.job() == null ? null : retry.job().requestedAt();
            for (String jobId : retry.jobIds()) {
                // A later batch under the same id replaces the old one's hand-back, whatever its attempt.
                attempts.merge(jobId, new HandedBack(retry.attempt(), at, accepted),
                        (old, next) -> !java.util.Objects.equals(old.batchAcceptedAt(), next.batchAcceptedAt())
                                || next.attempt() >= old.attempt() ? next : old);
            }
        }
    }

    private void run() {
        List<TopicPartition> partitions = null;
        long nextPrune = System.nanoTime() + PRUNE_EVERY.toNanos();
        while (running) {
            try {
                if (partitions == null) {
                    List<TopicPartition> found = consumer.partitionsFor(Topics.CONTROL).stream()
                            .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
                    if (found.isEmpty()) {
                        throw new IllegalStateException(Topics.CONTROL + " does not exist yet");
                    }
                    consumer.assign(found);
                    seekToMemory(found);
                    partitions = found;
                }
                boolean sample;
                synchronized (lock) {
                    sample = waiting;
                }
                if (sample) {
                    catchUp(partitions);
                } else {
                    idle.set(true);
                    try {
                        consumer.poll(IDLE_POLL).forEach(this::remember);
                    } finally {
                        idle.set(false);
                    }
                }
                if (System.nanoTime() - nextPrune > 0) {
                    prune();
                    nextPrune = System.nanoTime() + PRUNE_EVERY.toNanos();
                }
            } catch (WakeupException e) {
                // a job waits (or stop() asked): the loop looks again
            } catch (RuntimeException e) {
                Log.warnf("the worker's tail of %s failed (%s); trying again in a second", Topics.CONTROL, e.toString());
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        consumer.close(Duration.ofSeconds(2));
    }

    /** Reads up to the end offsets sampled now, then tells the waiting jobs. */
    private void catchUp(List<TopicPartition> partitions) {
        long sampledAt = System.nanoTime();
        Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
        while (running && partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
            consumer.poll(CATCH_UP_POLL).forEach(this::remember);
        }
        if (!running) {
            return;
        }
        synchronized (lock) {
            read = true;
            readUpTo = sampledAt;
            if (waiting && wanted - sampledAt <= 0) {
                waiting = false; // every job waiting so far arrived before this sample
            }
            lock.notifyAll();
        }
    }

    private void seekToMemory(List<TopicPartition> partitions) {
        long from = Instant.now().minus(MEMORY).toEpochMilli();
        Map<TopicPartition, OffsetAndTimestamp> offsets = consumer.offsetsForTimes(
                partitions.stream().collect(Collectors.toMap(p -> p, p -> from)));
        for (TopicPartition partition : partitions) {
            OffsetAndTimestamp offset = offsets.get(partition);
            if (offset == null) {
                consumer.seekToEnd(List.of(partition));
            } else {
                consumer.seek(partition, offset.offset());
            }
        }
    }

    private void remember(ConsumerRecord<String, byte[]> record) {
        if (record.value() == null) {
            return;
        }
        try {
            remember(KilnJson.MAPPER.readValue(record.value(), BatchCommand.class));
        } catch (Exception e) {
            Log.debugf("skipping an unreadable command for %s: %s", record.key(), e.getMessage());
        }
    }

    private void prune() {
        Instant before = Instant.now().minus(MEMORY);
        attempts.values().removeIf(h -> h.at().isBefore(before));
    }
}
