package dev.kiln.dispatch;

import org.apache.kafka.streams.processor.StreamPartitioner;

import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Places released jobs on the partitions of {@code kiln.jobs} in turn rather than by the hash of
 * their key (the job id, which stays the key). Each worker's part of the rate limit follows its
 * part of the backlog ({@code dev.kiln.provider.RateShare}), and at long latencies that backlog is
 * mostly calls in flight; with jobs placed by hash, one worker was left with more of a batch's last
 * jobs than the others and rendered them at its third of the rate while the others' permits idled:
 * three workers at 60 s came to 92.6 % of the limit in {@code ConcurrencyPacingTest}, 97.3 % with
 * jobs placed in turn. In turn, every partition gets the same number of jobs within one, so the
 * workers run out together. Each dispatcher process starts at a random partition, so that several do not
 * all begin with the first.
 */
final class EvenJobPlacement implements StreamPartitioner<String, Object> {

    private final AtomicLong next = new AtomicLong(ThreadLocalRandom.current().nextInt(1 << 16));

    @Override
    public Optional<Set<Integer>> partitions(String topic, String key, Object value, int numPartitions) {
        return Optional.of(Set.of((int) Math.floorMod(next.getAndIncrement(), (long) numPartitions)));
    }
}
