package dev.kiln.job;

/** CloudEvents {@code type} values of Kiln's messages. */
public final class EventTypes {

    /** A job was requested on {@code kiln.jobs}. */
    public static final String JOB_REQUESTED = "kiln.job.requested";
    /** A batch was accepted. */
    public static final String BATCH_CREATED = "kiln.batch.created";
    /** A chunk of an accepted batch's jobs on {@code kiln.items} ({@link JobsStaged}). */
    public static final String ITEMS_STAGED = "kiln.batch.items_staged";
    /** Every job of a batch has ended; the last event of a batch on {@code kiln.status}. */
    public static final String BATCH_COMPLETED = "kiln.batch.completed";
    /**
     * A batch was deleted, by its tenant or by the retention: the status view forgets it and
     * ignores its later events ({@link BatchDeleted}).
     */
    public static final String BATCH_DELETED = "kiln.batch.deleted";
    /** Prefix of every job state change. */
    public static final String JOB_PREFIX = "kiln.job.";
    /** The {@code source} of every event Kiln publishes. */
    public static final String SOURCE = "urn:kiln";

    private EventTypes() {
    }

    /** The type of a job entering {@code state}, e.g. {@code kiln.job.running}. */
    public static String job(JobState state) {
        return JOB_PREFIX + state.wireName();
    }
}
