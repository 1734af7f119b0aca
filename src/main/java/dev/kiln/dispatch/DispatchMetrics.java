package dev.kiln.dispatch;

import dev.kiln.job.Priority;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The dispatcher's meters. Only the instance that holds the active task reports a backlog; a
 * standby reports zero, so a sum over instances is the backlog (autoscaling, dashboards).
 * <ul>
 *   <li>{@code kiln_dispatcher_pending_images{tenant}}: images waiting per tenant;</li>
 *   <li>{@code kiln_dispatcher_backlog_images}, {@code kiln_dispatcher_backlog_jobs}: in all;</li>
 *   <li>{@code kiln_dispatcher_released_total{tenant,priority}}: jobs released to {@code kiln.jobs};</li>
 *   <li>{@code kiln_dispatcher_dwell_seconds{tenant}}: from staged (or re-queued) to released;</li>
 *   <li>{@code kiln_dispatcher_cancelled_total{tenant}}, {@code kiln_dispatcher_expired_total{tenant}};</li>
 *   <li>{@code kiln_dispatcher_window_target}, {@code kiln_dispatcher_window_unstarted}: the window and its use.</li>
 * </ul>
 */
final class DispatchMetrics {

    private final MeterRegistry registry;
    private final Map<String, AtomicLong> pendingByTenant = new ConcurrentHashMap<>();
    private final AtomicLong backlogImages = new AtomicLong();
    private final AtomicLong backlogJobs = new AtomicLong();
    private final AtomicLong windowTarget = new AtomicLong();
    private final AtomicLong windowUnstarted = new AtomicLong();

    DispatchMetrics(MeterRegistry registry) {
        this.registry = registry;
        Gauge.builder("kiln.dispatcher.backlog.images", backlogImages, AtomicLong::get)
                .description("Images pending in the dispatcher, in all").register(registry);
        Gauge.builder("kiln.dispatcher.backlog.jobs", backlogJobs, AtomicLong::get)
                .description("Jobs pending in the dispatcher, in all").register(registry);
        Gauge.builder("kiln.dispatcher.window.target", windowTarget, AtomicLong::get)
                .description("Released jobs allowed to wait unstarted").register(registry);
        Gauge.builder("kiln.dispatcher.window.unstarted", windowUnstarted, AtomicLong::get)
                .description("Released jobs no worker has started").register(registry);
    }

    void released(String tenant, Priority priority, long dwellMs) {
        Counter.builder("kiln.dispatcher.released").description("Jobs released to kiln.jobs")
                .tag("tenant", tenant).tag("priority", priority.wireName()).register(registry).increment();
        Timer.builder("kiln.dispatcher.dwell").description("Time from staged to released")
                .tag("tenant", tenant).publishPercentileHistogram().register(registry)
                .record(Duration.ofMillis(Math.max(0, dwellMs)));
    }

    void cancelled(String tenant) {
        Counter.builder("kiln.dispatcher.cancelled").description("Pending jobs ended cancelled")
                .tag("tenant", tenant).register(registry).increment();
    }

    void expired(String tenant) {
        Counter.builder("kiln.dispatcher.expired").description("Pending jobs ended expired")
                .tag("tenant", tenant).register(registry).increment();
    }

    /** Publishes the backlog after a change; tenants with nothing pending read zero. */
    void backlog(Map<String, Long> imagesByTenant, long images, long jobs) {
        imagesByTenant.forEach((tenant, pending) -> pendingGauge(tenant).set(pending));
        pendingByTenant.forEach((tenant, gauge) -> {
            if (!imagesByTenant.containsKey(tenant)) {
                gauge.set(0);
            }
        });
        backlogImages.set(images);
        backlogJobs.set(jobs);
    }

    void window(int target, int unstarted) {
        windowTarget.set(target);
        windowUnstarted.set(unstarted);
    }

    /** The task left this instance: it holds no backlog any more. */
    void reset() {
        backlog(Map.of(), 0, 0);
        window(0, 0);
    }

    private AtomicLong pendingGauge(String tenant) {
        return pendingByTenant.computeIfAbsent(tenant, t -> {
            AtomicLong value = new AtomicLong();
            Gauge.builder("kiln.dispatcher.pending.images", value, AtomicLong::get)
                    .description("Images pending in the dispatcher per tenant").tag("tenant", t).register(registry);
            return value;
        });
    }
}
