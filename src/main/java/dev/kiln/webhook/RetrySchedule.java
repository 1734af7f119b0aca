package dev.kiln.webhook;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * When a delivery's attempts happen: the delay before attempt 1 (counted from the event), then
 * before each later attempt (counted from the failure before it). After the last, it has failed.
 */
public final class RetrySchedule {

    private final List<Duration> delays;

    public RetrySchedule(List<Duration> delays) {
        if (delays.isEmpty()) {
            throw new IllegalArgumentException("kiln.webhooks.retry-schedule needs at least one delay");
        }
        for (Duration delay : delays) {
            if (delay.isNegative()) {
                throw new IllegalArgumentException("kiln.webhooks.retry-schedule has a negative delay: " + delay);
            }
        }
        this.delays = List.copyOf(delays);
    }

    /** The delay before the attempt at {@code step} (0 for the first), or empty when the schedule has ended. */
    public Optional<Duration> delayBefore(int step) {
        return step >= 0 && step < delays.size() ? Optional.of(delays.get(step)) : Optional.empty();
    }

    /** How many attempts a delivery gets. */
    public int attempts() {
        return delays.size();
    }

    /** From the event to the last attempt, leaving out the time the attempts themselves take. */
    public Duration span() {
        return delays.stream().reduce(Duration.ZERO, Duration::plus);
    }
}
