package dev.kiln.dispatch;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Each tenant's {@code ipm_share_cap}: a tenant never has more than {@code cap × KILN_RATE_IPM}
 * images released in any sliding minute. A capped tenant is skipped when the scheduler picks the
 * next job, so the others go on and its jobs stay pending until its minute has room again.
 * Without an organisation rate (0) no cap applies, and a cap of 1 (the default) is never
 * checked: the whole organisation's rate is the most anybody can use anyway.
 * <p>
 * The minute is in memory only: after the dispatcher's task restarts (a restart, a failover,
 * a rebalance) every tenant's minute starts empty, so a capped tenant may get up to one more
 * minute's allowance at that moment. That is the price of keeping it out of the transactional
 * stores; the cap bounds the rate, not a budget.
 */
final class TenantRateCaps {

    private static final long MINUTE_MS = 60_000;

    private final TenantWeights tenants;
    private final double rateIpm;
    private final Map<String, Minute> minutes = new HashMap<>();

    /**
     * @param tenants each tenant's {@link TenantWeights#ipmShareCap cap}, read at every decision so that a changed cap applies at once
     * @param rateIpm the organisation's images per minute; 0 or less means no cap applies
     */
    TenantRateCaps(TenantWeights tenants, double rateIpm) {
        this.tenants = tenants;
        this.rateIpm = rateIpm;
    }

    /**
     * Whether {@code tenant} may have a job of {@code images} released at {@code nowMs}. A job
     * larger than the whole allowance goes once the tenant's minute is empty, so that it is
     * slowed rather than stuck for ever.
     */
    boolean allows(String tenant, int images, long nowMs) {
        double limit = limit(tenant);
        if (Double.isInfinite(limit)) {
            return true;
        }
        Minute minute = minutes.get(tenant);
        if (minute == null) {
            return true;
        }
        minute.forget(nowMs);
        return minute.images == 0 || minute.images + images <= limit + 1e-9;
    }

    /** Counts a released job against its tenant's minute. */
    void released(String tenant, int images, long nowMs) {
        if (Double.isInfinite(limit(tenant))) {
            minutes.remove(tenant); // uncapped (again): nothing to remember
            return;
        }
        minutes.computeIfAbsent(tenant, t -> new Minute()).add(nowMs, images);
    }

    /** Images per minute {@code tenant} may have released; infinite when no cap applies. */
    double limit(String tenant) {
        double cap = tenants.ipmShareCap(tenant);
        if (rateIpm <= 0 || cap >= 1.0) {
            return Double.POSITIVE_INFINITY;
        }
        return Math.max(0, cap) * rateIpm;
    }

    /** Releases of one tenant within the last minute: (time, images) pairs, oldest first. */
    private static final class Minute {
        final ArrayDeque<long[]> releases = new ArrayDeque<>();
        long images;

        void add(long nowMs, int count) {
            releases.addLast(new long[] {nowMs, count});
            images += count;
        }

        void forget(long nowMs) {
            while (!releases.isEmpty() && releases.peekFirst()[0] <= nowMs - MINUTE_MS) {
                images -= releases.pollFirst()[1];
            }
        }
    }
}
