package dev.kiln.dispatch;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class EvenJobPlacementTest {

    @Test
    void everyPartitionGetsTheSameNumberOfJobsWithinOne() {
        EvenJobPlacement placement = new EvenJobPlacement();
        Map<Integer, Integer> perPartition = new HashMap<>();
        for (int i = 0; i < 1_205; i++) {
            Set<Integer> chosen = placement.partitions("kiln.jobs", "job-" + i, null, 12).orElseThrow();
            assertThat(chosen).hasSize(1);
            chosen.forEach(p -> perPartition.merge(p, 1, Integer::sum));
        }
        assertThat(perPartition.keySet()).allMatch(p -> p >= 0 && p < 12).hasSize(12);
        assertThat(perPartition.values()).allMatch(n -> n == 100 || n == 101);
    }

    @Test
    void theKeyDoesNotDecideThePartition() {
        EvenJobPlacement placement = new EvenJobPlacement();
        Set<Integer> first = placement.partitions("kiln.jobs", "job-1", null, 12).orElseThrow();
        Set<Integer> second = placement.partitions("kiln.jobs", "job-1", null, 12).orElseThrow();
        assertThat(second).isNotEqualTo(first);
    }
}
