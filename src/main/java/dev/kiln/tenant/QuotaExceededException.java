package dev.kiln.tenant;

import java.math.BigDecimal;
import java.time.Duration;

/**
 * A request would take the tenant over one of its quotas for now; the same request may pass
 * later (429 with {@code Retry-After}). A request that can never pass is a 400 instead.
 */
public class QuotaExceededException extends RuntimeException {

    private final String quota;
    private final long limit;
    private final String shownLimit;
    private final transient Duration retryAfter;

    /**
     * @param quota      the quota's wire name, such as {@code max_pending_images}
     * @param limit      its value for this tenant
     * @param message    what would go over it, and what to do
     * @param retryAfter how long to wait before trying again
     */
    public QuotaExceededException(String quota, long limit, String message, Duration retryAfter) {
        this(quota, limit, Long.toString(limit), message, retryAfter);
    }

    /**
     * @param quota      the quota's wire name, such as {@code monthly_budget_usd}
     * @param limit      its value for this tenant, an amount
     * @param message    what would go over it, and what to do
     * @param retryAfter how long to wait before trying again
     */
    public QuotaExceededException(String quota, BigDecimal limit, String message, Duration retryAfter) {
        this(quota, limit.longValue(), limit.toPlainString(), message, retryAfter);
    }

    private QuotaExceededException(String quota, long limit, String shownLimit, String message, Duration retryAfter) {
        super(message);
        this.quota = quota;
        this.limit = limit;
        this.shownLimit = shownLimit;
        this.retryAfter = retryAfter;
    }

    public String quota() {
        return quota;
    }

    public long limit() {
        return limit;
    }

    /** The limit as a client reads it: a count, or an amount such as {@code 0.05}. */
    public String shownLimit() {
        return shownLimit;
    }

    public Duration retryAfter() {
        return retryAfter;
    }
}
