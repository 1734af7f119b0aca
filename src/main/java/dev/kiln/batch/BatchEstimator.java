package dev.kiln.batch;

import dev.kiln.image.Dimensions;
import dev.kiln.image.ImageTokens;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.provider.PriceConfig;
import dev.kiln.provider.RateConfig;
import jakarta.enterprise.context.ApplicationScoped;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Estimates what a batch will cost and how long it will take, for a dry run.
 *
 * <p>Cost of one job, in US dollars, with the prices of {@link PriceConfig} (per million tokens)
 * and the token counts of {@link ImageTokens}:
 * <pre>
 *   ( textTokens(prompt)                     * textInputPerMillion
 *   + sum over references of imageTokens(WxH) * imageInputPerMillion
 *   + n * outputTokens(quality, size)         * imageOutputPerMillion ) / 1,000,000
 * </pre>
 * where {@code outputTokens} is {@code ceil(k * W * H / 1024²)} with k = 272 (low), 1056 (medium)
 * or 4160 (high). The range comes from {@code auto}: {@code quality: auto} (also when unset, the
 * provider's default) costs as low at the minimum and as high at the maximum; {@code size: auto}
 * (or unset) as 1024x1024 at the minimum and 1536x1024 at the maximum. A reference whose size
 * Kiln does not know (a URL) counts as 1024x1024; a mask costs nothing.
 *
 * <p>Duration, in seconds: {@code ceil(max(images * 60 / ipm, jobs * 60 / rpm))} over the
 * organisation's limits of {@link RateConfig} that are set. It is the floor the limits impose;
 * render latency and retries come on top, the allowance already saved up (burst) comes off.
 */
@ApplicationScoped
public class BatchEstimator {

    private static final Dimensions AUTO_MIN = new Dimensions(1024, 1024);
    private static final Dimensions AUTO_MAX = new Dimensions(1536, 1024);
    private static final List<String> QUALITY_ORDER = List.of("low", "medium", "high", "auto");

    private final PriceConfig prices;
    private final RateConfig rates;

    public BatchEstimator(PriceConfig prices, RateConfig rates) {
        this.prices = prices;
        this.rates = rates;
    }

    /** Estimates the planned {@code jobs}; {@code references} holds each job's resolved references, in job order. */
    public BatchEstimate estimate(List<RenderJobRequested> jobs, List<ResolvedReferences> references) {
        return running(jobs, references, false, 1.0).base();
    }

    /**
     * {@code base} with the batch's lane, expected cache hits and budget: the lane's cost range
     * (economy generations at {@code economyFactor} of the price; edits take the standard lane),
     * the same less the jobs in {@code hits}, and whether its maximum fits {@code budget}.
     */
    public BatchEstimate inLane(BatchEstimate base, List<RenderJobRequested> jobs, List<ResolvedReferences> references,
                                boolean economy, double economyFactor, java.util.Optional<java.util.Set<Integer>> hits,
                                BigDecimal budget) {
        return running(jobs, references, economy, economyFactor).inLane(base, hits, budget);
    }

    /**
     * The upper cost estimate of the dearest of {@code jobs}, in US dollars: what the budget guard
     * reserves for each job that starts, so that a job never costs more than it reserved.
     */
    public double dearestJob(List<RenderJobRequested> jobs, List<ResolvedReferences> references) {
        return running(jobs, references, false, 1.0).dearestJobUsd();
    }

    private Running running(List<RenderJobRequested> jobs, List<ResolvedReferences> references,
                            boolean economy, double economyFactor) {
        Running running = new Running(economy, economyFactor);
        for (int i = 0; i < jobs.size(); i++) {
            running.add(jobs.get(i), references.get(i));
        }
        return running;
    }

    /** A new estimate, added up job by job, so that a catalogue is estimated without holding its jobs. */
    public Running running(boolean economy, double economyFactor) {
        return new Running(economy, economyFactor);
    }

    /**
     * An estimate added up one job at a time, in job order. It keeps each job's cost only for the
     * first {@link ExpectedCacheHits#MAX_LOOKUPS} jobs, the most whose cache hits are looked up.
     */
    public final class Running {
        private final boolean economy;
        private final double economyFactor;
        private final Map<String, Tally> groups = new LinkedHashMap<>();
        private final Tally total = new Tally("", "");
        private final List<double[]> laneCosts = new java.util.ArrayList<>();
        private int jobs;
        private long images;
        private double laneMin;
        private double laneMax;
        private double dearest;

        private Running(boolean economy, double economyFactor) {
            this.economy = economy;
            this.economyFactor = economyFactor;
        }

        /** Adds the next job, with its resolved references. */
        public void add(RenderJobRequested job, ResolvedReferences references) {
            String quality = orAuto(job.parameters().quality());
            String size = orAuto(job.parameters().size());
            int n = job.imageCount();
            double input = ImageTokens.textInput(job.prompt()) * prices.textInputPerMillion()
                    + imageInputTokens(references) * prices.imageInputPerMillion();
            double min = input + n * outputTokens(quality, size, false) * prices.imageOutputPerMillion();
            double max = input + n * outputTokens(quality, size, true) * prices.imageOutputPerMillion();
            groups.computeIfAbsent(quality + " " + size, k -> new Tally(quality, size)).add(n, min, max);
            total.add(n, min, max);
            images += n;
            jobs++;
            dearest = Math.max(dearest, max);
            double factor = economy && references.images().isEmpty() ? economyFactor : 1.0;
            laneMin += min * factor;
            laneMax += max * factor;
            if (laneCosts.size() < ExpectedCacheHits.MAX_LOOKUPS) {
                laneCosts.add(new double[] {min * factor, max * factor});
            }
        }

        /** The estimate of the standard lane, without cache hits or budget. */
        public BatchEstimate base() {
            List<BatchEstimate.Group> byGroup = groups.values().stream()
                    .sorted(Comparator.comparingInt((Tally t) -> QUALITY_ORDER.indexOf(t.quality)).thenComparing(t -> t.size))
                    .map(t -> new BatchEstimate.Group(t.quality, t.size, t.images, t.range()))
                    .toList();
            return new BatchEstimate(true, jobs, images, total.range(), byGroup, duration(jobs, images),
                    rates.ipm(), rates.rpm());
        }

        /** The whole estimate: the lane, the jobs in {@code hits} taken off, and whether it fits {@code budget}. */
        public BatchEstimate inLane(java.util.Optional<java.util.Set<Integer>> hits, BigDecimal budget) {
            return inLane(base(), hits, budget);
        }

        private BatchEstimate inLane(BatchEstimate base, java.util.Optional<java.util.Set<Integer>> hits, BigDecimal budget) {
            double expectedMin = laneMin;
            double expectedMax = laneMax;
            if (hits.isPresent() && jobs <= laneCosts.size()) {
                // Summed again in job order, as the lane's own sums are, so equal inputs give equal cents.
                expectedMin = 0;
                expectedMax = 0;
                for (int i = 0; i < laneCosts.size(); i++) {
                    if (!hits.get().contains(i)) {
                        expectedMin += laneCosts.get(i)[0];
                        expectedMax += laneCosts.get(i)[1];
                    }
                }
            }
            BatchEstimate.CostRange expected = new BatchEstimate.CostRange(Tally.dollars(expectedMin), Tally.dollars(expectedMax));
            return new BatchEstimate(base.dryRun(), base.jobs(), base.images(), base.estimatedCostUsd(), base.byQualityAndSize(),
                    base.estimatedDurationSeconds(), base.ipm(), base.rpm(), economy ? "economy" : "standard",
                    new BatchEstimate.CostRange(Tally.dollars(laneMin), Tally.dollars(laneMax)),
                    hits.map(java.util.Set::size).orElse(null), expected, budget,
                    budget == null ? null : expected.max().compareTo(budget) <= 0);
        }

        /** The upper cost estimate of the dearest job added, in US dollars (see {@link #dearestJob}). */
        public double dearestJobUsd() {
            return dearest / 1_000_000;
        }
    }

    private static long imageInputTokens(ResolvedReferences references) {
        return references.images().stream()
                .mapToLong(r -> ImageTokens.imageInput(r.dimensions() == null ? AUTO_MIN : r.dimensions()))
                .sum();
    }

    private static long outputTokens(String quality, String size, boolean dearest) {
        String q = quality.equals("auto") ? (dearest ? "high" : "low") : quality;
        Dimensions d = size.equals("auto") ? (dearest ? AUTO_MAX : AUTO_MIN) : Dimensions.resolve(size);
        return ImageTokens.outputPerImage(q, d);
    }

    private Long duration(int jobs, long images) {
        double minutes = 0;
        if (rates.ipm() > 0) {
            minutes = Math.max(minutes, images / rates.ipm());
        }
        if (rates.rpm() > 0) {
            minutes = Math.max(minutes, jobs / rates.rpm());
        }
        return rates.ipm() > 0 || rates.rpm() > 0 ? (long) Math.ceil(minutes * 60) : null;
    }

    private static String orAuto(String value) {
        return value == null ? "auto" : value;
    }

    /** Sums of one group, in token-dollars (dollars times a million) until rounded. */
    private static final class Tally {
        private final String quality;
        private final String size;
        private long images;
        private double min;
        private double max;

        Tally(String quality, String size) {
            this.quality = quality;
            this.size = size;
        }

        void add(int n, double minCost, double maxCost) {
            images += n;
            min += minCost;
            max += maxCost;
        }

        BatchEstimate.CostRange range() {
            return new BatchEstimate.CostRange(dollars(min), dollars(max));
        }

        static BigDecimal dollars(double perMillion) {
            return BigDecimal.valueOf(perMillion).divide(BigDecimal.valueOf(1_000_000), 6, RoundingMode.HALF_UP);
        }
    }
}
