package dev.kiln.provider;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Where a batch's time goes, played on simulated time ({@link PermitsSimulation}) with the
 * dispatch benchmark's figures: 600 images at 300 IPM, a 10 s burst, 3 ± 1 s or 1 ± 0.33 s a call.
 * No wall clock is involved, so the bounds hold on any machine and any load; each case prints its
 * timeline of calls per second, the diagnosis to read when it fails.
 */
class BatchPacingTest {

    private static final int RATE_PLUS_BURST_IN_10_S = 300 / 6 + 50;

    /**
     * After a quiet spell the provider and the workers both hold the burst: it is spent at the
     * start (more than the rate alone allows in the first 10 s), the permits never let through more
     * than the rate plus the burst in any 10 s, there are no 429 storms, and the batch ends within
     * 2 % of the benchmarks' bound {@code (N − burst) / IPM + latency}.
     */
    @ParameterizedTest(name = "{0} workers, {1} ms, seed {2}")
    @CsvSource({"1, 1000, 1", "1, 3000, 1", "3, 1000, 1", "3, 3000, 1", "3, 3000, 2"})
    void afterAQuietSpellABatchSpendsTheBurstAndKeepsTheWholeLimitInUse(int workers, long latencyMs, long seed) {
        PermitsSimulation.Settings settings = PermitsSimulation.Settings.dispatchBenchmark().withWorkers(workers)
                .withLatency(latencyMs, latencyMs / 3).withSeed(seed);
        PermitsSimulation.Result result = PermitsSimulation.run(settings);
        System.out.printf("PACING quiet spell, %d workers, %d ms: utilisation %.1f %% (makespan %.1f s, bound %.1f s), "
                        + "%d calls, %d 429s, busiest 10 s %d; %s%n", workers, latencyMs, result.utilisation(settings) * 100,
                result.makespan(), settings.bound(), result.calls(), result.rateLimited(), result.busiestTenSeconds(),
                result.timeline(12));

        assertThat(result.startedWithin(10)).as("calls accepted in the first 10 s (the rate alone: 50)").isGreaterThanOrEqualTo(80);
        assertThat(result.busiestTenSeconds()).as("images permitted in the busiest 10 s").isLessThanOrEqualTo(RATE_PLUS_BURST_IN_10_S);
        assertThat(result.rateLimited()).as("429s").isLessThanOrEqualTo(result.calls() / 200);
        assertThat(result.utilisation(settings)).as("utilisation").isGreaterThanOrEqualTo(0.98);
    }

    /**
     * A batch submitted the moment another ended starts with the workers' buckets spent, even when
     * the provider's is full (the simulator refills it when reconfigured or reset): the permits
     * then hold to the rate, never more than the rate plus the burst in any 10 s, and the batch
     * takes about a burst longer than the bound, which assumes the burst is there to spend. This
     * was the dispatch benchmark's 92 % (makespan 122.8 s against 113.0 s): its throughput runs
     * came right after the previous run; they now wait a quiet spell of the burst first.
     */
    @ParameterizedTest(name = "{0} workers")
    @CsvSource({"1", "3"})
    void aBatchRightAfterAnotherHasNoBurstToSpend(int workers) {
        PermitsSimulation.Settings settings = PermitsSimulation.Settings.dispatchBenchmark().withWorkers(workers)
                .withKilnBurstSpent(true);
        PermitsSimulation.Result result = PermitsSimulation.run(settings);
        System.out.printf("PACING burst spent, %d workers: utilisation %.1f %% (makespan %.1f s, bound %.1f s), %d 429s; %s%n",
                workers, result.utilisation(settings) * 100, result.makespan(), settings.bound(), result.rateLimited(),
                result.timeline(12));

        assertThat(result.startedWithin(10)).as("calls accepted in the first 10 s: the rate's 50 and no burst").isBetween(45, 55);
        assertThat(result.busiestTenSeconds()).isLessThanOrEqualTo(RATE_PLUS_BURST_IN_10_S);
        assertThat(result.rateLimited()).isZero();
        assertThat(result.makespan()).as("the bound plus about the burst's 10 s").isBetween(settings.bound() + 7, settings.bound() + 13);
    }
}
