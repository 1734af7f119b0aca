package dev.kiln.dispatch;

import dev.kiln.job.CancelRequested;
import dev.kiln.job.JobState;
import dev.kiln.job.Priority;
import dev.kiln.job.RenderJobRequested;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A dispatcher instance goes away mid-batch and another takes over with only what the stores'
 * changelog topics held: nothing is lost and nothing is released twice. With exactly-once, what
 * the changelogs hold is exactly what was committed together with the releases.
 */
class DispatchRestartTest {

    private static final List<String> STORES = List.of(
            DispatchTopology.PENDING_STORE, DispatchTopology.BATCHES_STORE, DispatchTopology.RELEASED_STORE,
            DispatchTopology.BUDGETS_STORE);

    @TempDir
    Path first;
    @TempDir
    Path second;

    @Test
    void anInstanceRestoredFromTheChangelogsReleasesTheRestOnceAndKeepsCancelsAndDeadlines() {
        Map<String, Map<Bytes, byte[]>> changelogs;
        List<String> releasedBefore = new ArrayList<>();
        try (DispatchHarness before = new DispatchHarness(first, TenantWeights.EQUAL)) {
            before.target.set(4);
            before.stage("b_big", "a", Priority.NORMAL, null, 12, 1);
            before.stage("b_small", "b", Priority.NORMAL, null, 4, 1);
            before.stage("b_doomed", "b", Priority.BULK, null, 3, 1);
            before.stage("b_due", "b", Priority.BULK, DispatchHarness.START.plusSeconds(30), 2, 1);
            before.tick();
            List<TestRecord<String, RenderJobRequested>> released = before.released();
            released.forEach(r -> releasedBefore.add(r.key()));
            before.started(released);
            before.tick();
            before.released().forEach(r -> releasedBefore.add(r.key()));
            before.command(CancelRequested.batch("b_doomed", "b", before.now()));
            assertThat(before.statusEvents()).hasSize(3);
            changelogs = readChangelogs(before);
        }
        assertThat(releasedBefore).hasSize(8);

        try (DispatchHarness after = new DispatchHarness(second, TenantWeights.EQUAL,
                name -> RestoredStore.supplier(name, changelogs), DispatchHarness.START.plusSeconds(1))) {
            assertThat(after.gauge("kiln.dispatcher.backlog.jobs")).as("12 + 4 + 2 staged, 8 released, none cancelled pending")
                    .isEqualTo(10);
            after.target.set(100);
            after.tick();
            List<String> releasedAfter = after.released().stream().map(TestRecord::key).toList();

            Set<String> all = new HashSet<>(releasedBefore);
            all.addAll(releasedAfter);
            assertThat(releasedAfter).doesNotContainAnyElementsOf(releasedBefore);
            assertThat(releasedBefore.size() + releasedAfter.size()).isEqualTo(18);
            assertThat(all).hasSize(18)
                    .noneMatch(id -> id.startsWith("b_doomed"));
            // Before: a's first fair-share visit (10 images) had released b_big 0 to 7; the rest follow now.
            assertThat(releasedBefore).allMatch(id -> id.startsWith("b_big"));
            assertThat(releasedAfter).filteredOn(id -> id.startsWith("b_big")).hasSize(4);
            assertThat(releasedAfter).filteredOn(id -> id.startsWith("b_small")).hasSize(4);
            assertThat(releasedAfter).filteredOn(id -> id.startsWith("b_due")).hasSize(2);

            // The cancel survived: an item of the cancelled batch staged now ends cancelled at once.
            after.stage("b_doomed", "b", Priority.BULK, null, List.of(DispatchHarness.job("b_doomed", "b", 3, 1)));
            assertThat(after.statusEvents()).extracting(e -> e.value().state()).containsExactly(JobState.CANCELLED);
            after.advance(Duration.ofSeconds(2));
            assertThat(after.released()).isEmpty();
        }
    }

    @Test
    void theDeadlineSurvivesARestart() {
        Map<String, Map<Bytes, byte[]>> changelogs;
        try (DispatchHarness before = new DispatchHarness(first, TenantWeights.EQUAL)) {
            before.target.set(0);
            before.stage("b_due", "b", Priority.NORMAL, DispatchHarness.START.plusSeconds(5), 2, 1);
            before.tick();
            changelogs = readChangelogs(before);
        }
        try (DispatchHarness after = new DispatchHarness(second, TenantWeights.EQUAL,
                name -> RestoredStore.supplier(name, changelogs), DispatchHarness.START.plusSeconds(1))) {
            after.target.set(0);
            after.advance(Duration.ofSeconds(5));
            assertThat(after.statusEvents()).extracting(e -> e.value().jobId() + ":" + e.value().state().wireName())
                    .containsExactly("b_due-000000:expired", "b_due-000001:expired");
        }
    }

    @Test
    void budgetReservationsSurviveARestartAndNothingIsReleasedTwice() {
        double job = 0.005915;
        Map<String, Map<Bytes, byte[]>> changelogs;
        List<RenderJobRequested> releasedBefore;
        try (DispatchHarness before = new DispatchHarness(first, TenantWeights.EQUAL)) {
            before.stageWithBudget("b_budget", "acme", 10, 2.5 * job, job);
            before.tick();
            releasedBefore = before.released().stream().map(TestRecord::value).toList();
            changelogs = readChangelogs(before);
        }
        assertThat(releasedBefore).hasSize(2);

        try (DispatchHarness after = new DispatchHarness(second, TenantWeights.EQUAL,
                name -> RestoredStore.supplier(name, changelogs), DispatchHarness.START.plusSeconds(1))) {
            after.advance(Duration.ofSeconds(1));
            assertThat(after.released()).as("the two reservations were restored: no room").isEmpty();
            after.ended(releasedBefore.get(0), JobState.SUCCEEDED, job);
            after.tick();
            assertThat(after.released()).as("one job spent, one reserved: a third would pass 2.5").isEmpty();
            after.ended(releasedBefore.get(1), JobState.SUCCEEDED, job);
            assertThat(after.statusEvents()).extracting(e -> e.value().state().wireName() + ":" + e.value().error().code())
                    .hasSize(8).containsOnly("cancelled:budget_exceeded");
            after.advance(Duration.ofSeconds(1));
            assertThat(after.released()).isEmpty();
        }
    }

    /** Folds every store's changelog topic (last value per key, null deletes) as a restore does. */
    private static Map<String, Map<Bytes, byte[]>> readChangelogs(DispatchHarness harness) {
        Map<String, Map<Bytes, byte[]>> stores = new HashMap<>();
        for (String store : STORES) {
            String topic = DispatchHarness.APPLICATION_ID + "-" + store + "-changelog";
            if (store.equals(DispatchTopology.PENDING_STORE)) {
                assertThat(harness.driver.producedTopicNames()).contains(topic);
            }
            TestOutputTopic<Bytes, byte[]> changelog = harness.driver.createOutputTopic(topic,
                    Serdes.Bytes().deserializer(), Serdes.ByteArray().deserializer());
            Map<Bytes, byte[]> state = new TreeMap<>();
            for (TestRecord<Bytes, byte[]> record : changelog.readRecordsToList()) {
                if (record.value() == null) {
                    state.remove(record.key());
                } else {
                    state.put(record.key(), record.value());
                }
            }
            stores.put(store, state);
        }
        return stores;
    }
}
