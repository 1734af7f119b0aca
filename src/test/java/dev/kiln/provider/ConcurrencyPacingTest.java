package dev.kiln.provider;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The concurrency benchmark's rows played on simulated time ({@link PermitsSimulation}): 600 images
 * at 300 IPM with a 10 s burst, a latency of 12 s or 60 s ± 10 %, one worker or three, each
 * worker's target learned from its own calls from the low-quality seed of 20 s (the 1 s rows are
 * {@link BatchPacingTest}'s). Each case prints a line every 5 s: calls accepted, calls at the
 * provider, and per worker its target, slots, jobs fetched without a slot and share.
 */
class ConcurrencyPacingTest {

    @ParameterizedTest(name = "{0} workers, {1} ms")
    @CsvSource({"1, 12000", "3, 12000", "1, 60000", "3, 60000"})
    void theWholeLimitAtEveryLatency(int workers, long latencyMs) {
        PermitsSimulation.Settings settings = PermitsSimulation.Settings.concurrencyBenchmark(workers, latencyMs);
        PermitsSimulation.Result result = PermitsSimulation.run(settings);
        System.out.printf("CONCURRENCY %d workers, %d ms: utilisation %.1f %% (makespan %.1f s, bound %.1f s), %d calls, %d 429s%n%s",
                workers, latencyMs, result.utilisation(settings) * 100, result.makespan(), settings.bound(), result.calls(),
                result.rateLimited(), result.everyFiveSeconds());

        assertThat(result.rateLimited()).as("429s").isLessThanOrEqualTo(result.calls() / 200);
        assertThat(result.utilisation(settings)).as("utilisation").isGreaterThanOrEqualTo(0.95);
    }

    /**
     * A partition's backlog counts the calls in flight (uncommitted for a minute at 60 s), so the
     * shares follow the calls in flight more than the jobs still waiting for a permit. With jobs
     * placed by the hash of their id, one worker was left with more of the last jobs than the others
     * and rendered them at its third of the rate: 92.6 % here. The dispatcher now places them in
     * turn ({@code EvenJobPlacement}), so every worker runs out at the same time.
     */
    @org.junit.jupiter.api.Test
    void jobsPlacedInTurnLetThreeWorkersRunOutTogether() {
        PermitsSimulation.Settings even = PermitsSimulation.Settings.concurrencyBenchmark(3, 60_000);
        PermitsSimulation.Settings byHash = even.withJobsPlacedByHash();
        double evenUtilisation = PermitsSimulation.run(even).utilisation(even);
        double hashUtilisation = PermitsSimulation.run(byHash).utilisation(byHash);
        System.out.printf("CONCURRENCY 3 workers, 60 s: placed in turn %.1f %%, by hash %.1f %%%n", evenUtilisation * 100,
                hashUtilisation * 100);

        assertThat(hashUtilisation).as("placed by hash").isLessThan(0.95);
        assertThat(evenUtilisation).as("placed in turn").isGreaterThanOrEqualTo(0.95);
    }

    /**
     * A fresh worker's first calls reached the simulator together, 1 to 3 s after their permits
     * (the benchmark's rows with three fresh workers: the burst granted by 6 s, nothing at the
     * simulator before 7 s). The provider's bucket stayed full meanwhile and refilled nothing,
     * while the permits refilled from the grant: 11 calls in 600 came back 429 (1.8 %). The permits
     * now hold their refill after a grant from a full bucket until a call goes out. Before that,
     * these runs met 4 to 11 429s; now none, and the cold start costs only its own seconds.
     */
    @ParameterizedTest(name = "{0} workers, {1} ms")
    @CsvSource({"1, 12000", "1, 60000", "3, 12000", "3, 60000"})
    void aColdWorkersLateFirstCallsMeetNo429(int workers, long latencyMs) {
        PermitsSimulation.Settings settings = PermitsSimulation.Settings.concurrencyBenchmark(workers, latencyMs)
                .withColdStart(java.time.Duration.ofSeconds(3));
        PermitsSimulation.Result result = PermitsSimulation.run(settings);
        System.out.printf("CONCURRENCY cold, %d workers, %d ms: utilisation %.1f %% (makespan %.1f s, bound %.1f s), %d calls, %d 429s%n%s",
                workers, latencyMs, result.utilisation(settings) * 100, result.makespan(), settings.bound(), result.calls(),
                result.rateLimited(), result.everyFiveSeconds());

        assertThat(result.rateLimited()).as("429s").isZero();
        // The 3 s the first calls took to go out are lost, nothing more: 3 s of a 125 s or 175 s run.
        assertThat(result.makespan()).as("makespan, s").isLessThan(settings.bound() + 3 + 5);
    }
}
