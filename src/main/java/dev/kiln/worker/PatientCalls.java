package dev.kiln.worker;

import dev.kiln.job.JobStatusChanged;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.messaging.StatusPublisher;
import dev.kiln.storage.StorageException;
import dev.kiln.storage.StorageHealth;
import io.quarkus.logging.Log;
import jakarta.enterprise.context.ApplicationScoped;

import java.time.Duration;

/**
 * The calls of a job to S3 and to Kafka, which wait out an outage instead of failing the job.
 * Storage and the broker are the worker's own infrastructure: their faults are not the job's, so
 * they never spend an attempt or send a job towards the dead-letter topic. The job keeps its slot
 * and tries again with {@link RetryPolicy#backoff(int)} for as long as it is held; when the
 * worker starts to stop, the wait gives up ({@link JobAbandoned}) and the job is delivered again.
 * The outage itself is logged once, by {@link StorageHealth}, not once per job.
 */
@ApplicationScoped
public class PatientCalls {

    /** How long one status send may take before it is tried again; the producer keeps its own order. */
    private static final Duration SEND_TIMEOUT = Duration.ofSeconds(30);

    private final RetryPolicy policy;
    private final GracefulShutdown shutdown;
    private final StorageHealth storageHealth;
    private final StatusPublisher status;
    private final InFlightJobs inFlight;

    public PatientCalls(RetryPolicy policy, GracefulShutdown shutdown, StorageHealth storageHealth,
                        StatusPublisher status, InFlightJobs inFlight) {
        this.policy = policy;
        this.shutdown = shutdown;
        this.storageHealth = storageHealth;
        this.status = status;
        this.inFlight = inFlight;
    }

    /** A storage call that is told whether an earlier try of it failed. */
    @FunctionalInterface
    public interface StorageCall<T> {
        T call(boolean afterFailure);
    }

    /** Runs {@code call} until S3 answers it, backing off between tries. */
    <T> T storage(RenderJobRequested job, Step step, StorageCall<T> call) throws JobAbandoned, InterruptedException {
        inFlight.step(job.jobId(), step);
        for (int failures = 0; ; failures++) {
            try {
                return call.call(failures > 0);
            } catch (StorageException e) {
                Log.debugf("job %s: storage failed to %s (try %d): %s", job.jobId(), step.description(), failures + 1, e.getMessage());
                pause(job, step, failures + 1);
                storageHealth.retried();
            }
        }
    }

    /** Publishes a status event, trying again until Kafka holds it. */
    void announce(RenderJobRequested job, Step step, JobStatusChanged event) throws JobAbandoned, InterruptedException {
        inFlight.step(job.jobId(), step);
        for (int failures = 0; ; failures++) {
            try {
                status.jobChanged(event).await().atMost(SEND_TIMEOUT);
                return;
            } catch (RuntimeException e) {
                if (Thread.interrupted()) {
                    throw new InterruptedException("interrupted while announcing " + event.state() + " of " + job.jobId());
                }
                Log.warnf("job %s: announcing %s failed (try %d), trying again: %s", job.jobId(),
                        event.state().name().toLowerCase(java.util.Locale.ROOT), failures + 1, e.toString());
                pause(job, step, failures + 1);
            }
        }
    }

    private void pause(RenderJobRequested job, Step step, int failures) throws JobAbandoned, InterruptedException {
        if (!shutdown.sleepUnlessDraining(policy.backoff(failures))) {
            throw new JobAbandoned(job.jobId(), step);
        }
    }
}
