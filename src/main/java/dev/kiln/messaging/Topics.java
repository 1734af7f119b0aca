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
     * Staged jobs of accepted batches, keyed by batch id, read by the dispatcher. One partition, so
     * that one active dispatcher task sees every tenant's backlog and shares fairly across all.
     */
    public static final String ITEMS = "kiln.items";
    /**
     * Cancel and retry commands, keyed by batch id. One partition, co-partitioned with
     * {@link #ITEMS}; workers tail it to skip cancelled jobs they have not started.
     */
    public static final String CONTROL = "kiln.control";
    /**
     * Webhook deliveries and their attempts, keyed by batch id. It must have as many partitions as
     * {@link #STATUS}: the notifier reads both in one Kafka Streams task per partition.
     */
    public static final String WEBHOOKS = "kiln.webhooks";
    /** Dead letters of jobs that could not be handled at all. */
    public static final String JOBS_DLQ = "kiln.jobs.dlq";
    /** Compacted topic of tenants, keyed by tenant id: key hashes, quotas, sealed webhook secrets. */
    public static final String TENANTS = "kiln.tenants";
    /**
     * Compacted topic of the economy lane's groups, keyed by Kiln's group id: the jobs of each
     * OpenAI batch and its id, so that a restarted worker reattaches instead of submitting again.
     */
    public static final String PROVIDER_BATCHES = "kiln.provider-batches";

    /** Outgoing channel to {@link #JOBS}. */
    public static final String JOBS_OUT = "jobs-out";
    /** Incoming channel from {@link #JOBS} (worker role). */
    public static final String JOBS_IN = "jobs";
    /** Outgoing channel to {@link #STATUS}. */
    public static final String STATUS_OUT = "status-out";

    private Topics() {
    }
}
