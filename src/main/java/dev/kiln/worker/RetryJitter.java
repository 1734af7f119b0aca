package dev.kiln.worker;

import jakarta.enterprise.context.ApplicationScoped;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Spreads retries out in time. SmallRye's delayed-retry topics hold every record for exactly the
 * topic's delay, so jobs that failed together in a provider outage would come back together and
 * meet the provider at the same instant. A retried job therefore waits a further random part of
 * its topic's delay ({@code kiln.worker.retry-jitter}) before it is rendered.
 */
@ApplicationScoped
public class RetryJitter {

    private static final Pattern DELAY_SUFFIX = Pattern.compile("_(\\d+)$");

    private final WorkerConfig config;

    public RetryJitter(WorkerConfig config) {
        this.config = config;
    }

    /** How much longer a job delivered from {@code topic} waits: nothing for a first delivery. */
    public Duration extraDelay(String topic) {
        Duration delay = delayOf(topic);
        double bound = delay.toMillis() * config.retryJitter();
        return bound < 1 ? Duration.ZERO : Duration.ofMillis((long) ThreadLocalRandom.current().nextDouble(bound));
    }

    /** {@code delay} and a further random part of it, up to {@code kiln.worker.retry-jitter} of it. */
    public Duration spread(Duration delay) {
        double bound = delay.toMillis() * config.retryJitter();
        return bound < 1 ? delay : delay.plusMillis((long) ThreadLocalRandom.current().nextDouble(bound));
    }

    /** The delay a retry topic stands for, from its SmallRye name {@code <topic>_<delay ms>}. */
    static Duration delayOf(String topic) {
        Matcher m = topic == null ? null : DELAY_SUFFIX.matcher(topic);
        return m != null && m.find() ? Duration.ofMillis(Long.parseLong(m.group(1))) : Duration.ZERO;
    }
}
