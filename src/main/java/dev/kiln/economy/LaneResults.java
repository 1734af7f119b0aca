package dev.kiln.economy;

import dev.kiln.job.JobError;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.provider.RenderedImages;

/**
 * Where the economy lane hands each job's result: the worker, which checks, stores and announces
 * it exactly as it does a standard-lane render. Every method is idempotent: a group whose results
 * were handled once may be handled again after a crash, and must not announce or store anything
 * twice in a way anyone pays for.
 */
public interface LaneResults {

    /** The provider rendered {@code images} (decoded into files) for {@code job}, priced at {@code priceFactor}. */
    void rendered(RenderJobRequested job, RenderedImages images, double priceFactor) throws InterruptedException;

    /** The provider refused or failed {@code job}; {@code error.retryable()} says whether another attempt may succeed. */
    void failed(RenderJobRequested job, JobError error) throws InterruptedException;

    /** {@code job} was cancelled before the provider rendered it. */
    void cancelled(RenderJobRequested job, String code) throws InterruptedException;

    /** Whether a cancel covers {@code job} (the worker's tail of {@code kiln.control}). */
    boolean cancelRequested(RenderJobRequested job);
}
