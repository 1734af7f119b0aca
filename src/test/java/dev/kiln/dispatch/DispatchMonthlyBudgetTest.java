package dev.kiln.dispatch;

import dev.kiln.job.JobState;
import dev.kiln.job.JobStatusChanged;
import dev.kiln.job.JobsStaged;
import dev.kiln.job.Priority;
import dev.kiln.job.RenderJobRequested;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * A tenant's {@code monthly_budget_usd} on the dispatcher's real topology: every release of the
 * tenant's reserves its batch's job estimate of the month before it goes, the jobs' final events
 * settle it, and once no job can fit what is left of the month the tenant's pending jobs (but its
 * likely cache hits) end {@code cancelled} / {@code budget_exceeded}; so does a batch staged
 * afterwards. A new month (UTC) starts from zero. Another tenant is not affected.
 */
class DispatchMonthlyBudgetTest {

    /** The upper estimate of one low-quality 1024x1024 job. */
    private static final double JOB = 0.005915;

    @TempDir
    Path stateDir;

    private final Map<String, Double> budgets = new ConcurrentHashMap<>();
    private final TenantWeights weights = new TenantWeights() {
        @Override
        public double weight(String tenant) {
            return 1;
        }

        @Override
        public Double monthlyBudgetUsd(String tenant) {
            return budgets.get(tenant);
        }
    };
    private DispatchHarness dispatcher;

    @AfterEach
    void close() {
        if (dispatcher != null) {
            dispatcher.close();
        }
    }

    /** A batch of {@code count} one-image jobs whose dearest job intake estimated at {@link #JOB}, with no budget_usd. */
    private JobsStaged batch(String batchId, String tenant, int count) {
        return dispatcher.stage(new JobsStaged(batchId, tenant, Priority.NORMAL, null,
                IntStream.range(0, count).mapToObj(i -> DispatchHarness.job(batchId, tenant, i, batchId + " item " + i)).toList(),
                null, JOB));
    }



    private MonthLedger month(String tenant) {
        KeyValueStore<String, MonthLedger> store = dispatcher.driver.getKeyValueStore(DispatchTopology.TENANT_MONTHS_STORE);
        return store.get(tenant);
    }

    @Test
    void aMonthlyBudgetOfFourAndAHalfJobsReleasesFourStopsTheRestOnceSpentAndRefusesALaterBatch() {
        dispatcher = new DispatchHarness(stateDir, weights);
        budgets.put("frugal", 4.5 * JOB);
        batch("b_month", "frugal", 12);
        batch("b_other", "lavish", 6);
        dispatcher.tick();
        List<RenderJobRequested> released = DispatchHarness.jobs(dispatcher.released());
        assertThat(released).filteredOn(j -> j.tenant().equals("frugal")).as("four reservations fit 4.5 jobs")
                .extracting(RenderJobRequested::index).containsExactly(0, 1, 2, 3);
        assertThat(released).as("a tenant without a monthly budget is not held").filteredOn(j -> j.tenant().equals("lavish"))
                .hasSize(6);

        List<RenderJobRequested> frugal = released.stream().filter(j -> j.tenant().equals("frugal")).toList();
        for (int i = 0; i < 3; i++) {
            dispatcher.ended(frugal.get(i), JobState.SUCCEEDED, JOB);
        }
        dispatcher.ended(frugal.get(2), JobState.SUCCEEDED, JOB);
        dispatcher.tick();
        assertThat(dispatcher.released()).as("3 spent + 1 reserved: a fifth would pass 4.5").isEmpty();
        assertThat(dispatcher.budgetStops()).as("a repeated event counted once: 3 spent, a fourth can still fit")
                .isEmpty();

        dispatcher.ended(frugal.get(3), JobState.SUCCEEDED, JOB);
        assertThat(dispatcher.budgetStops()).as("4 spent: no job can ever fit this month")
                .extracting(JobStatusChanged::index).containsExactlyInAnyOrderElementsOf(IntStream.range(4, 12).boxed().toList());
        assertThat(month("frugal").spent()).isCloseTo(4 * JOB, within(1e-9));
        assertThat(month("frugal").images()).isEqualTo(4);
        // The api reads these names back from the store's changelog (budget.MonthSpendReader).
        assertThat(dev.kiln.messaging.KilnJson.MAPPER.valueToTree(month("frugal")).fieldNames())
                .toIterable().contains("month", "spent", "images");
        assertThat(DispatchTopology.TENANT_MONTHS_STORE).isEqualTo("dispatch-tenant-months");

        batch("b_later", "frugal", 3);
        assertThat(dispatcher.budgetStops()).as("a batch staged once the month is spent ends at once")
                .hasSize(3).allMatch(e -> e.batchId().equals("b_later"));
        dispatcher.advance(Duration.ofSeconds(1));
        assertThat(dispatcher.released()).isEmpty();

        // An admin raises the budget: the next batch goes again.
        budgets.put("frugal", 10 * JOB);
        batch("b_raised", "frugal", 2);
        dispatcher.tick();
        assertThat(DispatchHarness.jobs(dispatcher.released())).hasSize(2);
    }

    @Test
    void likelyCacheHitsStillGoWhenTheMonthIsSpent() {
        dispatcher = new DispatchHarness(stateDir, weights);
        budgets.put("frugal", 1.5 * JOB);
        batch("b_first", "frugal", 1);
        dispatcher.tick();
        RenderJobRequested first = DispatchHarness.jobs(dispatcher.released()).getFirst();
        dispatcher.rendered(first, JOB);
        assertThat(dispatcher.budgetStops()).isEmpty();

        // The same item again (a hit) and a new one: 1 spent + 1 passes 1.5.
        dispatcher.stage(new JobsStaged("b_again", "frugal", Priority.NORMAL, null, List.of(
                DispatchHarness.job("b_again", "frugal", 0, "b_first item 0"),
                DispatchHarness.job("b_again", "frugal", 1, "something new")), null, JOB));
        assertThat(dispatcher.budgetStops()).extracting(JobStatusChanged::index).containsExactly(1);
        dispatcher.tick();
        assertThat(DispatchHarness.jobs(dispatcher.released())).singleElement().matches(RenderJobRequested::releasedAsCacheHit);
    }

    @Test
    void aNewMonthStartsFromZero() {
        Instant lastSeconds = Instant.parse("2026-11-30T23:59:50Z");
        dispatcher = new DispatchHarness(stateDir, weights, Stores::persistentKeyValueStore, lastSeconds);
        budgets.put("frugal", 1.5 * JOB);
        batch("b_november", "frugal", 3);
        dispatcher.tick();
        List<RenderJobRequested> released = DispatchHarness.jobs(dispatcher.released());
        assertThat(released).hasSize(1);
        dispatcher.ended(released.getFirst(), JobState.SUCCEEDED, JOB);
        assertThat(dispatcher.budgetStops()).hasSize(2);

        dispatcher.advance(Duration.ofSeconds(20));
        batch("b_december", "frugal", 3);
        dispatcher.tick();
        assertThat(DispatchHarness.jobs(dispatcher.released())).as("December's first job fits").hasSize(1);
        assertThat(dispatcher.budgetStops()).isEmpty();
        assertThat(month("frugal").month()).isEqualTo("2026-12");
    }
}
