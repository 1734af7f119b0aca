package dev.kiln.provider;

import dev.kiln.image.Dimensions;
import dev.kiln.image.ImageTokens;
import dev.kiln.job.RenderJobRequested;
import io.quarkus.logging.Log;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import java.util.function.DoubleSupplier;

/**
 * Paces calls by tokens per minute ({@code KILN_RATE_TPM}), beside the request and image permits:
 * an upper estimate of a call's tokens is reserved before it, and settled by the tokens its
 * {@code usage} reports after (the difference is given back, or owed). Like IPM, the limit is the
 * organisation's, and each worker paces by its share of it (the share {@link RenderPermits} holds,
 * from {@code RateShare}). The answers' {@code x-ratelimit-*-tokens} headers steer it: a lower
 * {@code limit} becomes the limit, and {@code remaining} caps what this worker may still spend to
 * its share of what the organisation has left.
 *
 * <p>A call whose estimate exceeds the whole burst passes once the allowance is full and leaves it
 * in debt, as a 3840×2160 high-quality image (about 55,600 output tokens) may under a small TPM.
 */
@ApplicationScoped
public class TokenPermits {

    /** gpt-image-2's largest size by pixels, which {@code size: auto} may pick; the estimate must not fall short. */
    private static final Dimensions AUTO_MAX = new Dimensions(1536, 1024);

    private final double configuredTpm;
    private final double burstSeconds;
    private final double marginSeconds;
    private final DoubleSupplier share;
    private final ReentrantLock turn = new ReentrantLock(true);
    private final Object bucket = new Object();
    private volatile double learnedTpm;
    private double tokens = Double.NaN;
    private long lastNanos = System.nanoTime();
    /** Since when the refill is held for the first call after a quiet spell, as {@link RenderPermits} does; {@link #NOT_HELD} when not. */
    private long refillHeldSinceNanos = NOT_HELD;
    private static final long NOT_HELD = Long.MIN_VALUE;

    @Inject
    public TokenPermits(RateConfig config, RenderPermits permits) {
        this(config.tpm(), config.burst().toMillis() / 1000.0, config.arrivalMargin().toNanos() / 1e9, permits::share);
    }

    TokenPermits(double tpm, double burstSeconds, double marginSeconds, DoubleSupplier share) {
        this.configuredTpm = tpm;
        this.burstSeconds = burstSeconds;
        this.marginSeconds = marginSeconds;
        this.share = share;
    }

    /** Permits that never hold a call: no TPM configured and none learned. */
    public static TokenPermits unlimited() {
        return new TokenPermits(0, 10, 0, () -> 1.0);
    }

    /**
     * The upper estimate of a job's tokens: its prompt, and {@code n} images at gpt-image-2's
     * output counts for its quality and size ({@code auto} counted as high and as the largest
     * automatic size). Reference images are not known here; their tokens are settled after the call.
     */
    public static long estimate(RenderJobRequested job) {
        String quality = job.parameters() == null || job.parameters().quality() == null
                || job.parameters().quality().equals("auto") ? "high" : job.parameters().quality();
        String size = job.parameters() == null ? null : job.parameters().size();
        Dimensions dimensions = size == null || size.equals("auto") ? AUTO_MAX : Dimensions.resolve(size);
        return ImageTokens.textInput(job.prompt()) + (long) job.imageCount() * ImageTokens.outputPerImage(quality, dimensions);
    }

    /**
     * Blocks until {@code estimate} tokens may be spent, serving callers in the order they asked.
     * {@code giveUp} is asked at least once a second while waiting.
     *
     * @return the reservation to settle, or null when {@code giveUp} said so first
     */
    public Reservation acquire(long estimate, BooleanSupplier giveUp) throws InterruptedException {
        if (tpm() <= 0) {
            return new Reservation(0);
        }
        turn.lockInterruptibly();
        try {
            while (true) {
                long wait = tryTake(estimate, System.nanoTime());
                if (wait == 0) {
                    return new Reservation(estimate);
                }
                if (giveUp.getAsBoolean()) {
                    return null;
                }
                TimeUnit.NANOSECONDS.sleep(Math.min(wait, 1_000_000_000L));
            }
        } finally {
            turn.unlock();
        }
    }

    /** Settles {@code reservation} with the tokens the call's usage reported: the difference is given back or owed. */
    public void settle(Reservation reservation, ProviderUsage usage) {
        long used = usage == null ? reservation.tokens()
                : usage.textInputTokens() + usage.imageInputTokens() + usage.outputTokens();
        adjust(reservation.tokens() - used);
    }

