package dev.kiln.provider;

import java.util.function.LongSupplier;

/**
 * A token bucket refilled continuously. A take larger than the whole capacity is allowed once
 * the bucket is full and leaves it in debt, so a request for 10 images still passes under a
 * small rate, and the debt is paid back before anything else passes. A take also needs a margin
 * of {@code marginSeconds} of the rate in hand beyond its amount (see {@code RateConfig#arrivalMargin}),
 * so that a call reaching the provider a little later than planned is not a few tokens short there.
 */
final class TokenBucket {

    private final LongSupplier clock;
    private final double marginSeconds;
    private double ratePerSecond;
    private double capacity;
    private double tokens;
    private long lastRefillNanos;
    /** Taken for calls that have not gone out yet: see {@link #onTheirWay(double)}. */
    private double inTransit;

    /** A full bucket on {@code clock} (nanoseconds, such as {@code System::nanoTime}) that takes without a margin. */
    TokenBucket(double ratePerSecond, double capacity, LongSupplier clock) {
        this(ratePerSecond, capacity, 0, clock);
    }

    /** A full bucket on {@code clock} that keeps {@code marginSeconds} of its rate in hand beyond each take. */
    TokenBucket(double ratePerSecond, double capacity, double marginSeconds, LongSupplier clock) {
        this.clock = clock;
        this.marginSeconds = marginSeconds;
        this.ratePerSecond = ratePerSecond;
        this.capacity = capacity;
        this.tokens = capacity;
        this.lastRefillNanos = clock.getAsLong();
    }

    /**
     * Changes rate and capacity. The tokens held are kept, never scaled up: a share that grows
     * takes over allowance another worker held, which that worker may have spent a moment ago, so
     * minting it here could let the workers together spend more than the organisation's burst. A
     * share that shrinks keeps at most the new capacity. A rate of zero (a share of zero while a
     * rebalance passes) freezes the bucket as it is, so a worker that gets its partitions back does
     * not come back empty.
     */
    synchronized void reconfigure(double newRatePerSecond, double newCapacity) {
        refill(clock.getAsLong());
        ratePerSecond = newRatePerSecond;
        if (newRatePerSecond <= 0) {
            return;
        }
        tokens = Math.min(tokens, newCapacity);
        capacity = newCapacity;
    }

    /**
     * Takes {@code amount} if it can now; otherwise returns how many nanoseconds to wait before
     * asking again. Returns 0 on success.
     */
    synchronized long tryTake(double amount, long nowNanos) {
        refill(nowNanos);
        // A take the whole bucket cannot hold with its margin waits for a full bucket, as before.
        double needed = Math.min(amount + ratePerSecond * marginSeconds, capacity);
        if (tokens >= needed) {
            tokens -= amount;
            return 0;
        }
        if (ratePerSecond <= 0) {
            return 1_000_000_000L;
        }
        return Math.max(1_000_000L, (long) ((needed - tokens) / ratePerSecond * 1e9));
    }

    /** Gives back tokens taken for a call that was never made. */
    synchronized void giveBack(double amount) {
        tokens = Math.min(capacity, tokens + amount);
    }

    /** Fills the bucket to its capacity. */
    synchronized void fill() {
        refill(clock.getAsLong());
        tokens = capacity;
    }

    /** Keeps at most {@code max} tokens, e.g. what the provider says is left of the window. */
    synchronized void capAt(double max) {
        refill(clock.getAsLong());
        tokens = Math.min(tokens, max);
    }

    /**
     * {@code amount}, taken a moment ago, is on its way to the provider and has not reached it:
     * until {@link #arrived(double)}, the provider's own bucket still holds it. So the refill stops
     * where the provider's bucket would overflow: these tokens plus those on their way never pass
     * the capacity. Otherwise calls that take seconds to go out (a fresh worker opening its
     * connections; a stalled process) let this bucket refill while the provider's, full, refilled
     * nothing, and the calls granted then met 429s.
     */
    synchronized void onTheirWay(double amount) {
        refill(clock.getAsLong());
        inTransit += amount;
    }

    /** {@code amount} of {@link #onTheirWay(double)} has gone out, or never will. */
    synchronized void arrived(double amount) {
        refill(clock.getAsLong());
        inTransit = Math.max(0, inTransit - amount);
    }

    /** Empties the bucket, e.g. when the provider says the window is used up. */
    synchronized void drain() {
        refill(clock.getAsLong());
        tokens = Math.min(tokens, 0);
    }

    private void refill(long nowNanos) {
        if (nowNanos > lastRefillNanos) {
            double refilled = Math.min(capacity - inTransit, tokens + (nowNanos - lastRefillNanos) / 1e9 * ratePerSecond);
            tokens = Math.max(tokens, refilled);
            lastRefillNanos = nowNanos;
        }
    }
}
