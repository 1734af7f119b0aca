package dev.kiln.job;

import java.time.Instant;
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
     * An accepted batch, as a replay answers it.
     *
     * @param id            batch id
     * @param externalId    the client's own id
     * @param state         its state now
     * @param items         number of jobs
     * @param images        images asked for
     * @param requestSha256 digest of the accepted request, to tell a replay from a different request
     * @param createdAt     when it was accepted
     */
    record KnownBatch(String id, String externalId, BatchState state, int items, long images,
                      String requestSha256, Instant createdAt) {
    }
}