    /** Gives back a reservation whose call used no tokens (refused, failed, never made). */
    public void release(Reservation reservation) {
        adjust(reservation.tokens());
    }

    /** Learns from an answer's token headers. */
    public void onAnswered(TokenLimitHeaders headers) {
        if (headers == null) {
            return;
        }
        headers.limit().ifPresent(limit -> {
            if (limit > 0 && (configuredTpm <= 0 || limit < configuredTpm) && limit != learnedTpm) {
                Log.infof("the provider's token limit is %d TPM; pacing by it", limit);
                learnedTpm = limit;
            }
        });
        headers.remaining().ifPresent(remaining -> {
            synchronized (bucket) {
                refill(System.nanoTime());
                // This worker's part of what the organisation has left; never below one estimate's
                // worth of nothing (a rounded header must not stall the steady state).
                tokens = Math.min(tokens, Math.max(0, remaining * share()));
            }
        });
    }

    /** The tokens per minute paced by: the configured limit, or a lower one the provider named. */
    public double tpm() {
        double learned = learnedTpm;
        if (configuredTpm > 0 && learned > 0) {
            return Math.min(configuredTpm, learned);
        }
        return configuredTpm > 0 ? configuredTpm : learned;
    }

    private double share() {
        return Math.max(0, Math.min(1, share.getAsDouble()));
    }

    /** Takes {@code amount} at {@code now} if it can: 0, else nanoseconds to wait (tests on their own clock). */
    long tryTakeAt(long amount, long now) {
        return tryTake(amount, now);
    }

    private long tryTake(long amount, long now) {
        synchronized (bucket) {
            refill(now);
            double capacity = capacity();
            if (capacity <= 0) {
                // No share of the limit (a rebalance in progress): nothing may pass until there is one.
                return 1_000_000_000L;
            }
            double rate = ratePerSecond();
            // The margin in hand beyond the call (RateConfig#arrivalMargin): the provider counts the
            // call when it arrives, which may be a little later than this grant, or sooner after the last.
            double needed = Math.min(amount + rate * marginSeconds, capacity);
            if (tokens >= needed) {
                if (tokens >= capacity && refillHeldSinceNanos == NOT_HELD) {
                    // A grant from a full bucket: the provider's refills nothing until this call reaches it.
                    refillHeldSinceNanos = now;
                }
                tokens -= amount;
                return 0;
            }
            return rate <= 0 ? 1_000_000_000L : Math.max(1_000_000L, (long) ((needed - tokens) / rate * 1e9));
        }
    }

    private void adjust(double amount) {
        if (amount == 0 || tpm() <= 0) {
            return;
        }
        synchronized (bucket) {
            refill(System.nanoTime());
            tokens = Math.min(capacity(), tokens + amount);
        }
    }

    private double ratePerSecond() {
        return tpm() * share() / 60.0;
    }

    private double capacity() {
        return ratePerSecond() * burstSeconds;
    }

    /**
     * A call has started to go out: the refill held since a grant from a full bucket resumes. The
     * provider's bucket, full, refills nothing until that call reaches it, and a call can take
     * seconds to go out (a fresh worker's first); refilling from the grant, these permits would be
     * ahead of the provider by that time's rate (see {@link RenderPermits.Permit}).
     */
    public void callSent() {
        callSent(System.nanoTime());
    }

    /** As {@link #callSent()} at {@code now}. */
    void callSent(long now) {
        synchronized (bucket) {
            refill(now);
            refillHeldSinceNanos = NOT_HELD;
        }
    }

    private void refill(long now) {
        double capacity = capacity();
        if (Double.isNaN(tokens)) {
            // Start with the whole burst, as RenderPermits does.
            tokens = capacity;
        }
        long heldUntil = refillHeldSinceNanos == NOT_HELD ? Long.MIN_VALUE
                : refillHeldSinceNanos + (long) (burstSeconds * 1e9);
        if (refillHeldSinceNanos != NOT_HELD && now >= heldUntil) {
            // A hold never outlasts the burst: calls that cannot connect must not stop the refill.
            lastNanos = Math.max(lastNanos, heldUntil);
            refillHeldSinceNanos = NOT_HELD;
        }
        if (now > lastNanos) {
            if (refillHeldSinceNanos == NOT_HELD) {
                tokens = Math.min(capacity, tokens + (now - lastNanos) / 1e9 * ratePerSecond());
            }
            lastNanos = now;
        }
    }

    /** Tokens reserved for one call, to settle once its usage is known. */
    public record Reservation(long tokens) {
    }
}
