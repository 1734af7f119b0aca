package dev.kiln.status;

import dev.kiln.config.KilnConfig;
import dev.kiln.job.BatchDeleted;
import dev.kiln.job.ServiceUnavailableException;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * {@code KILN_RETENTION}: every {@code kiln.retention.sweep-interval}, each api replica deletes
 * the batches that ended longer ago than the retention ({@link BatchDeletion}, as a tenant's
 * delete does), and deletes once more the objects of batches deleted within
 * {@code kiln.retention.late-objects-window} (renders that were in flight at the delete).
 * Replicas sweep independently: a batch two of them delete at once gets two
 * {@code kiln.batch.deleted} events, which the view folds as one, and S3 deletes are idempotent.
 */
@ApplicationScoped
public class RetentionSweeper {

    private final StatusView view;
    private final BatchDeletion deletion;
    private final RetentionConfig config;
    private final boolean enabled;
    private final Clock clock = Clock.systemUTC();
    private ScheduledExecutorService executor;

    public RetentionSweeper(StatusView view, BatchDeletion deletion, RetentionConfig config, KilnConfig kiln) {
        this.view = view;
        this.deletion = deletion;
        this.config = config;
        this.enabled = kiln.parsedRole().runsApi();
    }

    void start(@Observes StartupEvent event) {
        if (!enabled) {
            return;
        }
        executor = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("kiln-retention").daemon().factory());
        long every = config.sweepInterval().toMillis();
        executor.scheduleWithFixedDelay(this::sweepQuietly, every, every, TimeUnit.MILLISECONDS);
    }

    void stop(@Observes ShutdownEvent event) {
        if (executor != null) {
            executor.shutdownNow();
        }
    }

    private void sweepQuietly() {
        try {
            sweep();
        } catch (ServiceUnavailableException e) {
            // The view is loading, or Kafka or S3 is down: the next sweep tries again.
            Log.debugf("retention sweep skipped: %s", e.getMessage());
        } catch (RuntimeException e) {
            Log.warnf("retention sweep failed, the next one tries again: %s", e.toString());
        }
    }

    /** One sweep; returns how many batches it deleted. */
    int sweep() {
        Instant now = clock.instant();
        List<BatchView> expired = view.finishedBefore(now.minus(config.period()), config.batchesPerSweep());
        for (BatchView batch : expired) {
            deletion.delete(batch, BatchDeleted.BY_RETENTION);
        }
        for (BatchDeleted recent : view.deletedSince(now.minus(config.lateObjectsWindow()))) {
            int late = deletion.deleteObjects(recent.tenant(), recent.batchId());
            if (late > 0) {
                Log.infof("deleted %d objects stored after batch %s was deleted", late, recent.batchId());
            }
        }
        return expired.size();
    }
}
