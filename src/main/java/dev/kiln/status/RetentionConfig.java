package dev.kiln.status;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;

/** How long ended batches are kept, and the sweep that deletes them (api role). */
@ConfigMapping(prefix = "kiln.retention")
public interface RetentionConfig {

    /**
     * How long a batch is kept after it ended (env {@code KILN_RETENTION}, an ISO-8601 duration);
     * then it is deleted like {@code DELETE /v1/batches/{id}}: its objects, its manifest and its
     * place in the view. A batch that has not ended is never deleted by the retention.
     */
    @WithDefault("P30D")
    Duration period();

    /** How often each api replica looks for batches past the retention, and for late objects of deleted ones. */
    @WithDefault("PT10M")
    Duration sweepInterval();

    /**
     * How long after a delete the sweep deletes the batch's objects again: a render already in flight
     * at the delete is stored when it ends (at most the longest provider timeout, 6 minutes, later).
     */
    @WithDefault("PT1H")
    Duration lateObjectsWindow();

    /** Most batches one sweep deletes, so that a first sweep over a long history does not run for hours; the next sweep goes on. */
    @WithDefault("1000")
    int batchesPerSweep();
}
