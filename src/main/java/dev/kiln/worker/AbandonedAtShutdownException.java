package dev.kiln.worker;

/**
 * A job that had not called the provider yet when shutdown began: it is not started, and
 * {@link RenderWorker} holds it unacknowledged so that Kafka delivers it again.
 */
public class AbandonedAtShutdownException extends RuntimeException {

    public AbandonedAtShutdownException(String jobId) {
        super("job " + jobId + " left for redelivery: the worker is shutting down", null, false, false);
    }
}
