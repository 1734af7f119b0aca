package dev.kiln.dispatch;

import dev.kiln.job.JobState;
import dev.kiln.job.JobStatusChanged;
import dev.kiln.job.Priority;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.job.RetryRequested;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Budgets on the dispatcher's real topology: a job is released only when its batch's spend, the
 * reservations of its released jobs and its own estimate fit the budget, and the jobs' final
 * events on {@code kiln.status} settle the reservations.
 */
class DispatchBudgetTest {

    /** The upper estimate of one low-quality 1024x1024 job (what intake gives for the simulator's jobs). */
    private static final double JOB = 0.005915;

    @TempDir
    Path stateDir;

    private DispatchHarness dispatcher;

    @AfterEach
    void close() {
        if (dispatcher != null) {
            dispatcher.close();
        }
    }



    @Test
    void aBudgetOfTenAndAHalfJobsReleasesTenHoldsTheRestUntilTheySettleAndThenStopsAtTheEleventh() {
        dispatcher = new DispatchHarness(stateDir, TenantWeights.EQUAL);
        dispatcher.stageWithBudget("b_budget", "acme", 30, 10.5 * JOB, JOB);
        dispatcher.stage("b_free", "acme", Priority.NORMAL, null, 4, 1);

        dispatcher.tick();
        List<RenderJobRequested> released = DispatchHarness.jobs(dispatcher.released());
        List<RenderJobRequested> budgeted = released.stream().filter(j -> j.batchId().equals("b_budget")).toList();
        assertThat(budgeted).as("ten reservations fit 10.5 jobs; the eleventh would pass").hasSize(10)
                .extracting(RenderJobRequested::index).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
        assertThat(released).as("the held batch does not hold up its tenant's other batch")
                .filteredOn(j -> j.batchId().equals("b_free")).hasSize(4);

        for (int i = 0; i < 9; i++) {
            dispatcher.ended(budgeted.get(i), JobState.SUCCEEDED, JOB);
        }
        dispatcher.advance(Duration.ofSeconds(1));
        assertThat(dispatcher.released()).as("settled at their estimates: still no room").isEmpty();
        assertThat(dispatcher.budgetStops()).as("spent 9 jobs: a tenth could still fit once the last settles cheaper").isEmpty();

        dispatcher.ended(budgeted.get(9), JobState.SUCCEEDED, JOB);
        List<JobStatusChanged> stopped = dispatcher.budgetStops();
        assertThat(stopped).as("spent 10 jobs: no further job can ever fit").hasSize(20)
                .extracting(JobStatusChanged::index).containsExactlyInAnyOrderElementsOf(
                        java.util.stream.IntStream.range(10, 30).boxed().toList());
        dispatcher.advance(Duration.ofSeconds(2));
        assertThat(dispatcher.released()).isEmpty();
        assertThat(dispatcher.gauge("kiln.dispatcher.backlog.jobs")).isZero();
    }

    @Test
    void rendersFromTheCacheSettleAtZeroSoTheWholeBatchGoesThroughASmallBudget() {
        dispatcher = new DispatchHarness(stateDir, TenantWeights.EQUAL);
        dispatcher.stageWithBudget("b_cached", "acme", 10, 2.5 * JOB, JOB);
        int released = 0;
        for (int round = 0; round < 10 && released < 10; round++) {
            dispatcher.tick();
            List<RenderJobRequested> now = DispatchHarness.jobs(dispatcher.released());
            assertThat(now.size()).as("never more than two reservations at once").isLessThanOrEqualTo(2);
            released += now.size();
            now.forEach(job -> dispatcher.ended(job, JobState.SUCCEEDED, 0));
        }
        assertThat(released).isEqualTo(10);
        assertThat(dispatcher.budgetStops()).isEmpty();
    }

    @Test
    void aBudgetBelowOneJobReleasesNothingAndStopsEveryItem() {
        dispatcher = new DispatchHarness(stateDir, TenantWeights.EQUAL);
        dispatcher.stageWithBudget("b_tiny", "acme", 5, 0.5 * JOB, JOB);
        dispatcher.tick();
        assertThat(dispatcher.released()).isEmpty();
        assertThat(dispatcher.budgetStops()).hasSize(5);
    }

    @Test
    void aFailedOrRetriedAttemptGivesItsReservationBackAndARepeatedEventIsCountedOnce() {
        dispatcher = new DispatchHarness(stateDir, TenantWeights.EQUAL);
        dispatcher.stageWithBudget("b_retry", "acme", 4, 1.5 * JOB, JOB);
        dispatcher.tick();
        List<RenderJobRequested> first = DispatchHarness.jobs(dispatcher.released());
        assertThat(first).hasSize(1);

        // The worker's attempt 1 failed and will be retried: the reservation goes back, attempt 2 reserves anew.
        dispatcher.command(RetryRequested.afterFailure(first.getFirst().withAttempt(2), null, dispatcher.now()));
        dispatcher.tick();
        List<RenderJobRequested> retried = DispatchHarness.jobs(dispatcher.released());
        assertThat(retried).extracting(j -> j.index() + "@" + j.attempt()).containsExactly("0@2");

        dispatcher.ended(retried.getFirst(), JobState.FAILED, 0);
        dispatcher.tick();
        List<RenderJobRequested> next = DispatchHarness.jobs(dispatcher.released());
        assertThat(next).as("a failure costs nothing: the next job goes").extracting(RenderJobRequested::index).containsExactly(1);

        dispatcher.ended(next.getFirst(), JobState.SUCCEEDED, 0.4 * JOB);
        dispatcher.ended(next.getFirst(), JobState.SUCCEEDED, 0.4 * JOB);
        dispatcher.tick();
        assertThat(DispatchHarness.jobs(dispatcher.released())).as("spent 0.4 of 1.5 jobs, counted once: one more fits")
                .extracting(RenderJobRequested::index).containsExactly(2);
        assertThat(dispatcher.budgetStops()).as("0.4 spent + 1 job reserved: the last item waits for the settlement").isEmpty();
    }
}
