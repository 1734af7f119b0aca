package dev.kiln.job;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

import java.util.Locale;

/**
 * The life of one job: {@code queued -> running -> succeeded | failed | cancelled | expired}. A
 * retry goes from {@code running} back to {@code queued} with the attempt raised by one. The
 * dispatcher ends pending jobs {@code cancelled} (a cancel) or {@code expired} (the batch's
 * deadline passed before they started).
 */
public enum JobState {
    // Append new states at the end: the status view stores a job's state as its ordinal (StoredJob).
    QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED, EXPIRED;

    /** Whether no further change can follow. */
    public boolean isTerminal() {
        return this == SUCCEEDED || this == FAILED || this == CANCELLED || this == EXPIRED;
    }

    /**
     * Whether an event moving a job from this state (at {@code attempt}) to {@code next} (at
     * {@code nextAttempt}) is news. Events from different producers can arrive late, so the view
     * keeps only forward moves: a later attempt always wins, and within one attempt the state
     * only advances. A terminal state is never left, except that {@code succeeded} may be
     * re-reported by a redelivered job (same outputs, so it is accepted as news), and that a
     * client's retry sends a {@code failed} or {@code expired} job back to {@code queued} with
     * fresh attempts (attempt 1 again, hence whatever its attempt).
     */
    public boolean acceptsMove(int attempt, JobState next, int nextAttempt) {
        if ((this == FAILED || this == EXPIRED) && next == QUEUED) {
            return true;
        }
        if (this == SUCCEEDED || this == CANCELLED || this == EXPIRED) {
            return false;
        }
        if (this == FAILED) {
            // A failed job only comes back when a redelivery finds its output after all.
            return next == SUCCEEDED;
        }
        if (nextAttempt != attempt) {
            return nextAttempt > attempt;
        }
        return next.ordinal() > ordinal();
    }

    /** The lower-case wire name. */
    @JsonValue
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses a wire name such as {@code queued}. */
    @JsonCreator
    public static JobState fromWire(String name) {
        return valueOf(name.toUpperCase(Locale.ROOT));
    }
}
