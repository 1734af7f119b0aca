package dev.kiln.provider;

import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.LongFunction;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The rate shares of three workers never add up to more than one, millisecond by millisecond,
 * while their partitions' backlogs move: the rule of {@link ShareChange} against the one before
 * it (each worker reading on its own 2 s clock and applying at once), on the same backlogs; and
 * the rule wastes none of the limit once a change has settled.
 */
class ShareChangeTest {

    private static final long PERIOD = 2_000;
    private static final long RUN = 120_000;
    private static final int PARTITIONS = 12;

    @Test
    void aShareThatShrinksAppliesAtOnceAndOneThatGrowsATenthOfAPeriodAfterTheRead() {
        assertThat(ShareChange.atOnce(0.40, 0.30)).as("shrinks at once").isEqualTo(0.30);
        assertThat(ShareChange.atOnce(0.25, 0.35)).as("grows later").isEqualTo(0.25);
        assertThat(ShareChange.growsAt(4_000, PERIOD)).isEqualTo(4_200);
    }

    @Test
    void readsFallOnTheMultiplesOfThePeriodOnTheWallClock() {
        assertThat(ShareChange.nextRead(0, PERIOD)).isEqualTo(2_000);
        assertThat(ShareChange.nextRead(1_999, PERIOD)).isEqualTo(2_000);
        assertThat(ShareChange.nextRead(2_000, PERIOD)).as("strictly after now").isEqualTo(4_000);
        assertThat(ShareChange.nextRead(1_732_000_000_123L, PERIOD)).isEqualTo(1_732_000_002_000L);
    }

    @Test
    void theSharesInForceNeverAddUpToMoreThanOneAndAreWholeAgainOnceSettled() {
        for (long seed = 1; seed <= 20; seed++) {
            LongFunction<Map<TopicPartition, Long>> backlog = movingBacklog(seed);
            // Workers started at different moments: their own clocks are out of phase.
            long[] startedAt = {0, 730, 1_410};
            // How long after the multiple each worker's read ends (clocks and reads of a few ms).
            long[] readTakes = {3, 41, 17};

            Run before = run(backlog, startedAt, readTakes, false);
            Run now = run(backlog, startedAt, readTakes, true);

            assertThat(before.worst()).as("seed %d: the rule before, each worker on its own clock", seed).isGreaterThan(1.0);
            assertThat(now.worst()).as("seed %d: aligned reads, growth a tenth of a period late", seed).isLessThanOrEqualTo(1.0 + 1e-9);
            assertThat(now.leastSettled()).as("seed %d: the whole limit in use between a growth and the next read", seed)
                    .isCloseTo(1.0, within(1e-9));
        }
    }

    /**
     * A run's sums of the shares in force.
     *
     * @param worst        the largest, every millisecond
     * @param leastSettled the smallest from a tenth of a period after each multiple to the next one
     */
    private record Run(double worst, double leastSettled) {
    }

    private static Run run(LongFunction<Map<TopicPartition, Long>> backlog, long[] startedAt, long[] readTakes, boolean newRule) {
        List<Set<TopicPartition>> owned = List.of(partitions(0, 4), partitions(4, 8), partitions(8, 12));
        int workers = owned.size();
        double[] inForce = new double[workers];
        double[] growTo = new double[workers];
        long[] growAt = new long[workers];
        long[] nextRead = new long[workers];
        for (int w = 0; w < workers; w++) {
            inForce[w] = 1 / 3.0;   // as the rebalance set it
            growAt[w] = Long.MAX_VALUE;
            nextRead[w] = newRule ? ShareChange.nextRead(startedAt[w], PERIOD) : startedAt[w] + PERIOD;
        }
        double worst = 0;
        double leastSettled = Double.MAX_VALUE;
        for (long now = 0; now < RUN; now++) {
            for (int w = 0; w < workers; w++) {
                if (now == nextRead[w] + readTakes[w]) {
                    // The offsets as they stood at the moment of the read (the multiple, on the new rule).
                    double read = RateShare.share(owned.get(w), backlog.apply(nextRead[w]));
                    if (newRule) {
                        inForce[w] = ShareChange.atOnce(inForce[w], read);
                        if (read > inForce[w]) {
                            growTo[w] = read;
                            growAt[w] = Math.max(now, ShareChange.growsAt(nextRead[w], PERIOD));
                        }
                        nextRead[w] = ShareChange.nextRead(now, PERIOD);
                    } else {
                        inForce[w] = read;
                        nextRead[w] = now - readTakes[w] + PERIOD;
                    }
                }
                if (now == growAt[w]) {
                    inForce[w] = growTo[w];
                    growAt[w] = Long.MAX_VALUE;
                }
            }
            double sum = 0;
            for (double share : inForce) {
                sum += share;
            }
            worst = Math.max(worst, sum);
            if (now >= PERIOD && now % PERIOD >= PERIOD / 10) {
                leastSettled = Math.min(leastSettled, sum);
            }
        }
        return new Run(worst, leastSettled);
    }

    /**
     * Backlogs as a batch makes them: jobs released to random partitions every 100 ms, and each
     * partition's committed offset moving once a second, by however many jobs ended there.
     */
    private static LongFunction<Map<TopicPartition, Long>> movingBacklog(long seed) {
        Random random = new Random(seed);
        long[][] perTenth = new long[(int) (RUN / 100) + 1][PARTITIONS];
        long[] current = new long[PARTITIONS];
        for (int tenth = 0; tenth < perTenth.length; tenth++) {
            for (int i = 0; i < 3; i++) {
                current[random.nextInt(PARTITIONS)]++;
            }
            if (tenth % 10 == 0) {
                for (int p = 0; p < PARTITIONS; p++) {
                    current[p] -= Math.min(current[p], random.nextInt(12));
                }
            }
            perTenth[tenth] = current.clone();
        }
        return now -> {
            long[] at = perTenth[(int) (now / 100)];
            Map<TopicPartition, Long> backlog = new HashMap<>();
            for (int p = 0; p < PARTITIONS; p++) {
                backlog.put(new TopicPartition("kiln.jobs", p), at[p]);
            }
            return backlog;
        };
    }

    private static Set<TopicPartition> partitions(int from, int to) {
        return IntStream.range(from, to).mapToObj(i -> new TopicPartition("kiln.jobs", i)).collect(Collectors.toSet());
    }
}
