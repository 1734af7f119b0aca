package dev.kiln.messaging;

/**
 * Kafka topic and channel names. Channels are what the code and tests name; the topics behind
 * them are set in application.properties, so they differ on purpose.
 */
public final class Topics {

    /** Topic of render commands, keyed by job id. */
    public static final String JOBS = "kiln.jobs";
    /** Topic of state changes, keyed by batch id. */
    public static final String STATUS = "kiln.status";
    /**
     * Webhook deliveries and their attempts, keyed by batch id. It must have as many partitions as
     * {@link #STATUS}: the notifier reads both in one Kafka Streams task per partition.
     */
    public static final String WEBHOOKS = "kiln.webhooks";
    /** Dead letters of jobs that could not be handled at all. */
    public static final String JOBS_DLQ = "kiln.jobs.dlq";

    /** Outgoing channel to {@link #JOBS}. */
    public static final String JOBS_OUT = "jobs-out";
    /** Incoming channel from {@link #JOBS} (worker role). */
    public static final String JOBS_IN = "jobs";
    /** Outgoing channel to {@link #STATUS}. */
    public static final String STATUS_OUT = "status-out";

    private Topics() {
    }
}
