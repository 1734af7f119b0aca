package dev.kiln.worker;

/**
 * The worker began to stop while a job waited (for a permit, a 429, the key, S3 or Kafka): the
 * wait gives up, and {@link RenderJobProcessor} ends the job {@link JobOutcome.LeftForRedelivery}.
 * Thrown by the waits of the worker package and caught once, in {@link RenderJobProcessor#process}.
 */
final class JobAbandoned extends Exception {

    JobAbandoned(String jobId, Step step) {
        super("job " + jobId + " left for redelivery while it waited to " + step.description()
                + ": the worker is stopping", null, false, false);
    }
}
