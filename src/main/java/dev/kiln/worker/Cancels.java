package dev.kiln.worker;

import dev.kiln.job.CancelRequested;
import dev.kiln.job.RenderJobRequested;

import java.util.Optional;

/**
 * What the processor asks before it starts a job: does a cancel cover it? {@link CancelledJobs}
 * answers from {@code kiln.control}; the fast tests answer from a fake.
 */
public interface Cancels {

    /** The cancel that stops {@code job} before it starts, if any. */
    Optional<CancelRequested> covering(RenderJobRequested job);
}
