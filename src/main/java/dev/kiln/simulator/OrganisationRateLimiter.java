package dev.kiln.simulator;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The organisation-wide limits of the whole simulator: requests, images and tokens per minute, as
 * three token buckets. A request costs one request, {@code n} images and its output tokens, taken
 * together or not at all. Only the synchronous Images API draws on them: the Batch API has its own
 * queue, as OpenAI's does.
 */
final class OrganisationRateLimiter {

    /**
     * The outcome of one {@link #tryAcquire(int)}.
     *
     * @param allowed          whether the request may proceed
     * @param limitType        {@code requests}, {@code images} or {@code tokens} when refused, else null
     * @param limit            the per-minute limit that refused it, else 0
     * @param used             what the refused bucket has spent of its capacity, as OpenAI's "Used"
     * @param requested        what the refused bucket was asked for
     * @param retryAfterMillis how long until the request would fit, when refused
     * @param headers          the {@code x-ratelimit-*} headers after the decision
     */
    record Decision(boolean allowed, String limitType, long limit, long used, long requested, long retryAfterMillis,
                    Map<String, String> headers) {
    }

    private final LongSupplier nanoClock;
    private TokenBucket requests;
    private TokenBucket images;
    private TokenBucket tokens;

    OrganisationRateLimiter(SimulatorSettings settings, LongSupplier nanoClock) {
        this.nanoClock = nanoClock;
        reconfigure(settings);
    }

    /** New limits, with every bucket full. */
    synchronized void reconfigure(SimulatorSettings settings) {
        long now = nanoClock.getAsLong();
        requests = new TokenBucket(settings.requestsPerMinute(), settings.burstSeconds(), now);
        images = new TokenBucket(settings.imagesPerMinute(), settings.burstSeconds(), now);
        tokens = new TokenBucket(settings.tokensPerMinute(), settings.burstSeconds(), now);
    }

    /** A request of {@code imageCount} images that charges no tokens. */
    Decision tryAcquire(int imageCount) {
        return tryAcquire(imageCount, 0);
    }

    /** A request of {@code imageCount} images charging {@code tokenCount} tokens. */
    synchronized Decision tryAcquire(int imageCount, long tokenCount) {
        long now = nanoClock.getAsLong();
        long requestWait = requests.nanosUntilAvailable(1, now);
        long imageWait = images.nanosUntilAvailable(imageCount, now);
        long tokenWait = tokens.nanosUntilAvailable(tokenCount, now);
        if (requestWait > 0) {
            return refused("requests", requests, 1, requestWait, now);
        }
        if (imageWait > 0) {
            return refused("images", images, imageCount, imageWait, now);
        }
        if (tokenWait > 0) {
            return refused("tokens", tokens, tokenCount, tokenWait, now);
        }
        requests.take(1);
        images.take(imageCount);
        tokens.take(tokenCount);
        return new Decision(true, null, 0, 0, 0, 0, headers(now));
    }

    /** The {@code x-ratelimit-*} headers as they stand, for answers that take no tokens. */
    synchronized Map<String, String> headers() {
        return headers(nanoClock.getAsLong());
    }

    private Decision refused(String type, TokenBucket bucket, long requested, long waitNanos, long now) {
        return new Decision(false, type, bucket.perMinute(), bucket.used(now), requested,
                TimeUnit.NANOSECONDS.toMillis(waitNanos) + 1, headers(now));
    }

    private Map<String, String> headers(long now) {
        Map<String, String> out = new LinkedHashMap<>();
        addHeaders(out, "requests", requests, now);
        addHeaders(out, "images", images, now);
        addHeaders(out, "tokens", tokens, now);
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
