package dev.kiln.worker;

import dev.kiln.job.JobError;
import dev.kiln.job.JobOutput;
import dev.kiln.job.Usage;
import dev.kiln.storage.RenderCache;

import java.time.Duration;
import java.util.List;

/**
 * How one delivery of a job ended, as {@link RenderJobProcessor} decides it with
 * {@link RetryPolicy}. Every outcome but {@link LeftForRedelivery} has already been announced on
 * {@code kiln.status}; {@link RenderWorker} alone turns it into ack, retry or hold.
 */
public sealed interface JobOutcome {

    /**
     * The images are stored and {@code succeeded} is announced: ack. {@code cached}: the render
     * cache served them (copied, zero cost). {@code recordedAs}: the render key a fresh render was
     * recorded under in the cache, announced with it so that the dispatcher knows the tenant has it; null otherwise.
     */
    record Succeeded(List<JobOutput> outputs, Usage usage, boolean alreadyStored, boolean cached,
                     RenderCache.Keyed recordedAs) implements JobOutcome {

        Succeeded(List<JobOutput> outputs, Usage usage, boolean alreadyStored, boolean cached) {
            this(outputs, usage, alreadyStored, cached, null);
        }

        Succeeded(List<JobOutput> outputs, Usage usage, boolean alreadyStored) {
            this(outputs, usage, alreadyStored, false, null);
        }
    }

    /**
     * This attempt failed and another may succeed; {@code queued} with the next attempt number is
     * announced: the job goes back to the dispatcher, which releases it again after {@code delay}
     * (plus jitter), ahead of fresh work.
     */
    record RetryLater(JobError reason, Duration delay) implements JobOutcome {
    }

    /** The job failed for good and {@code failed} is announced with the reason: ack. */
    record Failed(JobError error) implements JobOutcome {
    }

    /** A cancel reached the job before it started; {@code cancelled} is announced with {@code code}: ack. */
    record Cancelled(String code) implements JobOutcome {
    }

    /**
     * The worker is stopping and the job did not finish here; nothing is announced and no
     * attempt is spent: hold it unacknowledged so that Kafka delivers it again. Images rendered
     * but not yet stored stay in this worker's work folder under the job id.
     */
    record LeftForRedelivery(String reason) implements JobOutcome {
    }

    /**
     * The economy lane holds the job: its provider batch is on record on
     * {@code kiln.provider-batches}, and the lane announces the result when the batch ends: ack.
     */
    record HandedToLane() implements JobOutcome {
    }
}
