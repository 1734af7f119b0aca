package dev.kiln.batch;

import dev.kiln.image.Dimensions;
import dev.kiln.job.ImageParameters;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.provider.PriceConfig;
import dev.kiln.provider.RateConfig;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The dry-run formula, checked against figures worked out by hand from OpenAI's published
 * output-token counts (1024x1024: 196 low, 1756 medium, 7024 high; 1536x1024 high: 10536) and
 * Kiln's default prices ($5 text input, $8 image input, $30 image output per million tokens).
 */
class BatchEstimatorTest {

    private static final PriceConfig PRICES = new PriceConfig() {
        @Override public double textInputPerMillion() { return 5; }
        @Override public double imageInputPerMillion() { return 8; }
        @Override public double imageOutputPerMillion() { return 30; }
        @Override public double cachedTextInputPerMillion() { return 1.25; }
        @Override public double cachedImageInputPerMillion() { return 2; }
    };

    @Test
    void costsAreRangedByAutoAndGroupedByQualityAndSize() {
        List<RenderJobRequested> jobs = List.of(
                job("abcd", "low", "1024x1024", 2),            // 1 text token, 2 x 196 output
                job("a mug", "high", "1536x1024", 1),          // 2 text tokens, 10536 output
                job("a vase", null, null, 1),                  // auto: 196 @1024² .. 10536 @1536x1024
                job("abcdefgh", "low", "1024x1024", 1));       // 2 text tokens, 196 output
        List<ResolvedReferences> refs = List.of(ResolvedReferences.NONE, ResolvedReferences.NONE,
                new ResolvedReferences(List.of(new ResolvedReference("default/uploads/upl_x", new Dimensions(1024, 1024)),
                        new ResolvedReference("https://images.example.com/a.png", null)), null),
                ResolvedReferences.NONE);

        BatchEstimate estimate = new BatchEstimator(PRICES, rates(0, 0)).estimate(jobs, refs);

        double lowGroup = (1 * 5 + 392 * 30) + (2 * 5 + 196 * 30);             // 17655 micro-dollars
        double high = 2 * 5 + 10536 * 30;                                       // 316090
        double autoInput = 2 * 5 + (1024 + 1024) * 8;                          // the URL counts as 1024x1024
        double autoMin = autoInput + 196 * 30;
        double autoMax = autoInput + 10536 * 30;
        assertThat(estimate.dryRun()).isTrue();
        assertThat(estimate.jobs()).isEqualTo(4);
        assertThat(estimate.images()).isEqualTo(5);
        assertThat(estimate.byQualityAndSize()).containsExactly(
                new BatchEstimate.Group("low", "1024x1024", 3, range(lowGroup, lowGroup)),
                new BatchEstimate.Group("high", "1536x1024", 1, range(high, high)),
                new BatchEstimate.Group("auto", "auto", 1, range(autoMin, autoMax)));
        assertThat(estimate.estimatedCostUsd()).isEqualTo(range(lowGroup + high + autoMin, lowGroup + high + autoMax));
        assertThat(estimate.estimatedDurationSeconds()).as("no limit configured").isNull();
    }

    @Test
    void durationIsImagesOverIpmOrJobsOverRpmWhicheverIsLonger() {
        List<RenderJobRequested> jobs = List.of(job("a", "low", "1024x1024", 10), job("b", "low", "1024x1024", 10),
                job("c", "low", "1024x1024", 5));
        List<ResolvedReferences> none = List.of(ResolvedReferences.NONE, ResolvedReferences.NONE, ResolvedReferences.NONE);

        assertThat(new BatchEstimator(PRICES, rates(10, 0)).estimate(jobs, none).estimatedDurationSeconds())
                .as("25 images at 10 a minute").isEqualTo(150);
        assertThat(new BatchEstimator(PRICES, rates(1000, 1)).estimate(jobs, none).estimatedDurationSeconds())
                .as("3 requests at 1 a minute").isEqualTo(180);
        assertThat(new BatchEstimator(PRICES, rates(7, 0)).estimate(jobs, none).estimatedDurationSeconds())
                .as("rounded up to whole seconds: 25/7 minutes").isEqualTo(215);
    }

