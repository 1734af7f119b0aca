package dev.kiln.dispatch;

import dev.kiln.job.BatchCommand;
import dev.kiln.job.CancelRequested;
import dev.kiln.job.JobState;
import dev.kiln.job.JobStatusChanged;
import dev.kiln.job.Priority;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.job.RetryRequested;
import dev.kiln.messaging.KilnJson;
import dev.kiln.tenant.TenantDirectories;
import dev.kiln.tenant.TenantDirectory;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class DispatchTopologyTest {

    @TempDir
    Path stateDir;

    private DispatchHarness dispatcher;

    @AfterEach
    void close() {
        if (dispatcher != null) {
            dispatcher.close();
        }
    }

    private static List<String> ids(List<TestRecord<String, RenderJobRequested>> records) {
        return records.stream().map(r -> r.value().batchId() + "#" + r.value().index()).toList();
    }

    @Test
    void releasesByPriorityThenFairShareByImagesThenBatchTurnsThenItemOrder() throws Exception {
        dispatcher = new DispatchHarness(stateDir, tenant -> tenant.equals("big") ? 2.0 : 1.0);
        dispatcher.stage("b_bulk", "big", Priority.BULK, null, 2, 1);
        dispatcher.stage("b_big1", "big", Priority.NORMAL, null, 40, 1);
        dispatcher.stage("b_big2", "big", Priority.NORMAL, null, 40, 1);
        dispatcher.stage("b_small", "small", Priority.NORMAL, null, 10, 2);
        dispatcher.stage("b_urgent", "small", Priority.INTERACTIVE, null, 1, 1);
        assertThat(dispatcher.released()).as("nothing leaves between ticks").isEmpty();

        dispatcher.tick();
        List<TestRecord<String, RenderJobRequested>> released = dispatcher.released();

        assertThat(released).hasSize(93);
        assertThat(ids(released).getFirst()).as("interactive first").isEqualTo("b_urgent#0");
        assertThat(ids(released).subList(91, 93)).as("bulk last").containsExactly("b_bulk#0", "b_bulk#1");
        // Normal: big (weight 2) gets 20 images a round, small (weight 1) 10, i.e. 5 jobs of 2 images.
        List<String> normal = ids(released).subList(1, 91);
        assertThat(normal.subList(0, 25)).containsExactly(
                "b_big1#0", "b_big2#0", "b_big1#1", "b_big2#1", "b_big1#2", "b_big2#2", "b_big1#3", "b_big2#3",
                "b_big1#4", "b_big2#4", "b_big1#5", "b_big2#5", "b_big1#6", "b_big2#6", "b_big1#7", "b_big2#7",
                "b_big1#8", "b_big2#8", "b_big1#9", "b_big2#9",
                "b_small#0", "b_small#1", "b_small#2", "b_small#3", "b_small#4");
        long bigImagesWhileBothWait = normal.subList(0, 50).stream().filter(id -> id.startsWith("b_big")).count();
        assertThat(bigImagesWhileBothWait).as("2:1 by images: 40 of big's images for 20 of small's").isEqualTo(40);

        // Each release is the job as staged, keyed by job id, with the publishers' CloudEvents headers.
        TestRecord<String, RenderJobRequested> first = released.getFirst();
        RenderJobRequested expected = DispatchHarness.job("b_urgent", "small", 0, 1);
        assertThat(first.key()).isEqualTo(expected.jobId());
        assertThat(KilnJson.MAPPER.writeValueAsString(first.value())).isEqualTo(KilnJson.MAPPER.writeValueAsString(expected));
        assertThat(DispatchHarness.header(first, CloudEventHeaders.TYPE)).isEqualTo("kiln.job.requested");
        assertThat(DispatchHarness.header(first, CloudEventHeaders.SUBJECT)).isEqualTo(expected.jobId());
        assertThat(DispatchHarness.header(first, CloudEventHeaders.ID)).isEqualTo(expected.jobId() + "/1");
        assertThat(DispatchHarness.header(first, CloudEventHeaders.SOURCE)).isEqualTo("urn:kiln");
        assertThat(DispatchHarness.header(first, CloudEventHeaders.SPEC_VERSION)).isEqualTo("1.0");
        assertThat(dispatcher.gauge("kiln.dispatcher.backlog.images")).isZero();
        assertThat(dispatcher.registry.find("kiln.dispatcher.released").tag("tenant", "big").counters().stream()
                .mapToDouble(c -> c.count()).sum()).isEqualTo(82.0);
    }

    @Test
    void keepsNoMoreThanTheWindowReleasedButUnstarted() {
        dispatcher = new DispatchHarness(stateDir, TenantWeights.EQUAL);
        dispatcher.target.set(3);
        dispatcher.stage("b_one", "acme", Priority.NORMAL, null, 10, 2);
        assertThat(dispatcher.gauge("kiln.dispatcher.pending.images", "tenant", "acme")).isEqualTo(20);

        dispatcher.tick();
        List<TestRecord<String, RenderJobRequested>> first = dispatcher.released();
        assertThat(first).hasSize(3);
        dispatcher.advance(Duration.ofSeconds(5));
        assertThat(dispatcher.released()).as("no worker started anything").isEmpty();
        assertThat(dispatcher.gauge("kiln.dispatcher.window.unstarted")).isEqualTo(3);

        dispatcher.started(first.subList(0, 2));
        dispatcher.tick();
        assertThat(ids(dispatcher.released())).containsExactly("b_one#3", "b_one#4");
        assertThat(dispatcher.gauge("kiln.dispatcher.pending.images", "tenant", "acme")).isEqualTo(10);
    }

    @Test
    void cancelledItemsNeverReachTheWorkersAndEachEndsCancelled() {
        dispatcher = new DispatchHarness(stateDir, TenantWeights.EQUAL);
        dispatcher.target.set(2);
        dispatcher.stage("b_cat", "acme", Priority.NORMAL, null, 6, 1);
        dispatcher.stage("b_other", "acme", Priority.BULK, null, 3, 1);
        dispatcher.tick();
        List<TestRecord<String, RenderJobRequested>> before = dispatcher.released();
        assertThat(ids(before)).containsExactly("b_cat#0", "b_cat#1");

        dispatcher.command(CancelRequested.batch("b_cat", "acme", dispatcher.now()));
        dispatcher.command(CancelRequested.job("b_other", "acme", "b_other-000001", dispatcher.now()));

        List<TestRecord<String, JobStatusChanged>> events = dispatcher.statusEvents();
        assertThat(events).extracting(e -> e.value().jobId()).containsExactly(
                "b_cat-000002", "b_cat-000003", "b_cat-000004", "b_cat-000005", "b_other-000001");
        assertThat(events).allSatisfy(e -> {
            assertThat(e.value().state()).isEqualTo(JobState.CANCELLED);
            assertThat(e.key()).isEqualTo(e.value().batchId());
            assertThat(DispatchHarness.header(e, CloudEventHeaders.TYPE)).isEqualTo("kiln.job.cancelled");
            assertThat(DispatchHarness.header(e, CloudEventHeaders.SUBJECT)).isEqualTo(e.value().jobId());
            assertThat(DispatchHarness.header(e, CloudEventHeaders.ID)).isNotBlank();
        });

        // Items of the cancelled batch staged after the cancel end cancelled at once.
        dispatcher.stage("b_cat", "acme", Priority.NORMAL, null,
                List.of(DispatchHarness.job("b_cat", "acme", 6, 1)));
        assertThat(dispatcher.statusEvents()).extracting(e -> e.value().jobId() + ":" + e.value().state().wireName())
                .containsExactly("b_cat-000006:cancelled");

        dispatcher.started(before);
        dispatcher.advance(Duration.ofSeconds(2));
        assertThat(ids(dispatcher.released())).as("only the other batch's jobs still pending")
                .containsExactly("b_other#0", "b_other#2");
        assertThat(dispatcher.gauge("kiln.dispatcher.backlog.jobs")).isZero();
    }

    @Test
    void itemsNotReleasedByTheirDeadlineEndExpired() {
        dispatcher = new DispatchHarness(stateDir, TenantWeights.EQUAL);
        dispatcher.target.set(1);
        dispatcher.stage("b_soon", "acme", Priority.NORMAL, DispatchHarness.START.plusSeconds(3), 4, 1);
        dispatcher.stage("b_late", "acme", Priority.BULK, null, 1, 1);
        dispatcher.tick();
        assertThat(ids(dispatcher.released())).containsExactly("b_soon#0");
        dispatcher.advance(Duration.ofSeconds(2));
        assertThat(dispatcher.statusEvents()).as("not yet").isEmpty();

        dispatcher.advance(Duration.ofSeconds(2));
        List<TestRecord<String, JobStatusChanged>> events = dispatcher.statusEvents();
        assertThat(events).extracting(e -> e.value().jobId()).containsExactly("b_soon-000001", "b_soon-000002", "b_soon-000003");
        assertThat(events).allSatisfy(e -> {
            assertThat(e.value().state()).isEqualTo(JobState.EXPIRED);
            assertThat(e.value().error().code()).isEqualTo("deadline_exceeded");
            assertThat(DispatchHarness.header(e, CloudEventHeaders.TYPE)).isEqualTo("kiln.job.expired");
        });

        dispatcher.unstarted.started("b_soon-000000");
        dispatcher.target.set(100);
        dispatcher.tick();
        assertThat(ids(dispatcher.released())).containsExactly("b_late#0");

        // A batch staged after its deadline expires at once.
        dispatcher.stage("b_past", "acme", Priority.NORMAL, DispatchHarness.START, 1, 1);
        assertThat(dispatcher.statusEvents()).extracting(e -> e.value().state()).containsExactly(JobState.EXPIRED);
    }

    @Test
    void retriesGoBackToQueuedWithFreshAttemptsAheadOfFreshWork() {
        dispatcher = new DispatchHarness(stateDir, TenantWeights.EQUAL);
        dispatcher.target.set(2);
        dispatcher.stage("b_first", "acme", Priority.NORMAL, null, 2, 1);
        dispatcher.tick();
        List<TestRecord<String, RenderJobRequested>> first = dispatcher.released();
        dispatcher.started(first);
        dispatcher.stage("b_second", "acme", Priority.NORMAL, DispatchHarness.START.plusSeconds(1), 3, 1);
        dispatcher.target.set(0);
        dispatcher.advance(Duration.ofSeconds(2));
        assertThat(dispatcher.statusEvents()).as("b_second expired").hasSize(3);
        dispatcher.stage("b_third", "acme", Priority.NORMAL, null, 3, 1);

        // Say b_first's job 1 failed for good: the client retries it and b_second's expired items.
        BatchCommand retryFailed = RetryRequested.fresh("b_first", "acme", List.of("b_first-000001", "b_unknown-000009"), dispatcher.now());
        dispatcher.command(retryFailed);
        dispatcher.command(RetryRequested.fresh("b_second", "acme", List.of("b_second-000000", "b_second-000002"), dispatcher.now()));
        List<TestRecord<String, JobStatusChanged>> queued = dispatcher.statusEvents();
        assertThat(queued).extracting(e -> e.value().jobId() + ":" + e.value().state().wireName() + "@" + e.value().attempt())
                .as("each goes on at its next attempt").containsExactly("b_first-000001:queued@2", "b_second-000000:queued@2",
                        "b_second-000002:queued@2");

        // A worker's retry after a transient failure: the next attempt, due in 3 s.
        dispatcher.command(new RetryRequested("b_first", "acme", List.of("b_first-000000"), 2,
                dispatcher.now().plusSeconds(3), dispatcher.now()));
        dispatcher.statusEvents();

        dispatcher.target.set(4);
        dispatcher.tick();
        List<TestRecord<String, RenderJobRequested>> retried = dispatcher.released();
        assertThat(ids(retried)).as("due retries first, the retried expired items no longer bound by the deadline")
                .containsExactly("b_first#1", "b_second#0", "b_second#2", "b_third#0");
        assertThat(retried.getFirst().value().attempt()).isEqualTo(2);
        assertThat(retried.getFirst().value().attemptsInRound()).as("a fresh round of attempts").isEqualTo(1);
        assertThat(DispatchHarness.header(retried.getFirst(), CloudEventHeaders.ID))
                .as("a new event id for a new release").isNotEqualTo("b_first-000001/2");
        dispatcher.started(retried);

        dispatcher.tick();
        assertThat(ids(dispatcher.released())).as("the worker's retry is not due yet").containsExactly("b_third#1", "b_third#2");
        dispatcher.unstarted.started("b_third-000001");
        dispatcher.unstarted.started("b_third-000002");
        dispatcher.advance(Duration.ofSeconds(3));
        List<TestRecord<String, RenderJobRequested>> late = dispatcher.released();
        assertThat(ids(late)).containsExactly("b_first#0");
        assertThat(late.getFirst().value().attempt()).isEqualTo(2);
    }

    @Test
    void aRetryOfACancelledBatchOrOfAPendingJobChangesNothing() {
        dispatcher = new DispatchHarness(stateDir, TenantWeights.EQUAL);
        dispatcher.target.set(1);
        dispatcher.stage("b_a", "acme", Priority.NORMAL, null, 3, 1);
        dispatcher.tick();
        dispatcher.command(RetryRequested.fresh("b_a", "acme", List.of("b_a-000001"), dispatcher.now()));
        assertThat(dispatcher.statusEvents()).as("b_a-000001 is still pending").isEmpty();

        dispatcher.command(CancelRequested.batch("b_a", "acme", dispatcher.now()));
        assertThat(dispatcher.statusEvents()).hasSize(2);
        dispatcher.command(RetryRequested.fresh("b_a", "acme", List.of("b_a-000000"), dispatcher.now()));
        assertThat(dispatcher.statusEvents()).isEmpty();
        dispatcher.unstarted.started("b_a-000000");
        dispatcher.advance(Duration.ofSeconds(1));
        assertThat(ids(dispatcher.released())).containsExactly("b_a#0");
        assertThat(dispatcher.released()).isEmpty();
    }

    @Test
    void aWorkersRetryIsReleasedWithinItsDelayAheadOfTheBacklog() {
        dispatcher = new DispatchHarness(stateDir, TenantWeights.EQUAL);
        dispatcher.target.set(2);
        dispatcher.stage("b_big", "acme", Priority.NORMAL, null, 500, 1);
        dispatcher.tick();
        List<TestRecord<String, RenderJobRequested>> first = dispatcher.released();
        assertThat(ids(first)).containsExactly("b_big#0", "b_big#1");
        dispatcher.started(first);

        // Job 0 failed with a 5xx: the worker announced it queued at attempt 2 and hands it back, due in 1 s.
        RenderJobRequested next = first.getFirst().value().withAttempt(2);
        dispatcher.command(RetryRequested.afterFailure(next, dispatcher.now().plusSeconds(1), dispatcher.now()));
        assertThat(dispatcher.statusEvents()).as("the worker announced it; the dispatcher adds nothing").isEmpty();
        dispatcher.tick();
        List<TestRecord<String, RenderJobRequested>> meanwhile = dispatcher.released();
        assertThat(ids(meanwhile)).as("fresh work while the retry is not due").containsExactly("b_big#2", "b_big#3");
        dispatcher.advance(Duration.ofSeconds(1));
        assertThat(dispatcher.released()).as("the window is full").isEmpty();

        dispatcher.started(meanwhile);
        dispatcher.tick();
        List<TestRecord<String, RenderJobRequested>> due = dispatcher.released();
        assertThat(ids(due).getFirst()).as("due: ahead of the 496 fresh jobs").isEqualTo("b_big#0");
        assertThat(due.getFirst().value().attempt()).isEqualTo(2);
        assertThat(DispatchHarness.header(due.getFirst(), CloudEventHeaders.ID)).startsWith("b_big-000000/2/");
        dispatcher.started(due);

        // A redelivery of attempt 1 that fails again asks for attempt 2 once more: released already, ignored.
        dispatcher.command(RetryRequested.afterFailure(next, dispatcher.now(), dispatcher.now()));
        dispatcher.advance(Duration.ofSeconds(1));
        List<TestRecord<String, RenderJobRequested>> fresh = dispatcher.released();
        assertThat(fresh).extracting(r -> r.value().jobId()).hasSize(2).doesNotContain("b_big-000000");
        dispatcher.started(fresh);

        // Attempt 2 failed too; then the client retries the failed job: attempt 3 would have been next,
        // so it goes on at attempt 4 after a worker retry at 3, with a fresh round.
        dispatcher.command(RetryRequested.afterFailure(next.withAttempt(3), dispatcher.now(), dispatcher.now()));
        dispatcher.tick();
        List<TestRecord<String, RenderJobRequested>> third = dispatcher.released();
        assertThat(third.getFirst().value().attempt()).isEqualTo(3);
        dispatcher.started(third);
        dispatcher.command(RetryRequested.fresh("b_big", "acme", List.of("b_big-000000"), dispatcher.now()));
        assertThat(dispatcher.statusEvents()).extracting(e -> e.value().state().wireName() + "@" + e.value().attempt())
                .containsExactly("queued@4");
        dispatcher.tick();
        RenderJobRequested fourth = dispatcher.released().getFirst().value();
        assertThat(fourth.jobId()).isEqualTo("b_big-000000");
        assertThat(fourth.attempt()).isEqualTo(4);
        assertThat(fourth.attemptsInRound()).isEqualTo(1);
    }

    @Test
    void aWorkersRetryOfAJobTheDispatcherNeverReleasedIsReleasedFromItsCopy() {
        dispatcher = new DispatchHarness(stateDir, TenantWeights.EQUAL);
        RenderJobRequested handMade = DispatchHarness.job("b_direct", "acme", 0, 1).withAttempt(2);
        dispatcher.command(RetryRequested.afterFailure(handMade, dispatcher.now(), dispatcher.now()));
        dispatcher.tick();
        List<TestRecord<String, RenderJobRequested>> released = dispatcher.released();
        assertThat(released).extracting(r -> r.value().jobId() + "@" + r.value().attempt()).containsExactly("b_direct-000000@2");

        // Once released, the dispatcher holds it: a client's retry finds it.
        dispatcher.started(released);
        dispatcher.command(RetryRequested.fresh("b_direct", "acme", List.of("b_direct-000000"), dispatcher.now()));
        dispatcher.tick();
        assertThat(dispatcher.released()).extracting(r -> r.value().attempt()).containsExactly(3);
    }

    @Test
    void aWorkersRetryInACancelledBatchEndsCancelledInsteadOfStayingQueued() {
        dispatcher = new DispatchHarness(stateDir, TenantWeights.EQUAL);
        dispatcher.target.set(1);
        dispatcher.stage("b_gone", "acme", Priority.NORMAL, null, 3, 1);
        dispatcher.tick();
        RenderJobRequested running = dispatcher.released().getFirst().value();
        dispatcher.command(CancelRequested.batch("b_gone", "acme", dispatcher.now()));
        assertThat(dispatcher.statusEvents()).hasSize(2);

        dispatcher.command(RetryRequested.afterFailure(running.withAttempt(2), dispatcher.now(), dispatcher.now()));
        assertThat(dispatcher.statusEvents()).extracting(e -> e.value().jobId() + ":" + e.value().state().wireName())
                .containsExactly("b_gone-000000:cancelled");
        dispatcher.unstarted.started(running.jobId());
        dispatcher.advance(Duration.ofSeconds(1));
        assertThat(dispatcher.released()).isEmpty();
    }

    @Test
    void tenantsShareByTheWeightsOfTheTenantDirectoryAndAChangedWeightAppliesAtOnce() {
        TenantDirectory directory = TenantDirectories.open(1);
        TenantDirectories.setWeight(directory, "gold", 3);
        dispatcher = new DispatchHarness(stateDir, new DirectoryTenantWeights(directory));
        dispatcher.target.set(80);
        dispatcher.stage("b_gold", "gold", Priority.NORMAL, null, 300, 1);
        dispatcher.stage("b_std", "std", Priority.NORMAL, null, 300, 1);

        dispatcher.tick();
        List<TestRecord<String, RenderJobRequested>> first = dispatcher.released();
        assertThat(first).hasSize(80);
        assertThat(first.stream().filter(r -> r.value().tenant().equals("gold")).count())
                .as("weight 3 against the default 1: three images in four").isEqualTo(60);
        dispatcher.started(first);

        // The admin API raises std to 3 as well: the next releases split evenly, 30 images a visit each.
        TenantDirectories.setWeight(directory, "std", 3);
        dispatcher.target.set(120);
        dispatcher.tick();
        List<TestRecord<String, RenderJobRequested>> second = dispatcher.released();
        assertThat(second).hasSize(120);
        assertThat(second.stream().filter(r -> r.value().tenant().equals("gold")).count()).isEqualTo(60);
    }

    /** An organisation rate of 120 IPM, with a 2 s tick so that minutes pass in few ticks. */
    private static final DispatchTopology.Settings AT_120_IPM = new DispatchTopology.Settings(Duration.ofSeconds(2), 10, 500,
            Duration.ofDays(30), Duration.ofMinutes(10), 120);
    /** The same without an organisation rate. */
    private static final DispatchTopology.Settings WITHOUT_RATE = new DispatchTopology.Settings(Duration.ofSeconds(2), 10, 500,
            Duration.ofDays(30), Duration.ofMinutes(10), 0);

    /**
     * Lets {@code minutes} pass tick by tick, the workers starting each released job at once, so
     * that the window lets {@code target} jobs go a tick.
     */
    private static java.util.Map<String, Long> imagesPerTenantOverMinutes(DispatchHarness dispatcher, int minutes,
                                                                         List<java.util.Map<String, Long>> perMinute) {
        java.util.Map<String, Long> total = new java.util.TreeMap<>();
        for (int minute = 0; minute < minutes; minute++) {
            java.util.Map<String, Long> thisMinute = new java.util.TreeMap<>();
            for (int tick = 0; tick < 30; tick++) {
                dispatcher.advance(Duration.ofSeconds(2));
                List<TestRecord<String, RenderJobRequested>> released = dispatcher.released();
                dispatcher.started(released);
                released.forEach(r -> thisMinute.merge(r.value().tenant(), (long) r.value().parameters().n(), Long::sum));
            }
            perMinute.add(thisMinute);
            thisMinute.forEach((tenant, images) -> total.merge(tenant, images, Long::sum));
        }
        return total;
    }

    @Test
    void aTenantCappedAtAQuarterOf120IpmGetsAtMost30ImagesAMinuteAndTheOthersGoOn() {
        TenantDirectory directory = TenantDirectories.open(1);
        TenantDirectories.setIpmShareCap(directory, "capped", 0.25);
        dispatcher = new DispatchHarness(stateDir, new DirectoryTenantWeights(directory), AT_120_IPM);
        // The window (what the workers take per tick) stands in for the organisation's pace: 4 jobs per 2 s tick is 120 IPM.
        dispatcher.target.set(4);
        dispatcher.stage("b_capped", "capped", Priority.NORMAL, null, 200, 1);
        dispatcher.stage("b_free", "free", Priority.NORMAL, null, 270, 1);

        List<java.util.Map<String, Long>> perMinute = new ArrayList<>();
        java.util.Map<String, Long> total = imagesPerTenantOverMinutes(dispatcher, 3, perMinute);

        assertThat(perMinute).allSatisfy(minute -> assertThat(minute.getOrDefault("capped", 0L))
                .as("0.25 x 120 IPM in every minute").isBetween(25L, 30L));
        // Without the cap the two would split evenly (60 each a minute); the uncapped tenant takes what the capped one may not.
        assertThat(total.get("free")).as("the rest goes to the uncapped tenant").isEqualTo(3 * 120 - total.get("capped"));
        // Held back, not dropped: the capped tenant's jobs wait, and none ended.
        assertThat(dispatcher.gauge("kiln.dispatcher.pending.images", "tenant", "capped")).isEqualTo(200 - total.get("capped"));
        assertThat(dispatcher.statusEvents()).isEmpty();

        // With the uncapped tenant's work done, the capped one still gets only its 30 a minute.
        List<java.util.Map<String, Long>> later = new ArrayList<>();
        imagesPerTenantOverMinutes(dispatcher, 2, later);
        assertThat(later).allSatisfy(minute -> assertThat(minute).containsOnlyKeys("capped")
                .hasEntrySatisfying("capped", images -> assertThat(images).isBetween(25L, 30L)));
    }

    @Test
    void aCapOfOneChangesNothing() {
        TenantDirectory directory = TenantDirectories.open(1);
        TenantDirectories.setIpmShareCap(directory, "a", 1.0);
        dispatcher = new DispatchHarness(stateDir, new DirectoryTenantWeights(directory), AT_120_IPM);
        dispatcher.target.set(4);
        dispatcher.stage("b_a", "a", Priority.NORMAL, null, 200, 1);
        dispatcher.stage("b_b", "b", Priority.NORMAL, null, 200, 1);

        List<java.util.Map<String, Long>> perMinute = new ArrayList<>();
        java.util.Map<String, Long> total = imagesPerTenantOverMinutes(dispatcher, 1, perMinute);

        assertThat(total).as("an even split of 120 images, as without caps").containsEntry("a", 60L).containsEntry("b", 60L);
    }

    @Test
    void withoutAnOrganisationRateNoCapApplies() {
        TenantDirectory directory = TenantDirectories.open(1);
        TenantDirectories.setIpmShareCap(directory, "capped", 0.25);
        dispatcher = new DispatchHarness(stateDir, new DirectoryTenantWeights(directory), WITHOUT_RATE);
        dispatcher.target.set(4);
        dispatcher.stage("b_capped", "capped", Priority.NORMAL, null, 200, 1);

        java.util.Map<String, Long> total = imagesPerTenantOverMinutes(dispatcher, 1, new ArrayList<>());

        assertThat(total).containsEntry("capped", 120L);
    }
}
