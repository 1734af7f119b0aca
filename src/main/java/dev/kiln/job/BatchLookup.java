package dev.kiln.job;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * What intake may ask of the batches already accepted: whether one exists (an idempotent replay)
 * and when it becomes visible. The status view answers; intake never reads the view itself.
 */
public interface BatchLookup {

    /**
     * The batch, if it is known here.
     *
     * @throws ServiceUnavailableException when the batches cannot be read yet (the view is loading)
     */
    Optional<KnownBatch> find(String batchId);

    /**
     * Waits a short, configured while for {@code batchId} to become readable here, so that the
     * client's first GET finds it; returns whether it did.
     */
    boolean awaitVisible(String batchId);

    /**
     * The job, if it is known here.
     *
     * @throws ServiceUnavailableException when the view is loading
     */
    Optional<KnownJob> findJob(String jobId);

    /**
     * The ids of the batch's jobs that a retry sends back to {@code queued}: those {@code failed}
     * or {@code expired}, in item order.
     *
     * @throws ServiceUnavailableException when the view is loading
     */
    List<String> retryableJobIds(String batchId);

    /**
     * A job, as cancel and retry check it.
     *
     * @param id      job id
     * @param batchId its batch
     * @param state   its state now
     * @param attempt its attempt now
     */
    record KnownJob(String id, String batchId, JobState state, int attempt) {
    }

    /**
     * An accepted batch, as a replay answers it.
     *
     * @param id            batch id
     * @param externalId    the client's own id
     * @param state         its state now
     * @param items         number of jobs
     * @param images        images asked for
     * @param requestSha256 digest of the accepted request, to tell a replay from a different request
     * @param createdAt     when it was accepted
     * @param tenant        its owner
     */
    record KnownBatch(String id, String externalId, BatchState state, int items, long images,
                      String requestSha256, Instant createdAt, String tenant) {
    }
}