    @Test
    void theEconomyLaneHalvesGenerationsNotEditsAndExpectedCacheHitsAndTheBudgetShow() {
        List<RenderJobRequested> jobs = List.of(
                job("abcd", "low", "1024x1024", 1),            // 1 text token, 196 output: 5 + 5880 = 5885
                job("abcd", "low", "1024x1024", 1),            // the same, served by the cache
                job("abcd", "low", "1024x1024", 1));           // an edit of a 1024x1024 upload: + 1024 x 8
        List<ResolvedReferences> refs = List.of(ResolvedReferences.NONE, ResolvedReferences.NONE,
                new ResolvedReferences(List.of(new ResolvedReference("default/uploads/upl_x", new Dimensions(1024, 1024))), null));
        BatchEstimator estimator = new BatchEstimator(PRICES, rates(0, 0));
        BatchEstimate base = estimator.estimate(jobs, refs);
        double generation = 5 + 196 * 30;
        double edit = generation + 1024 * 8;

        BatchEstimate economy = estimator.inLane(base, jobs, refs, true, 0.5, java.util.Optional.of(java.util.Set.of(1)),
                new BigDecimal("0.01"));
        assertThat(economy.lane()).isEqualTo("economy");
        assertThat(economy.estimatedCostUsd()).isEqualTo(range(2 * generation + edit, 2 * generation + edit));
        assertThat(economy.laneCostUsd()).as("edits take the standard lane").isEqualTo(range(generation + edit, generation + edit));
        assertThat(economy.expectedCacheHits()).isEqualTo(1);
        // 2942.5 + 14077 micro-dollars, rounded to millionths of a dollar.
        assertThat(economy.expectedCostUsd().max().doubleValue()).isCloseTo((generation / 2 + edit) / 1e6,
                org.assertj.core.data.Offset.offset(1e-6));
        assertThat(economy.expectedCostUsd().min()).isEqualTo(economy.expectedCostUsd().max());
        assertThat(economy.fitsBudget()).as("$0.017 > $0.01").isFalse();

        BatchEstimate standard = estimator.inLane(base, jobs, refs, false, 0.5, java.util.Optional.empty(), new BigDecimal("0.05"));
        assertThat(standard.lane()).isEqualTo("standard");
        assertThat(standard.laneCostUsd()).isEqualTo(base.estimatedCostUsd());
        assertThat(standard.expectedCacheHits()).as("not looked up").isNull();
        assertThat(standard.expectedCostUsd()).isEqualTo(base.estimatedCostUsd());
        assertThat(standard.fitsBudget()).isTrue();
        assertThat(estimator.inLane(base, jobs, refs, false, 0.5, java.util.Optional.empty(), null).fitsBudget()).isNull();
    }

    private static BatchEstimate.CostRange range(double minMicros, double maxMicros) {
        return new BatchEstimate.CostRange(micros(minMicros), micros(maxMicros));
    }

    private static BigDecimal micros(double micros) {
        return BigDecimal.valueOf((long) micros, 6);
    }

    private static RenderJobRequested job(String prompt, String quality, String size, int n) {
        return new RenderJobRequested("j", "b", "default", "i", 0, prompt,
                new ImageParameters("gpt-image-2", size, quality, null, null, null, null, n, null),
                List.of(), null, Map.of(), 1, Instant.EPOCH);
    }

    private static RateConfig rates(double ipm, double rpm) {
        return new RateConfig() {
            @Override public double ipm() { return ipm; }
            @Override public double rpm() { return rpm; }
            @Override public double tpm() { return 0; }
            @Override public Duration burst() { return Duration.ofSeconds(10); }
            @Override public Duration arrivalMargin() { return Duration.ZERO; }
            @Override public Duration shareRefresh() { return Duration.ZERO; }
            @Override public double minThrottle() { return 0.25; }
        };
    }
}
