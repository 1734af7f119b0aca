package dev.kiln.provider;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarkus.logging.Log;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * This worker's part of the organisation's rate limits. Workers share nothing but Kafka, so
 * each takes the fraction of the limits that matches its part of the {@code kiln.jobs} backlog
 * ({@code dev.kiln.provider.RateShare}); a rebalance re-divides.
 *
 * <p>The permits follow what the provider says on every answer:
 * <ul>
 *   <li>{@code x-ratelimit-limit-*} below the configured limit (or with none configured) becomes
 *       the limit, so a wrong or missing {@code KILN_RATE_IPM} cannot cause a 429 storm;</li>
 *   <li>{@code x-ratelimit-remaining-*} caps what this worker may still spend at once to its share
 *       of what the organisation has left, so other clients of the same organisation, or a burst
 *       already spent, are accounted for. The provider counted it when the call arrived, a whole
 *       render before the answer, so this worker's share of the refill since is added
 *       ({@link #onAnswered(RateLimitHeaders, Permit)});</li>
 *   <li>with nothing left and no rate to refill by, {@code x-ratelimit-reset-*} says how long to hold;</li>
 *   <li>persistent 429s throttle the share down (once a second at most: 429s that come back
 *       together are one signal); calm answers and calm time bring it back (5 % an
 *       answer, and at least 5 % a second without a 429: at a 60 s latency no answer comes back for
 *       a minute, and a throttle that waited for answers cost a 429 at the start of a batch 30 % of
 *       the rate for that whole minute).</li>
 * </ul>
 *
 * <p>The provider counts a call when it arrives; these permits take it when they grant it, and a
 * call may take seconds to go out (a fresh worker opens its connections and loads and compiles its
 * code; a TLS handshake; a stalled process). Meanwhile the provider's bucket, if full, refills
 * nothing, while these would refill from the grant: the concurrency benchmark's three fresh workers
 * granted their burst by 6 s and met the simulator at 7 to 9 s, and 11 calls in 600 came back 429
 * together. So a granted call stays "on its way" ({@link Permit}) until its request's body is first
 * handed to the connection ({@link #sent(Permit)}, told by {@code ImagesApiClient}) or its call ends
 * ({@link #ended(Permit)}), and the buckets refill only as far as the provider's could hold with
 * those calls still to come ({@code TokenBucket#onTheirWay}).
 */
@ApplicationScoped
public class RenderPermits {

    /** The throttle's recovery for each answer without a 429, and for each second without one. */
    static final double RECOVERY_PER_STEP = 1.05;
    private static final long RECOVERY_STEP_NANOS = 1_000_000_000L;

    private final RateConfig config;
    private final LongSupplier clock;
    private final TokenBucket requests;
    private final TokenBucket images;
    private volatile double share = 1.0;
    private volatile double throttle = 1.0;
    private volatile double learnedRpm;
    private volatile double learnedIpm;
    private volatile long holdUntilNanos;
    /** When the throttle last recovered a step with time (or was cut by a 429). */
    private volatile long throttleStepNanos;
    /** When a 429 last cut the throttle. */
    private volatile long lastCutNanos;
    private final ReentrantLock turn = new ReentrantLock(true);
    private final AtomicLong imagesGranted = new AtomicLong();
    /** From each permit's grant to its call going out. */
    private Timer grantToSent;

    /**
     * One call's permits, kept until its answer: the provider counts {@code x-ratelimit-remaining-*}
     * when the call arrives and sends it with the answer, a whole render later, and these say how
     * much later. Until its call goes out ({@link #sent(Permit)}) or ends ({@link #ended(Permit)}),
     * the permit is on its way, and the buckets keep room for it.
     */
    public static final class Permit {
        private final long grantedAtNanos;
        private final double share;
        private final int images;
        private final AtomicBoolean onItsWay;

        Permit(long grantedAtNanos, double share, int images, boolean onItsWay) {
            this.grantedAtNanos = grantedAtNanos;
            this.share = share;
            this.images = images;
            this.onItsWay = new AtomicBoolean(onItsWay);
        }

        /** When the permits were granted, on the permits' clock. */
        public long grantedAtNanos() {
            return grantedAtNanos;
        }

        /** This worker's share of the limits then. */
        public double share() {
            return share;
        }

        /** True the first time only: the call has left its way, by going out or by ending. */
        boolean leaveTheWay() {
            return onItsWay.compareAndSet(true, false);
        }
    }

    @Inject
    public RenderPermits(RateConfig config, MeterRegistry registry) {
        this(config);
        FunctionCounter.builder("kiln.provider.images.permitted", imagesGranted, AtomicLong::get)
                .description("Images this worker's rate permits have allowed to be requested: never more than its share "
                        + "of the limit per second plus the burst, however many calls are in flight")
                .register(registry);
        Gauge.builder("kiln.rate.share", this, RenderPermits::share)
                .description("This worker's share of the organisation's rate limits, 0 to 1, from its part of the kiln.jobs backlog")
                .register(registry);
        Gauge.builder("kiln.rate.throttle", this, RenderPermits::throttle)
                .description("The factor 429s have cut this worker's share by, 1 when calm; each answer without a 429 raises it by 5 %")
                .register(registry);
        grantToSent = Timer.builder("kiln.rate.grant.to.sent")
                .description("From a call's rate permit to its request going out to the provider (connection open, headers "
                        + "written); the permits refill only as far as the provider's bucket could hold meanwhile")
                .register(registry);
    }

    /** Permits without a meter, for tests. */
    public RenderPermits(RateConfig config) {
        this(config, System::nanoTime);
    }

    /** Permits on {@code clock} (nanoseconds), for simulations that run faster than time. */
    RenderPermits(RateConfig config, LongSupplier clock) {
        this.config = config;
        this.clock = clock;
        this.holdUntilNanos = clock.getAsLong();
        this.lastCutNanos = clock.getAsLong() - RECOVERY_STEP_NANOS;
        double marginSeconds = config.arrivalMargin().toNanos() / 1e9;
        this.requests = new TokenBucket(0, 0, marginSeconds, clock);
        this.images = new TokenBucket(0, 0, marginSeconds, clock);
        apply();
        // Start with the whole burst, as the provider's allowance stands after a quiet spell.
        // A change of share never adds tokens (TokenBucket.reconfigure), so the workers together
        // never hold more than the organisation's burst as shares move between them.
        images.fill();
        requests.fill();
    }

    /** The factor 429s have cut this worker's share by: 1 when calm, at least {@code kiln.rate.min-throttle}. */
    double throttle() {
        return throttle;
    }

    /** This worker's share of the organisation's limits, 0 to 1 (also what {@link TokenPermits} paces by). */
    public double share() {
        return share;
    }

    /** Sets this worker's share of the organisation's limits (see {@code dev.kiln.provider.RateShare}). */
    public void setShare(double newShare) {
        double bounded = Math.max(0, Math.min(1, newShare));
        if (bounded != share) {
            // Debug: with backlog-weighted shares this changes every few seconds during a batch.
            Log.debugf("rate share is now %.3f of %s IPM / %s RPM", bounded, ipm(), rpm());
        }
        share = bounded;
        apply();
    }

    /**
     * Blocks until one request for {@code imageCount} images may be made. Callers are served in
     * the order they asked: when each waiter raced for the next token, an unlucky job could wait
     * far longer than the rest, holding back its partition's committed offset and the batch's end.
     * {@code giveUp} is asked at least once a second while waiting (a shutdown).
     *
     * @return the permits, to hand to {@link #onAnswered(RateLimitHeaders, Permit)} with the
     *         answer; empty when {@code giveUp} said so first
     */
    public Optional<Permit> acquire(int imageCount, BooleanSupplier giveUp) throws InterruptedException {
        turn.lockInterruptibly();
        try {
            long wait;
            if (giveUp.getAsBoolean()) {
                return Optional.empty();
            }
            while ((wait = tryAcquire(imageCount, clock.getAsLong())) > 0) {
                if (giveUp.getAsBoolean()) {
                    return Optional.empty();
                }
                Thread.sleep(Duration.ofNanos(Math.min(wait, 1_000_000_000L)));
            }
            return Optional.of(granted(imageCount));
        } finally {
            turn.unlock();
        }
    }

    /** Counts permits {@link #tryAcquire} has just taken for one call of {@code imageCount} images. */
    Permit granted(int imageCount) {
        imagesGranted.addAndGet(imageCount);
        images.onTheirWay(imageCount);
        requests.onTheirWay(1);
        return new Permit(clock.getAsLong(), share, imageCount, true);
    }

    /**
     * The call of {@code permit} has started to go out (its body is being handed to the
     * connection): the provider counts it now, and the buckets may refill as far as their capacity.
     */
    public void sent(Permit permit) {
        if (permit.leaveTheWay()) {
            images.arrived(permit.images);
            requests.arrived(1);
            if (grantToSent != null) {
                grantToSent.record(Math.max(0, clock.getAsLong() - permit.grantedAtNanos), TimeUnit.NANOSECONDS);
            }
        }
    }

    /** The call of {@code permit} has ended, answered or not: if it never went out, it never will. */
    public void ended(Permit permit) {
        if (permit.leaveTheWay()) {
            images.arrived(permit.images);
            requests.arrived(1);
        }
    }

    /** Images allowed so far by {@link #acquire}: what the permits let through, counted where they decide. */
    public long imagesGranted() {
        return imagesGranted.get();
    }

    /**
     * Takes the permits for one request of {@code imageCount} images if it may be made now.
     *
     * @return 0 when taken, else nanoseconds to wait before asking again
     */
    long tryAcquire(int imageCount, long nowNanos) {
        recoverWithTime(nowNanos);
        long held = holdUntilNanos - nowNanos;
        if (held > 0) {
            return held;
        }
        long waitRequests = rpm() > 0 ? requests.tryTake(1, nowNanos) : 0;
        if (waitRequests > 0) {
            return waitRequests;
        }
        long waitImages = ipm() > 0 ? images.tryTake(imageCount, nowNanos) : 0;
        if (waitImages > 0) {
            if (rpm() > 0) {
                requests.giveBack(1);
            }
            return waitImages;
        }
        return 0;
    }

    /** The provider answered 429: slow this worker down and spend what the bucket holds. */
    public void onRateLimited() {
        long now = clock.getAsLong();
        // 429s within a second of the last cut are one signal: calls bunched on their way (a cold
        // worker's first calls reached the simulator together, 3 s after their permits) come back
        // 429 together, and cutting for each cut a worker to the floor, 0.26, for 14 s of a 12 s
        // benchmark row. Persistent 429s keep cutting, once a second.
        if (now - lastCutNanos >= RECOVERY_STEP_NANOS) {
            throttle = Math.max(config.minThrottle(), throttle * 0.7);
            lastCutNanos = now;
        }
        throttleStepNanos = now;
        images.drain();
        requests.drain();
        apply();
    }

    /**
     * A throttled worker recovers {@value #RECOVERY_PER_STEP}× for every second without a 429, as
     * it does for every answer: its calls may take a minute to answer, and the recovery must not
     * wait for them.
     */
    private void recoverWithTime(long nowNanos) {
        if (throttle >= 1.0) {
            return;
        }
        long steps = (nowNanos - throttleStepNanos) / RECOVERY_STEP_NANOS;
        if (steps <= 0) {
            return;
        }
        synchronized (this) {
            steps = (nowNanos - throttleStepNanos) / RECOVERY_STEP_NANOS;
            if (steps <= 0 || throttle >= 1.0) {
                return;
            }
            throttleStepNanos += steps * RECOVERY_STEP_NANOS;
            throttle = Math.min(1.0, throttle * Math.pow(RECOVERY_PER_STEP, steps));
            apply();
        }
    }

    /** As {@link #onAnswered(RateLimitHeaders, Permit)} for headers counted this very moment (tests). */
    public void onAnswered(RateLimitHeaders limits) {
        onAnswered(limits, new Permit(clock.getAsLong(), share, 1, false));
    }

    /**
     * The provider answered the call of {@code permit} without a 429: follow its headers and
     * recover towards the full share. What this worker may still spend at once is capped at
     * <pre>
     * max(1, min(share then, share now) × (remaining + rate × age))
     * </pre>
     * where {@code age} is the time since the permit: the provider counted {@code remaining} when
     * the call arrived and has refilled since. Without the age, every answer cut away this worker's
     * refill of the render it answered (3 s of its rate at 3 s a call) whenever its bucket was
     * filling, which is when a batch begins and its slots, not its permits, hold the calls back.
     */
    public void onAnswered(RateLimitHeaders limits, Permit permit) {
        boolean changed = learn(limits.limitImages(), true) | learn(limits.limitRequests(), false);
        if (throttle < 1.0) {
            throttle = Math.min(1.0, throttle * RECOVERY_PER_STEP);
            changed = true;
        }
        if (changed) {
            apply();
        }
        double age = Math.max(0, (clock.getAsLong() - permit.grantedAtNanos()) / 1e9);
        double shareBoth = Math.min(share, permit.share());
        spendAtMost(images, ipm(), limits.remainingImages(), limits.resetImages(), age, shareBoth);
        spendAtMost(requests, rpm(), limits.remainingRequests(), limits.resetRequests(), age, shareBoth);
    }

    /**
     * This worker's share of the limits in force as calls per second, for calls of
     * {@code imagesPerCall} images each: {@code share × min(IPM / 60 / imagesPerCall, RPM / 60)},
     * leaving out a limit that is unknown; 0 when neither is known. The 429 throttle is left out on
     * purpose: it is temporary, and the calls it holds back wait for permits, not for slots.
     */
    public double callsPerSecond(double imagesPerCall) {
        double perImage = ipm() > 0 ? ipm() / 60d / Math.max(1, imagesPerCall) : Double.POSITIVE_INFINITY;
        double perRequest = rpm() > 0 ? rpm() / 60d : Double.POSITIVE_INFINITY;
        double calls = Math.min(perImage, perRequest);
        return Double.isInfinite(calls) ? 0 : calls * share;
    }

    /** The organisation's images per minute in force: the configured limit or the provider's, whichever is lower. */
    double ipm() {
        return lowerKnown(config.ipm(), learnedIpm);
    }

    /** The organisation's requests per minute in force. */
    double rpm() {
        return lowerKnown(config.rpm(), learnedRpm);
    }

    private boolean learn(OptionalLong limit, boolean isImages) {
        if (limit.isEmpty() || limit.getAsLong() <= 0) {
            return false;
        }
        double told = limit.getAsLong();
        double before = isImages ? learnedIpm : learnedRpm;
        if (told == before) {
            return false;
        }
        if (isImages) {
            learnedIpm = told;
        } else {
            learnedRpm = told;
        }
        double configured = isImages ? config.ipm() : config.rpm();
        if (configured <= 0 || told < configured) {
            Log.infof("the provider's limit of %.0f %s per minute is in force (configured: %s)", told,
                    isImages ? "images" : "requests", configured > 0 ? configured : "none");
        }
        return true;
    }

    /**
     * Never plans on more than this worker's share of what the provider says is left, plus its
     * share of the refill since the provider counted it (see {@link #onAnswered(RateLimitHeaders, Permit)}).
     */
    private void spendAtMost(TokenBucket bucket, double perMinute, OptionalLong remaining, Optional<Duration> reset,
                             double ageSeconds, double shareBoth) {
        if (remaining.isEmpty()) {
            return;
        }
        if (perMinute > 0) {
            // Never below one: the header is a whole number, and cutting a fraction already
            // refilled would slow this worker below its rate in the steady state.
            bucket.capAt(Math.max(1, shareBoth * (remaining.getAsLong() + perMinute / 60 * ageSeconds)));
        } else if (remaining.getAsLong() == 0 && reset.isPresent()) {
            // Nothing left and no rate known to refill by: wait for the window the provider names.
            holdUntilNanos = Math.max(holdUntilNanos, clock.getAsLong() + reset.get().toNanos());
        }
    }

    private synchronized void apply() {
        double factor = share * throttle;
        double burstSeconds = config.burst().toMillis() / 1000d;
        double imagesPerSecond = ipm() / 60d * factor;
        double requestsPerSecond = rpm() / 60d * factor;
        images.reconfigure(imagesPerSecond, Math.max(1, imagesPerSecond * burstSeconds));
        requests.reconfigure(requestsPerSecond, Math.max(1, requestsPerSecond * burstSeconds));
    }

    private static double lowerKnown(double configured, double learned) {
        if (configured <= 0) {
            return learned;
        }
        return learned > 0 ? Math.min(configured, learned) : configured;
    }
}
