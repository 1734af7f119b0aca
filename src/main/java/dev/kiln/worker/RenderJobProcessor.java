package dev.kiln.worker;

import dev.kiln.economy.EconomyLane;
import dev.kiln.job.CancelRequested;
import dev.kiln.job.JobError;
import dev.kiln.job.JobOutput;
import dev.kiln.job.JobState;
import dev.kiln.job.JobStatusChanged;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.storage.RenderCache;
import dev.kiln.job.Usage;
import dev.kiln.messaging.InstanceIdentity;
import dev.kiln.provider.PriceConfig;
import dev.kiln.provider.RenderedImages;
import dev.kiln.reference.FetchedReferences;
import dev.kiln.reference.ReferenceException;
import dev.kiln.reference.ReferenceFetcher;
import dev.kiln.storage.OutputUploader;
import dev.kiln.storage.OutputUploader.StoredResult;
import io.quarkus.logging.Log;
import jakarta.enterprise.context.ApplicationScoped;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * One delivery of a job, as the order of its steps: look for stored outputs, announce
 * {@code running}, fetch the references, render within the limits, check, keep the render on
 * disk, store it, announce {@code succeeded}. It returns a {@link JobOutcome}, decided by
 * {@link RetryPolicy}, and throws nothing; every outcome but {@link JobOutcome.LeftForRedelivery}
 * has been announced on {@code kiln.status} (awaited), so the job's offset, committed once
 * {@link RenderWorker} acknowledges it, never runs ahead of what the status topic says.
 *
 * <p>Two rules keep a paid render from being paid again: a job whose outputs are all stored is
 * only announced again, and a render is kept in the job's work folder until it is stored, however
 * long S3 is away, so that only a job that moves to another worker before its upload is rendered
 * twice.
 */
@ApplicationScoped
public class RenderJobProcessor {

    private final OutputUploader outputs;
    private final ReferenceFetcher references;
    private final ProviderCalls calls;
    private final OutputChecker checker;
    private final WorkFolders folders;
    private final PatientCalls patiently;
    private final RetryPolicy policy;
    private final PriceConfig prices;
    private final WorkerMetrics metrics;
    private final InstanceIdentity instance;
    private final Cancels cancels;
    private final CachedRenders cache;
    private final InFlightLimiter slots;
    private final EconomyLane economy;

    public RenderJobProcessor(OutputUploader outputs, ReferenceFetcher references, ProviderCalls calls,
                              OutputChecker checker, WorkFolders folders, PatientCalls patiently, RetryPolicy policy,
                              PriceConfig prices, WorkerMetrics metrics, InstanceIdentity instance, Cancels cancels,
                              CachedRenders cache, InFlightLimiter slots, EconomyLane economy) {
        this.outputs = outputs;
        this.references = references;
        this.calls = calls;
        this.checker = checker;
        this.folders = folders;
        this.patiently = patiently;
        this.policy = policy;
        this.prices = prices;
        this.metrics = metrics;
        this.instance = instance;
        this.cancels = cancels;
        this.cache = cache;
        this.slots = slots;
        this.economy = economy;
    }

    /** Processes one delivery of {@code job}; never throws. */
    public JobOutcome process(RenderJobRequested job) {
        JobOutcome outcome;
        try {
            outcome = steps(job);
        } catch (JobAbandoned | InterruptedException e) {
            outcome = new JobOutcome.LeftForRedelivery(e.getMessage());
        } catch (RuntimeException e) {
            // A bug or an unforeseen failure must not strand the job: it costs an attempt.
            Log.errorf(e, "job %s: unexpected failure", job.jobId());
            outcome = concludeQuietly(job, policy.afterUnexpected(job, e));
        }
        folders.release(job, outcome instanceof JobOutcome.LeftForRedelivery);
        metrics.jobEnded(ended(outcome));
        return outcome;
    }

    private JobOutcome steps(RenderJobRequested job) throws JobAbandoned, InterruptedException {
        // Never pay twice: a job whose outputs are stored (a redelivery) is only announced again.
        Optional<StoredResult> earlier = patiently.storage(job, Step.LOOK_FOR_STORED, retry -> outputs.findComplete(job));
        if (earlier.isPresent()) {
            return conclude(job, new JobOutcome.Succeeded(earlier.get().images(), earlier.get().usage(), true,
                    earlier.get().cached()));
        }
        // Released before a cancel and not started yet: never started, so never paid for.
        Optional<CancelRequested> cancel = cancels.covering(job);
        if (cancel.isPresent()) {
            return conclude(job, new JobOutcome.Cancelled(cancel.get().reason() == null ? "cancelled" : cancel.get().reason()));
        }
        // The render cache, before any permit: a hit is copied, never rendered or paid for.
        Optional<RenderCache.Keyed> renderKey = folders.kept(job).isPresent() ? Optional.empty() : cache.keyOf(job);
        Optional<JobOutcome> hit = cache.serve(job, renderKey);
        if (hit.isPresent()) {
            return conclude(job, hit.get());
        }
        // The economy lane: the OpenAI Batch API renders it within 24 h at half price, and the
        // lane announces the result; no rate permit and no slot are taken.
        if (economy.takes(job)) {
            patiently.announce(job, Step.ANNOUNCE_RUNNING,
                    JobStatusChanged.of(job, JobState.RUNNING).withHolder(instance.id(), Instant.now()));
            try {
                economy.submit(job);
            } catch (EconomyLane.NotSubmittedException e) {
                return conclude(job, policy.afterFailedAttempt(job, new JobError("economy_lane_unavailable", e.getMessage(), true)));
            }
            return new JobOutcome.HandedToLane();
        }
        // Only the in-flight target's worth of jobs start at once; the rest wait here, not yet
        // announced, so the dispatcher still counts them as not started. The slot is given back
        // as soon as the call has ended.
        try (InFlightLimiter.Slot slot = slots.acquire(job)) {
            return started(job, slot, renderKey);
        }
    }

