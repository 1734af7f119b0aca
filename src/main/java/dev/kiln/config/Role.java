package dev.kiln.config;

/** The parts of Kiln one process runs; the same artifact runs any of them, so each scales on its own. */
public enum Role {
    /** REST intake and the status view. */
    API,
    /** The Kafka Streams application that holds pending jobs and releases them fairly. */
    DISPATCHER,
    /** Kafka consumer that renders jobs. */
    WORKER,
    /** All of them, as in the local run. */
    ALL;

    /** Whether this role serves the REST API and the status view. */
    public boolean runsApi() {
        return this == API || this == ALL;
    }

    /** Whether this role runs the dispatcher. */
    public boolean runsDispatcher() {
        return this == DISPATCHER || this == ALL;
    }

    /** Whether this role consumes and renders jobs. */
    public boolean runsWorker() {
        return this == WORKER || this == ALL;
    }

    /** Parses {@code api}, {@code dispatcher}, {@code worker} or {@code all}, ignoring case. */
    public static Role parse(String value) {
        if (value == null || value.isBlank()) {
            return ALL;
        }
        try {
            return valueOf(value.trim().toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("KILN_ROLE must be api, dispatcher, worker or all, not '" + value + "'", e);
        }
    }
}
