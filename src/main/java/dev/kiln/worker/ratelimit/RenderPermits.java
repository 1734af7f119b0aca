package dev.kiln.worker.ratelimit;

import io.quarkus.logging.Log;
import jakarta.enterprise.context.ApplicationScoped;

import java.time.Duration;
import java.util.concurrent.locks.ReentrantLock;

/**
 * This worker's part of the organisation's rate limits. Workers share nothing but Kafka, so
 * each takes the fraction of the limits that matches its part of the {@code kiln.jobs} backlog
 * ({@code dev.kiln.worker.RateShare}); a rebalance re-divides. The share adapts to the provider: persistent 429s
 * throttle it down, calm answers bring it back.
 */
@ApplicationScoped
public class RenderPermits {

    private final RateConfig config;
    private final TokenBucket requests;
    private final TokenBucket images;
    private volatile double share = 1.0;
    private volatile double throttle = 1.0;
    private final ReentrantLock turn = new ReentrantLock(true);

    public RenderPermits(RateConfig config) {
        this.config = config;
        this.requests = new TokenBucket(0, 0);
        this.images = new TokenBucket(0, 0);
        apply();
        // Start with the whole burst, as the provider's allowance stands after a quiet spell.
        // Buckets that started empty spent the first burst-length of every batch refilling.
        images.fill();
        requests.fill();
    }

    /** Sets this worker's share of the organisation's limits (see {@code dev.kiln.worker.RateShare}). */
    public void setShare(double newShare) {
        double bounded = Math.max(0, Math.min(1, newShare));
        if (bounded != share) {
            // Debug: with backlog-weighted shares this changes every few seconds during a batch.
            Log.debugf("rate share is now %.3f of %s IPM / %s RPM", bounded, config.ipm(), config.rpm());
        }
        share = bounded;
        apply();
    }

    /**
     * Blocks until one request for {@code imageCount} images may be made. Callers are served in
     * the order they asked: when each waiter raced for the next token, an unlucky job could wait
     * far longer than the rest, holding back its partition's committed offset and the batch's end.
     */
    public void acquire(int imageCount) throws InterruptedException {
        turn.lockInterruptibly();
        try {
            takeWhenAvailable(imageCount);
        } finally {
            turn.unlock();
        }
    }

    private void takeWhenAvailable(int imageCount) throws InterruptedException {
        while (true) {
            long now = System.nanoTime();
            long waitRequests = config.rpm() > 0 ? requests.tryTake(1, now) : 0;
            if (waitRequests > 0) {
                sleepNanos(waitRequests);
                continue;
            }
            long waitImages = config.ipm() > 0 ? images.tryTake(imageCount, now) : 0;
            if (waitImages > 0) {
                if (config.rpm() > 0) {
                    requests.giveBack(1);
                }
                sleepNanos(waitImages);
                continue;
            }
            return;
        }
    }

    /** The provider answered 429: slow this worker down and spend what the bucket holds. */
    public void onRateLimited() {
        throttle = Math.max(config.minThrottle(), throttle * 0.7);
        images.drain();
        requests.drain();
        apply();
    }

    /** The provider answered without a 429: recover towards the full share. */
    public void onAccepted() {
        if (throttle < 1.0) {
            throttle = Math.min(1.0, throttle * 1.05);
            apply();
        }
    }

    private synchronized void apply() {
        double factor = share * throttle;
        double burstSeconds = config.burst().toMillis() / 1000d;
        double imagesPerSecond = config.ipm() / 60d * factor;
        double requestsPerSecond = config.rpm() / 60d * factor;
        images.reconfigure(imagesPerSecond, Math.max(1, imagesPerSecond * burstSeconds));
        requests.reconfigure(requestsPerSecond, Math.max(1, requestsPerSecond * burstSeconds));
    }

    private static void sleepNanos(long nanos) throws InterruptedException {
        Thread.sleep(Duration.ofNanos(Math.min(nanos, 1_000_000_000L)));
    }
}