    private JobOutcome started(RenderJobRequested job, InFlightLimiter.Slot slot, Optional<RenderCache.Keyed> renderKey)
            throws JobAbandoned, InterruptedException {
        patiently.announce(job, Step.ANNOUNCE_RUNNING,
                JobStatusChanged.of(job, JobState.RUNNING).withHolder(instance.id(), Instant.now()));

        // A render this worker made but could not store before it stopped is stored, not paid again.
        Optional<WorkFolders.Render> kept = folders.kept(job);
        WorkFolders.Render render;
        if (kept.isPresent()) {
            render = kept.get();
        } else {
            Path folder = folders.fresh(job);
            // References before any permit: a bad one costs neither a call nor a slot of the rate.
            FetchedReferences inputs;
            try {
                inputs = patiently.storage(job, Step.FETCH_REFERENCES, retry -> references.fetch(job, folder));
            } catch (ReferenceException e) {
                return conclude(job, policy.afterReferenceFailure(job, e));
            }
            RenderedImages images;
            ProviderCalls.Result result = calls.render(job, inputs, folder);
            slot.close();
            switch (result) {
                case ProviderCalls.Ended(JobOutcome outcome) -> {
                    return conclude(job, outcome);
                }
                case ProviderCalls.Rendered(RenderedImages answer) -> images = answer;
            }
            switch (checker.check(job, images)) {
                case OutputCheck.Rejected(String code, String message) -> {
                    return conclude(job, policy.afterWrongOutput(job, code, message));
                }
                case OutputCheck.Passed(var checked) -> render = folders.keep(job, checked, usageOf(checked.size(), images));
            }
        }

        // However long S3 is away, the render waits on disk and is never thrown away.
        WorkFolders.Render toStore = render;
        List<JobOutput> stored = patiently.storage(job, Step.STORE,
                retry -> outputs.storeAll(job, toStore.images(), toStore.usage(), retry));
        cache.remember(job, renderKey, stored, render.usage());
        return conclude(job, new JobOutcome.Succeeded(stored, render.usage(), false, false, renderKey.orElse(null)));
    }

    /** Announces the outcome (but for {@link JobOutcome.LeftForRedelivery}) and returns it. */
    private JobOutcome conclude(RenderJobRequested job, JobOutcome outcome) throws JobAbandoned, InterruptedException {
        switch (outcome) {
            case JobOutcome.Succeeded s -> {
                JobStatusChanged succeeded = JobStatusChanged.of(job, JobState.SUCCEEDED).withResult(s.outputs(), s.usage());
                if (s.cached()) {
                    succeeded = succeeded.withCached();
                } else if (s.recordedAs() != null) {
                    succeeded = succeeded.withRenderKey(s.recordedAs().key(), s.recordedAs().sha256ByReference());
                }
                patiently.announce(job, Step.ANNOUNCE_RESULT, succeeded);
                if (!s.alreadyStored() && !s.cached()) {
                    metrics.rendered(s.usage());
                }
            }
            case JobOutcome.RetryLater r -> patiently.announce(job, Step.ANNOUNCE_RESULT,
                    JobStatusChanged.of(job.nextAttempt(), JobState.QUEUED).withError(r.reason()));
            case JobOutcome.Failed f -> {
                Log.warnf("job %s failed at attempt %d: %s", job.jobId(), job.attempt(), f.error().message());
                patiently.announce(job, Step.ANNOUNCE_RESULT, JobStatusChanged.of(job, JobState.FAILED).withError(f.error()));
                metrics.jobFailed(f.error().code());
            }
            case JobOutcome.Cancelled c -> patiently.announce(job, Step.ANNOUNCE_RESULT, JobStatusChanged.of(job, JobState.CANCELLED)
                    .withError(new JobError(c.code(), "cancelled before it started", false)));
            case JobOutcome.LeftForRedelivery l -> {
            }
            case JobOutcome.HandedToLane h -> {
            }
        }
        return outcome;
    }

    private JobOutcome concludeQuietly(RenderJobRequested job, JobOutcome outcome) {
        try {
            return conclude(job, outcome);
        } catch (JobAbandoned | InterruptedException e) {
            return new JobOutcome.LeftForRedelivery(e.getMessage());
        }
    }

    private Usage usageOf(int images, RenderedImages rendered) {
        return new Usage(images, rendered.usage().textInputTokens(), rendered.usage().imageInputTokens(),
                rendered.usage().outputTokens(), prices.cost(rendered.usage()), rendered.usage().cachedInputTokens(), 0);
    }

    private static WorkerMetrics.Ended ended(JobOutcome outcome) {
        return switch (outcome) {
            case JobOutcome.Succeeded s -> s.cached() ? WorkerMetrics.Ended.CACHED
                    : s.alreadyStored() ? WorkerMetrics.Ended.ALREADY_STORED : WorkerMetrics.Ended.SUCCEEDED;
            case JobOutcome.RetryLater r -> WorkerMetrics.Ended.RETRIED;
            case JobOutcome.Failed f -> WorkerMetrics.Ended.FAILED;
            case JobOutcome.Cancelled c -> WorkerMetrics.Ended.CANCELLED;
            case JobOutcome.LeftForRedelivery l -> WorkerMetrics.Ended.LEFT_FOR_REDELIVERY;
            case JobOutcome.HandedToLane h -> WorkerMetrics.Ended.HANDED_TO_LANE;
        };
    }
}
