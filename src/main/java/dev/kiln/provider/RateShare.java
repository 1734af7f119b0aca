package dev.kiln.provider;

import dev.kiln.config.KilnConfig;
import dev.kiln.messaging.KafkaAdmins;
import dev.kiln.messaging.Topics;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.eclipse.microprofile.config.inject.ConfigProperty;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Divides the organisation's rate limits among the workers through Kafka alone. Each worker
 * owns some partitions of {@code kiln.jobs}; its share is the part of the group's backlog
 * (end offset minus committed offset, summed over partitions) that sits in its partitions, with
 * one job of pseudo-backlog per partition:
 * <pre>share = (backlog of my partitions + my partitions) / (backlog of all partitions + all partitions)</pre>
 * Every worker reads the same offsets, so the shares add up to one. With equal backlogs, or
 * none, that is owned / all partitions; when one worker's partitions run dry, its share shrinks to
 * the pseudo-backlog and the others take the rest, so the limit stays in use until the last job.
 * A rebalance sets owned / all at once; the backlog refines it every
 * {@code kiln.rate.share-refresh}, read at the multiples of that period on the wall clock, a
 * share that grows taking effect one period later ({@link ShareChange}): read on each worker's
 * own clock and applied at once, the shares added up to more than one for a moment (one cause of
 * the concurrency benchmark's 429s with three workers).
 */
@ApplicationScoped
public class RateShare {

    /** Pseudo-backlog per partition: keeps a worker whose partitions are empty able to render what arrives. */
    static final double PSEUDO_BACKLOG = 1.0;

    private final RenderPermits permits;
    private final RateConfig rate;
    private final KilnConfig kiln;
    private final KafkaAdmins admins;
    private final String groupId;
    /** Counts rebalances: a growth scheduled before one no longer applies. */
    private final AtomicLong assignments = new AtomicLong();
    private volatile boolean failureLogged;
    private volatile Set<TopicPartition> owned = Set.of();
    private volatile Set<TopicPartition> all = Set.of();
    private ScheduledExecutorService refresher;
    private Admin admin;

    public RateShare(RenderPermits permits, RateConfig rate, KilnConfig kiln,
                     KafkaAdmins admins,
                     @ConfigProperty(name = "mp.messaging.incoming.jobs.group.id") String groupId) {
        this.permits = permits;
        this.rate = rate;
        this.kiln = kiln;
        this.admins = admins;
        this.groupId = groupId;
    }

    /** The group was rebalanced: this worker now owns {@code mine} of {@code every} partition. */
    public void assigned(Set<TopicPartition> mine, Set<TopicPartition> every) {
        owned = Set.copyOf(mine);
        all = Set.copyOf(every);
        Log.infof("this worker owns %d of %d %s partitions", mine.size(), every.size(), Topics.JOBS);
        assignments.incrementAndGet();
        permits.setShare(every.isEmpty() ? 0 : (double) mine.size() / every.size());
    }

    /**
     * The share for a backlog snapshot.
     *
     * @param mine    partitions this worker owns
     * @param backlog records not yet committed, for every partition of the topic
     */
    static double share(Set<TopicPartition> mine, Map<TopicPartition, Long> backlog) {
        if (backlog.isEmpty()) {
            return 0;
        }
        double minePart = mine.stream().filter(backlog::containsKey)
                .mapToDouble(tp -> backlog.get(tp) + PSEUDO_BACKLOG).sum();
        double allPart = backlog.values().stream().mapToDouble(n -> n + PSEUDO_BACKLOG).sum();
        return minePart / allPart;
    }

    void start(@Observes StartupEvent event) {
        if (!kiln.parsedRole().runsWorker() || rate.shareRefresh().isZero()) {
            return;
        }
        admin = admins.create("kiln-rate-share");
        refresher = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("kiln-rate-share").factory());
        scheduleNext();
    }

    /** The next read at the next multiple of the period on the wall clock, the same moment for every worker. */
    private void scheduleNext() {
        long period = rate.shareRefresh().toMillis();
        long now = System.currentTimeMillis();
        long readAt = ShareChange.nextRead(now, period);
        try {
            refresher.schedule(() -> {
                try {
                    refresh(readAt, period);
                } finally {
                    scheduleNext();
                }
            }, readAt - now, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // Shutting down.
        }
    }

    void stop(@Observes ShutdownEvent event) {
        if (refresher != null) {
            refresher.shutdownNow();
            admin.close(java.time.Duration.ofSeconds(2));
        }
    }

    private void refresh(long readAt, long period) {
        Set<TopicPartition> partitions = all;
        if (partitions.isEmpty()) {
            return;
        }
        try {
            long assignment = assignments.get();
            Map<TopicPartition, Long> backlog = backlog(partitions);
            double read = share(owned, backlog);
            if (assignments.get() != assignment) {
                return;   // a rebalance during the read: its owned / all stands until the next read
            }
            // See ShareChange: shrink now, grow once every other worker has read and shrunk.
            permits.setShare(ShareChange.atOnce(permits.share(), read));
            if (read > permits.share()) {
                long wait = Math.max(0, ShareChange.growsAt(readAt, period) - System.currentTimeMillis());
                refresher.schedule(() -> {
                    if (assignments.get() == assignment) {
                        permits.setShare(read);
                    }
                }, wait, TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            // Keep the share as it is; the next refresh tries again. Said once loudly: a share
            // that never follows the backlog costs throughput on uneven load.
            if (!failureLogged) {
                failureLogged = true;
                Log.warnf("could not read the backlog of %s; the rate share stays at owned partitions until it can: %s",
                        Topics.JOBS, e.toString());
            } else {
                Log.debugf("could not read the backlog of %s: %s", Topics.JOBS, e.toString());
            }
        }
    }

    private Map<TopicPartition, Long> backlog(Set<TopicPartition> partitions)
            throws InterruptedException, ExecutionException, TimeoutException {
        Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(groupId)
                .partitionsToOffsetAndMetadata().get(5, TimeUnit.SECONDS);
        Map<TopicPartition, Long> end = offsets(partitions, OffsetSpec.latest());
        Map<TopicPartition, Long> start = offsets(partitions, OffsetSpec.earliest());
        Map<TopicPartition, Long> backlog = new HashMap<>();
        for (TopicPartition tp : partitions) {
            OffsetAndMetadata done = committed.get(tp);
            long from = done == null ? start.getOrDefault(tp, 0L) : done.offset();
            backlog.put(tp, Math.max(0, end.getOrDefault(tp, 0L) - from));
        }
        return backlog;
    }

    private Map<TopicPartition, Long> offsets(Set<TopicPartition> partitions, OffsetSpec spec)
            throws InterruptedException, ExecutionException, TimeoutException {
        Map<TopicPartition, OffsetSpec> request = partitions.stream().collect(Collectors.toMap(Function.identity(), tp -> spec));
        return admin.listOffsets(request).all().get(5, TimeUnit.SECONDS).entrySet().stream()
                .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().offset()));
    }
}
