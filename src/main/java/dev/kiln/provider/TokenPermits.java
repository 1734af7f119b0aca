package dev.kiln.provider;

import dev.kiln.image.Dimensions;
import dev.kiln.image.ImageTokens;
import dev.kiln.job.RenderJobRequested;
import io.quarkus.logging.Log;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
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
    /** Tokens reserved for calls that have not gone out yet: the refill keeps room for them, as {@code TokenBucket} does. */
    private double inTransit;

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
            return new Reservation(0, false);
        }
        turn.lockInterruptibly();
        try {
            while (true) {
                long wait = tryTake(estimate, System.nanoTime());
                if (wait == 0) {
                    synchronized (bucket) {
                        inTransit += estimate;
                    }
                    return new Reservation(estimate, true);
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
        ended(reservation);
        adjust(reservation.tokens());
    }

    /**
     * The call of {@code reservation} has started to go out: the provider counts its tokens now,
     * and the refill may pass the room kept for it (see {@link RenderPermits.Permit}).
     */
    public void sent(Reservation reservation) {
        ended(reservation);
    }

    /** The call of {@code reservation} has ended, answered or not: if it never went out, it never will. */
    public void ended(Reservation reservation) {
        if (reservation.leaveTheWay()) {
            synchronized (bucket) {
                refill(System.nanoTime());
                inTransit = Math.max(0, inTransit - reservation.tokens());
            }
        }
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

    private void refill(long now) {
        double capacity = capacity();
        if (Double.isNaN(tokens)) {
            // Start with the whole burst, as RenderPermits does.
            tokens = capacity;
        }
        if (now > lastNanos) {
            // Room is kept for the tokens of calls still on their way: the provider's bucket holds them.
            tokens = Math.max(tokens, Math.min(capacity - inTransit, tokens + (now - lastNanos) / 1e9 * ratePerSecond()));
            lastNanos = now;
        }
    }

    /** Tokens reserved for one call, to settle once its usage is known; on its way until the call goes out or ends. */
    public static final class Reservation {
        private final long tokens;
        private final AtomicBoolean onItsWay;

        Reservation(long tokens, boolean onItsWay) {
            this.tokens = tokens;
            this.onItsWay = new AtomicBoolean(onItsWay);
        }

        /** The tokens reserved. */
        public long tokens() {
            return tokens;
        }

        /** True the first time only: the call has left its way, by going out or by ending. */
        boolean leaveTheWay() {
            return onItsWay.compareAndSet(true, false);
        }
    }
}
