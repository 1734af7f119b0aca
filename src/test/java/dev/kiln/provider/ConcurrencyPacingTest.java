package dev.kiln.provider;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The concurrency benchmark's rows played on simulated time ({@link PermitsSimulation}): 600 images
 * at 300 IPM with a 10 s burst, a latency of 12 s or 60 s ± 10 %, one worker or three, each
 * worker's target learned from its own calls from the low-quality seed of 20 s.
 */
class ConcurrencyPacingTest {

    @ParameterizedTest(name = "{0} workers, {1} ms")
    @CsvSource({"1, 1000", "3, 1000", "1, 12000", "3, 12000", "1, 60000"})
    void theWholeLimitAtEveryLatency(int workers, long latencyMs) {
        PermitsSimulation.Settings settings = PermitsSimulation.Settings.concurrencyBenchmark(workers, latencyMs);
        PermitsSimulation.Result result = PermitsSimulation.run(settings);
        System.out.printf("CONCURRENCY %d workers, %d ms: utilisation %.1f %% (makespan %.1f s, bound %.1f s), %d calls, %d 429s%n%s",
                workers, latencyMs, result.utilisation(settings) * 100, result.makespan(), settings.bound(), result.calls(),
                result.rateLimited(), result.everyFiveSeconds());

        assertThat(result.rateLimited()).as("429s").isLessThanOrEqualTo(result.calls() / 200);
        assertThat(result.utilisation(settings)).as("utilisation").isGreaterThanOrEqualTo(0.95);
    }
}
