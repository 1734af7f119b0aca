package dev.kiln.provider;

import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class RateShareTest {

    private static final Set<TopicPartition> FIRST_FOUR = partitions(0, 4);
    private static final Set<TopicPartition> MIDDLE_FOUR = partitions(4, 8);
    private static final Set<TopicPartition> LAST_FOUR = partitions(8, 12);

    @Test
    void withoutBacklogTheShareIsThePartOfThePartitionsOwned() {
        Map<TopicPartition, Long> backlog = backlog(i -> 0L);
        assertThat(RateShare.share(FIRST_FOUR, backlog)).isCloseTo(1 / 3.0, within(1e-9));
    }

    @Test
    void withEqualBacklogsTheShareIsStillThePartOfThePartitions() {
        Map<TopicPartition, Long> backlog = backlog(i -> 50L);
        assertThat(RateShare.share(FIRST_FOUR, backlog)).isCloseTo(1 / 3.0, within(1e-9));
    }

    @Test
    void theSharesFollowTheBacklogAndAddUpToOne() {
        Map<TopicPartition, Long> backlog = backlog(i -> i < 4 ? 60L : i < 8 ? 30L : 0L);
        double first = RateShare.share(FIRST_FOUR, backlog);
        double middle = RateShare.share(MIDDLE_FOUR, backlog);
        double last = RateShare.share(LAST_FOUR, backlog);
        assertThat(first + middle + last).isCloseTo(1.0, within(1e-9));
        assertThat(first).as("twice the backlog, about twice the share").isCloseTo(2 * middle, within(0.02));
        assertThat(last).as("a worker with nothing to do keeps only the pseudo-backlog").isCloseTo(4 / 372.0, within(1e-9));
    }

    @Test
    void partitionsNoLongerInTheSnapshotCountForNothing() {
        Map<TopicPartition, Long> backlog = backlog(i -> 10L);
        Set<TopicPartition> withStranger = new java.util.HashSet<>(FIRST_FOUR);
        withStranger.add(new TopicPartition("kiln.jobs", 99));
        assertThat(RateShare.share(withStranger, backlog)).isCloseTo(1 / 3.0, within(1e-9));
        assertThat(RateShare.share(FIRST_FOUR, Map.of())).isZero();
    }

    private static Map<TopicPartition, Long> backlog(java.util.function.IntFunction<Long> perPartition) {
        Map<TopicPartition, Long> backlog = new HashMap<>();
        IntStream.range(0, 12).forEach(i -> backlog.put(new TopicPartition("kiln.jobs", i), perPartition.apply(i)));
        return backlog;
    }

    private static Set<TopicPartition> partitions(int from, int to) {
        return IntStream.range(from, to).mapToObj(i -> new TopicPartition("kiln.jobs", i)).collect(Collectors.toSet());
    }
}
