package dev.kiln.simulator;

/**
 * A token bucket refilled continuously at {@code perMinute / 60} tokens a second up to a capacity
 * of {@code perMinute * burstSeconds / 60} (at least one). A limit of 0 is unlimited. Not
 * thread-safe: {@link OrganisationRateLimiter} guards its buckets together, since a request takes
 * from both at once or from neither.
 */
final class TokenBucket {

    private final long perMinute;
    private final double capacity;
    private final double tokensPerNano;
    private double tokens;
    private long updatedNanos;

    TokenBucket(long perMinute, double burstSeconds, long nowNanos) {
        this.perMinute = perMinute;
        this.capacity = Math.max(1.0, perMinute * burstSeconds / 60.0);
        this.tokensPerNano = perMinute / 60e9;
        this.tokens = capacity;
        this.updatedNanos = nowNanos;
    }

    boolean unlimited() {
        return perMinute <= 0;
    }

    long perMinute() {
        return perMinute;
    }

    /**
     * Nanoseconds until {@code cost} tokens can be taken, 0 if they can now. A cost above the
     * capacity would never fit, so it only waits for a full bucket and then overdraws it: the average
     * rate still holds.
     */
    long nanosUntilAvailable(long cost, long nowNanos) {
        if (unlimited()) {
            return 0;
        }
        refill(nowNanos);
        double needed = Math.min(cost, capacity);
        if (tokens >= needed) {
            return 0;
        }
        return (long) Math.ceil((needed - tokens) / tokensPerNano);
    }

    void take(long cost) {
        if (!unlimited()) {
            tokens -= cost;
        }
    }

    long remaining(long nowNanos) {
        refill(nowNanos);
        return (long) Math.floor(Math.max(0, tokens));
    }

    /** What has been taken and not refilled yet: the capacity less what remains, at least 0. */
    long used(long nowNanos) {
        refill(nowNanos);
        return (long) Math.ceil(capacity - Math.max(0, tokens));
    }

    /** Nanoseconds until the bucket is full again. */
    long nanosUntilFull(long nowNanos) {
        refill(nowNanos);
        return (long) Math.ceil((capacity - tokens) / tokensPerNano);
    }

    private void refill(long nowNanos) {
        long elapsed = nowNanos - updatedNanos;
        if (elapsed > 0) {
            tokens = Math.min(capacity, tokens + elapsed * tokensPerNano);
            updatedNanos = nowNanos;
        }
    }
}
