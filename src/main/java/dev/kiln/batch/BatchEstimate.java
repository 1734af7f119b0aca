package dev.kiln.batch;

import java.math.BigDecimal;
import java.util.List;

/**
 * The answer to {@code POST /v1/batches?dry_run=true}: what the batch would render, cost and
 * take, without enqueueing anything. See {@link BatchEstimator} for the formula.
 *
 * @param dryRun                   always true, so a client cannot mistake it for an acceptance
 * @param jobs                     jobs (items) the batch would create
 * @param images                   images it would render (the sum of every item's {@code n})
 * @param estimatedCostUsd         the range of its cost in US dollars
 * @param byQualityAndSize         the same, per requested quality and size
 * @param estimatedDurationSeconds the shortest time the organisation's rate limits allow; absent when unlimited
 * @param ipm                      the configured images-per-minute limit (0 = none)
 * @param rpm                      the configured requests-per-minute limit (0 = none)
 * @param lane                     the batch's lane, {@code standard} or {@code economy}
 * @param laneCostUsd              the cost range in that lane: economy generations at the Batch API's price
 * @param expectedCacheHits        items the render cache would serve now; absent when not looked up
 *                                 ({@code cache: false}, or more items than a dry run looks up)
 * @param expectedCostUsd          the lane's cost range less the expected cache hits
 * @param budgetUsd                the batch's {@code budget_usd}, if given
 * @param fitsBudget               whether the expected cost's maximum is within the budget; absent without one
 */
public record BatchEstimate(boolean dryRun, int jobs, long images, CostRange estimatedCostUsd,
                            List<Group> byQualityAndSize, Long estimatedDurationSeconds, double ipm, double rpm,
                            String lane, CostRange laneCostUsd,
                            @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL) Integer expectedCacheHits,
                            CostRange expectedCostUsd,
                            @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL) BigDecimal budgetUsd,
                            @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL) Boolean fitsBudget) {

    /** An estimate of the standard lane with no cache look-up and no budget. */
    public BatchEstimate(boolean dryRun, int jobs, long images, CostRange estimatedCostUsd, List<Group> byQualityAndSize,
                         Long estimatedDurationSeconds, double ipm, double rpm) {
        this(dryRun, jobs, images, estimatedCostUsd, byQualityAndSize, estimatedDurationSeconds, ipm, rpm,
                "standard", estimatedCostUsd, null, estimatedCostUsd, null, null);
    }

    /**
     * A cost range in US dollars, rounded to millionths.
     *
     * @param min with the cheapest outcome of every {@code auto}
     * @param max with the dearest outcome of every {@code auto}
     */
    public record CostRange(BigDecimal min, BigDecimal max) {
    }

    /**
     * The jobs of one quality and size.
     *
     * @param quality {@code low}, {@code medium}, {@code high} or {@code auto}, as requested
     * @param size    {@code WxH} or {@code auto}, as requested
     * @param images  images of that quality and size
     * @param costUsd their cost range, input tokens included
     */
    public record Group(String quality, String size, long images, CostRange costUsd) {
    }
}
