package dev.kiln.worker;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/** The count of records polled and not handed over yet, which the fetch gate adds to its bound. */
class PolledJobsTest {

    private static final TopicPartition P0 = new TopicPartition("kiln.jobs", 0);
    private static final TopicPartition P1 = new TopicPartition("kiln.jobs", 1);

    @Test
    void countsWhatAPollReturnedUntilEachRecordIsHandedOver() {
        PolledJobs polled = new PolledJobs();
        List<Integer> heard = new ArrayList<>();
        polled.onPoll(heard::add);

        polled.polled(records(Map.of(P0, 3, P1, 1)));
        assertThat(polled.queued()).isEqualTo(4);
        assertThat(heard).containsExactly(4);

        polled.handedOver("kiln.jobs", 0);
        polled.handedOver("kiln.jobs", 1);
        assertThat(polled.queued()).isEqualTo(2);
    }

    @Test
    void aRevokedPartitionTakesItsQueuedRecordsWithIt() {
        PolledJobs polled = new PolledJobs();
        polled.polled(records(Map.of(P0, 3, P1, 2)));

        polled.dropped(List.of(P0));
        assertThat(polled.queued()).isEqualTo(2);

        // A record of the revoked partition handed over after all never hides a later one.
        polled.handedOver("kiln.jobs", 0);
        polled.polled(records(Map.of(P0, 1)));
        assertThat(polled.queued()).isEqualTo(3);
    }

    @Test
    void aCountNothingMovedForIsForgottenSoThatTheGateCannotStayShut() throws InterruptedException {
        PolledJobs polled = new PolledJobs();
        polled.polled(records(Map.of(P0, 2)));

        polled.forgetIfIdleFor(java.time.Duration.ofSeconds(10));
        assertThat(polled.queued()).isEqualTo(2);
        Thread.sleep(30);
        polled.forgetIfIdleFor(java.time.Duration.ofMillis(10));
        assertThat(polled.queued()).isZero();
    }

    @Test
    void anEmptyPollIsNotReported() {
        PolledJobs polled = new PolledJobs();
        List<Integer> heard = new ArrayList<>();
        polled.onPoll(heard::add);

        polled.polled(ConsumerRecords.empty());
        assertThat(heard).isEmpty();
        assertThat(polled.queued()).isZero();
    }

    private static ConsumerRecords<Object, Object> records(Map<TopicPartition, Integer> counts) {
        Map<TopicPartition, List<ConsumerRecord<Object, Object>>> byPartition = new java.util.HashMap<>();
        counts.forEach((tp, n) -> byPartition.put(tp, IntStream.range(0, n)
                .mapToObj(i -> new ConsumerRecord<Object, Object>(tp.topic(), tp.partition(), i, "job-" + i, "payload"))
                .toList()));
        return new ConsumerRecords<>(byPartition, Map.of());
    }
}
