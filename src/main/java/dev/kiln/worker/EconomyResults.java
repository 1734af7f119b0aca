package dev.kiln.worker;

import dev.kiln.economy.LaneResults;
import dev.kiln.job.JobError;
import dev.kiln.job.JobOutput;
import dev.kiln.job.JobState;
import dev.kiln.job.JobStatusChanged;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.storage.RenderCache;
import dev.kiln.job.Usage;
import dev.kiln.messaging.JobPublisher;
import dev.kiln.provider.PriceConfig;
import dev.kiln.provider.RenderedImages;
import dev.kiln.storage.OutputUploader;
import dev.kiln.storage.OutputUploader.StoredResult;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.List;
import java.util.Optional;

/**
 * The worker's end of the economy lane: each result of a provider batch is checked, stored and
 * announced exactly as a standard-lane render is (the same {@link OutputChecker}, uploader, render
 * cache and status events), priced at the lane's share of the standard price. A retryable failure
 * goes back to {@code kiln.jobs} at its next attempt (and so through the lane again), while
 * attempts remain.
 */
@ApplicationScoped
public class EconomyResults implements LaneResults {

    private final OutputChecker checker;
    private final OutputUploader outputs;
    private final PatientCalls patiently;
    private final RetryPolicy policy;
    private final PriceConfig prices;
    private final WorkerMetrics metrics;
    private final Cancels cancels;
    private final CachedRenders cache;
    private final JobPublisher jobs;

    public EconomyResults(OutputChecker checker, OutputUploader outputs, PatientCalls patiently, RetryPolicy policy,
                          PriceConfig prices, WorkerMetrics metrics, Cancels cancels, CachedRenders cache, JobPublisher jobs) {
        this.checker = checker;
        this.outputs = outputs;
        this.patiently = patiently;
        this.policy = policy;
        this.prices = prices;
        this.metrics = metrics;
        this.cancels = cancels;
        this.cache = cache;
        this.jobs = jobs;
    }

    @Override
    public void rendered(RenderJobRequested job, RenderedImages images, double priceFactor) throws InterruptedException {
        try {
            // A group handled again after a crash: its outputs are stored, announce them again.
            Optional<StoredResult> earlier = patiently.storage(job, Step.LOOK_FOR_STORED, retry -> outputs.findComplete(job));
            if (earlier.isPresent()) {
                announce(job, JobStatusChanged.of(job, JobState.SUCCEEDED).withResult(earlier.get().images(), earlier.get().usage()));
                return;
            }
            switch (checker.check(job, images)) {
                case OutputCheck.Rejected(String code, String message) -> failed(job, new JobError(code, message, true));
                case OutputCheck.Passed(var checked) -> {
                    Usage usage = new Usage(checked.size(), images.usage().textInputTokens(),
                            images.usage().imageInputTokens(), images.usage().outputTokens(),
                            prices.cost(images.usage()) * priceFactor, images.usage().cachedInputTokens(), 0);
                    List<JobOutput> stored = patiently.storage(job, Step.STORE,
                            retry -> outputs.storeAll(job, checked, usage, retry));
                    Optional<RenderCache.Keyed> key = cache.keyOf(job);
                    cache.remember(job, key, stored, usage);
                    JobStatusChanged succeeded = JobStatusChanged.of(job, JobState.SUCCEEDED).withResult(stored, usage);
                    announce(job, key.map(k -> succeeded.withRenderKey(k.key(), k.sha256ByReference())).orElse(succeeded));
                    metrics.rendered(usage);
                }
            }
        } catch (JobAbandoned e) {
            throw new InterruptedException("the worker is stopping: " + e.getMessage());
        }
    }

    @Override
    public void failed(RenderJobRequested job, JobError error) throws InterruptedException {
        JobOutcome outcome = error.retryable() ? policy.afterFailedAttempt(job, error)
                : new JobOutcome.Failed(new JobError(error.code(), error.message(), false));
        switch (outcome) {
            case JobOutcome.RetryLater r -> {
                announce(job, JobStatusChanged.of(job.nextAttempt(), JobState.QUEUED).withError(r.reason()));
                jobs.publish(job.nextAttempt()).await().indefinitely();
            }
            case JobOutcome.Failed f -> announce(job, JobStatusChanged.of(job, JobState.FAILED).withError(f.error()));
            default -> throw new IllegalStateException("unexpected outcome " + outcome);
        }
    }

    @Override
    public void cancelled(RenderJobRequested job, String code) throws InterruptedException {
        String reason = cancels.covering(job).map(c -> c.reason() == null ? code : c.reason()).orElse(code);
        announce(job, JobStatusChanged.of(job, JobState.CANCELLED)
                .withError(new JobError(reason, "cancelled before the provider rendered it", false)));
    }

    @Override
    public boolean cancelRequested(RenderJobRequested job) {
        return cancels.covering(job).isPresent();
    }

    private void announce(RenderJobRequested job, JobStatusChanged event) throws InterruptedException {
        try {
            patiently.announce(job, Step.ANNOUNCE_RESULT, event);
        } catch (JobAbandoned e) {
            throw new InterruptedException("the worker is stopping: " + e.getMessage());
        }
    }
}
