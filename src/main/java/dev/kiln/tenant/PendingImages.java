package dev.kiln.tenant;

/**
 * How many images a tenant has accepted and not yet ended, for the {@code max_pending_images}
 * quota and {@code GET /v1/tenant}. The status view answers (it folds every state change).
 */
@FunctionalInterface
public interface PendingImages {

    /** The tenant's images queued or rendering now. */
    long pendingImages(String tenant);
}
