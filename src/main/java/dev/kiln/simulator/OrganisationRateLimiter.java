package dev.kiln.simulator;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The organisation-wide limits of the whole simulator: requests and images per minute, as two
 * token buckets. A request costs one request token and {@code n} image tokens, taken together or
 * not at all.
 */
final class OrganisationRateLimiter {

    /**
     * The outcome of one {@link #tryAcquire(int)}.
     *
     * @param allowed          whether the request may proceed
     * @param limitType        {@code requests} or {@code images} when refused, else null
     * @param limit            the per-minute limit that refused it, else 0
     * @param requested        what the refused bucket was asked for
     * @param retryAfterMillis how long until the request would fit, when refused
     * @param headers          the {@code x-ratelimit-*} headers after the decision
     */
    record Decision(boolean allowed, String limitType, long limit, long requested, long retryAfterMillis,
                    Map<String, String> headers) {
    }

    private final LongSupplier nanoClock;
    private TokenBucket requests;
    private TokenBucket images;

    OrganisationRateLimiter(SimulatorSettings settings, LongSupplier nanoClock) {
        this.nanoClock = nanoClock;
        reconfigure(settings);
    }

    /** New limits, with both buckets full. */
    synchronized void reconfigure(SimulatorSettings settings) {
        long now = nanoClock.getAsLong();
        requests = new TokenBucket(settings.requestsPerMinute(), settings.burstSeconds(), now);
        images = new TokenBucket(settings.imagesPerMinute(), settings.burstSeconds(), now);
    }

    synchronized Decision tryAcquire(int imageCount) {
        long now = nanoClock.getAsLong();
        long requestWait = requests.nanosUntilAvailable(1, now);
        long imageWait = images.nanosUntilAvailable(imageCount, now);
        if (requestWait > 0) {
            return refused("requests", requests, 1, requestWait, now);
        }
        if (imageWait > 0) {
            return refused("images", images, imageCount, imageWait, now);
        }
        requests.take(1);
        images.take(imageCount);
        return new Decision(true, null, 0, 0, 0, headers(now));
    }

    /** The {@code x-ratelimit-*} headers as they stand, for answers that take no tokens. */
    synchronized Map<String, String> headers() {
        return headers(nanoClock.getAsLong());
    }

    private Decision refused(String type, TokenBucket bucket, long requested, long waitNanos, long now) {
        return new Decision(false, type, bucket.perMinute(), requested,
                TimeUnit.NANOSECONDS.toMillis(waitNanos) + 1, headers(now));
    }

    private Map<String, String> headers(long now) {
        Map<String, String> out = new LinkedHashMap<>();
        addHeaders(out, "requests", requests, now);
        addHeaders(out, "images", images, now);
        return out;
    }

    /** Unlimited buckets send no headers: there is no limit to report. */
    private static void addHeaders(Map<String, String> out, String type, TokenBucket bucket, long now) {
        if (bucket.unlimited()) {
            return;
        }
        out.put("x-ratelimit-limit-" + type, Long.toString(bucket.perMinute()));
        out.put("x-ratelimit-remaining-" + type, Long.toString(bucket.remaining(now)));
        out.put("x-ratelimit-reset-" + type, GoDuration.format(TimeUnit.NANOSECONDS.toMillis(bucket.nanosUntilFull(now))));
    }
}
