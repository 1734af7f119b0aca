package dev.kiln.dispatch;

import java.time.Duration;

/**
 * How many released jobs may wait in {@code kiln.jobs} without having started: as few as keep the
 * workers fed between two releases, so that work arriving later (another tenant, a higher
 * priority) is reached within seconds rather than behind a long queue.
 * <pre>
 * r      = KILN_RATE_IPM / 60                        images per second for the organisation
 * target = ceil(r × (lead + burstShare × burst))     when r &gt; 0
 *        = C                                         when there is no rate limit, where
 *          C = workers in the group × what each keeps in flight without a rate
 *              (min(kiln.concurrency.without-rate, KILN_WORKER_MAX_IN_FLIGHT): one refill of every slot)
 * window = clamp(target, min, max)
 * </pre>
 * The count it is compared with ({@link UnstartedJobs}) leaves out jobs a worker has started
 * (announced {@code running}), including those waiting there for a rate permit, so the renders in
 * flight need no term of their own: the workers' concurrency bounds them. {@code lead} is the
 * few seconds of work that cover the time from a worker taking a job to the dispatcher's next
 * release reaching it (tick, status event, fetch); the burst term lets the workers spend part of
 * the provider's burst allowance at once when a backlog begins. With 250 IPM, a 5 s lead and a
 * quarter of a 10 s burst the window is 32 jobs: about 8 s of work.
 * <p>
 * The workers size their calls in flight from the same figures ({@code dev.kiln.provider.ConcurrencyTarget}:
 * their share of this rate times the latency they learn), so under a rate limit the window needs
 * no capacity term: a worker takes a released job into a slot at once while it is below its
 * target, and a job waiting for a slot has not been announced {@code running}, so it still counts
 * here and the window bounds those too. Without a rate, {@link #target(int)} takes the capacity
 * the workers' {@code ConcurrencyTarget} gives them.
 *
 * @param rateIpm    the organisation's images per minute; 0 means no limit
 * @param lead       seconds of work kept ready for the workers
 * @param burst      the provider's burst, as time at the full rate
 * @param burstShare the part of the burst the window covers, 0 to 1
 * @param min        the smallest window, so that work flows at tiny rates
 * @param max        the largest window, whatever the inputs
 */
public record ReleaseWindow(double rateIpm, Duration lead, Duration burst, double burstShare, int min, int max) {

    public ReleaseWindow {
        if (min < 1 || max < min) {
            throw new IllegalArgumentException("window bounds must satisfy 1 <= min <= max, not " + min + ".." + max);
        }
        if (burstShare < 0 || burstShare > 1) {
            throw new IllegalArgumentException("burst share must be within 0..1, not " + burstShare);
        }
    }

    /**
     * The window for the workers' current capacity.
     *
     * @param workerCapacity calls the workers can have in flight in all (workers × max in flight); 0 when unknown
     */
    public int target(int workerCapacity) {
        double perSecond = rateIpm / 60.0;
        long target;
        if (perSecond > 0) {
            double seconds = seconds(lead) + burstShare * seconds(burst);
            target = (long) Math.ceil(perSecond * seconds - 1e-9);
        } else {
            target = Math.max(0, workerCapacity);
        }
        return (int) Math.max(min, Math.min(max, target));
    }

    private static double seconds(Duration duration) {
        return duration.toMillis() / 1000.0;
    }
}
