package dev.kiln.worker;

import dev.kiln.image.CheckedImage;
import dev.kiln.provider.ImagesApiClient;
import dev.kiln.provider.PriceConfig;
import dev.kiln.provider.ProviderAccess;
import dev.kiln.provider.ProviderException;
import dev.kiln.provider.RenderedImages;
import dev.kiln.storage.OutputUploader;
import dev.kiln.job.JobError;
import dev.kiln.job.JobState;
import dev.kiln.job.JobStatusChanged;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.job.JobOutput;
import dev.kiln.job.Usage;
import dev.kiln.messaging.StatusPublisher;
import dev.kiln.provider.RenderPermits;
import dev.kiln.reference.FetchedReferences;
import dev.kiln.reference.ReferenceException;
import dev.kiln.reference.ReferenceFetcher;
import io.quarkus.logging.Log;
import jakarta.enterprise.context.ApplicationScoped;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Renders one job end to end: skip it if its outputs already exist, announce it running, fetch
 * and check its reference images (an edit), wait for a rate permit, call the provider, check and
 * store the images, announce the result. Each
 * status event is awaited, so the job's offset (committed after this returns) never runs ahead
 * of what {@code kiln.status} says.
 */
@ApplicationScoped
public class RenderJobProcessor {

    private final ImagesApiClient provider;
    private final OutputChecker checker;
    private final OutputUploader outputs;
    private final StatusPublisher status;
    private final RenderPermits permits;
    private final PriceConfig prices;
    private final WorkerConfig config;
    private final ProviderAccess access;
    private final ReferenceFetcher references;
    private final WorkerMetrics metrics;
    private final GracefulShutdown shutdown;

    public RenderJobProcessor(ImagesApiClient provider, OutputChecker checker, OutputUploader outputs,
                              StatusPublisher status, RenderPermits permits, PriceConfig prices,
                              WorkerConfig config, ProviderAccess access, ReferenceFetcher references,
                              WorkerMetrics metrics, GracefulShutdown shutdown) {
        this.provider = provider;
        this.checker = checker;
        this.outputs = outputs;
        this.status = status;
        this.permits = permits;
        this.prices = prices;
        this.config = config;
        this.access = access;
        this.references = references;
        this.metrics = metrics;
        this.shutdown = shutdown;
    }

    /**
     * Processes one delivery of {@code job}.
     *
     * @throws RetryLaterException when the attempt failed but another may succeed
     * @throws InterruptedException when the worker is shutting down mid-call; the job is redelivered
     * @throws AbandonedAtShutdownException when shutdown began before the provider was called
     */
    public void process(RenderJobRequested job) throws InterruptedException {
        Optional<OutputUploader.StoredResult> earlier = outputs.findComplete(job);
        if (earlier.isPresent()) {
            // Never pay twice: a redelivery of a rendered job only repeats its announcement.
            status.jobChangedAndWait(JobStatusChanged.of(job, JobState.SUCCEEDED)
                    .withResult(earlier.get().images(), earlier.get().usage()));
            metrics.jobEnded(WorkerMetrics.JobOutcome.ALREADY_STORED);
            return;
        }
        status.jobChangedAndWait(JobStatusChanged.of(job, JobState.RUNNING));
        Path workDir = createWorkDir(job);
        try {
            // After the never-pay-twice check above, before any permit: a bad reference costs
            // neither a provider call nor a slot of the organisation's rate.
            FetchedReferences inputs = references.fetch(job, workDir);
            RenderedImages rendered = renderRespectingLimits(job, inputs, workDir);
            List<CheckedImage> checked = checker.check(job, rendered);
            Usage usage = new Usage(checked.size(), rendered.usage().textInputTokens(),
                    rendered.usage().imageInputTokens(), rendered.usage().outputTokens(), prices.cost(rendered.usage()));
            List<JobOutput> stored = new ArrayList<>();
            for (CheckedImage image : checked) {
                stored.add(outputs.put(job, image, usage));
            }
            status.jobChangedAndWait(JobStatusChanged.of(job, JobState.SUCCEEDED).withResult(stored, usage));
            metrics.rendered(usage);
            metrics.jobEnded(WorkerMetrics.JobOutcome.SUCCEEDED);
        } catch (ProviderException e) {
            if (ImagesApiClient.INTERRUPTED.equals(e.code())) {
                // Shutdown ended the call, not the provider: no attempt is spent and no status is
                // published; the job stays unacknowledged and is delivered again.
                InterruptedException interrupted = new InterruptedException("render of " + job.jobId() + " abandoned at shutdown");
                interrupted.initCause(e);
                throw interrupted;
            }
            if (e.kind() == ProviderException.Kind.REJECTED) {
                fail(job, e.code(), e.getMessage());
                return;
            }
            retryOrFail(job, new JobError(e.code(), e.getMessage(), true), e);
        } catch (ReferenceException e) {
            if (!e.retryable()) {
                fail(job, e.code(), e.getMessage());
                return;
            }
            retryOrFail(job, new JobError(e.code(), e.getMessage(), true), e);
        } catch (dev.kiln.storage.StorageException e) {
            retryOrFail(job, new JobError("storage_error", e.getMessage(), true), e);
        } finally {
            deleteQuietly(workDir);
        }
    }

    /** Calls the provider, waiting out 429s, which never count as attempts. */
    private RenderedImages renderRespectingLimits(RenderJobRequested job, FetchedReferences inputs, Path workDir)
            throws InterruptedException {
        while (true) {
            // Waits for the key or a permit can be long; a call not made yet is not worth
            // finishing at shutdown, so each wait gives up when the worker starts draining.
            abandonIfShuttingDown(job);
            access.awaitAuthorized(() -> abandonIfShuttingDown(job));
            permits.acquire(job.imageCount(), () -> abandonIfShuttingDown(job));
            abandonIfShuttingDown(job);
            long started = System.nanoTime();
            try {
                RenderedImages rendered = inputs.isEdit()
                        ? provider.edit(job.tenant(), job.prompt(), job.parameters(), inputs, workDir)
                        : provider.generate(job.tenant(), job.prompt(), job.parameters(), workDir);
                permits.onAnswered(rendered.limits());
                metrics.providerCall(inputs.isEdit(), null, Duration.ofNanos(System.nanoTime() - started));
                return rendered;
            } catch (ProviderException e) {
                if (!ImagesApiClient.INTERRUPTED.equals(e.code())) {
                    // A call cut off by shutdown says nothing about the provider.
                    metrics.providerCall(inputs.isEdit(), e.kind(), Duration.ofNanos(System.nanoTime() - started));
                }
                switch (e.kind()) {
                    case RATE_LIMITED -> {
                        Duration wait = e.retryAfter().orElse(config.maxRateLimitWait().dividedBy(6));
                        wait = wait.compareTo(config.maxRateLimitWait()) > 0 ? config.maxRateLimitWait() : wait;
                        permits.onRateLimited();
                        shutdown.sleepUnlessDraining(wait.plusMillis((long) (Math.random() * 250)));
                    }
                    case UNAUTHORIZED -> access.revoke(e.getMessage());
                    default -> throw e;
                }
            }
        }
    }

    /** Announces that the job failed for good: the error is final, never retried. */
    private void fail(RenderJobRequested job, String code, String message) {
        status.jobChangedAndWait(JobStatusChanged.of(job, JobState.FAILED).withError(new JobError(code, message, false)));
        metrics.jobEnded(WorkerMetrics.JobOutcome.FAILED);
    }

    private void abandonIfShuttingDown(RenderJobRequested job) {
        if (shutdown.isDraining()) {
            throw new AbandonedAtShutdownException(job.jobId());
        }
    }

    private void retryOrFail(RenderJobRequested job, JobError error, RuntimeException cause) {
        if (job.attempt() >= config.maxAttempts()) {
            Log.warnf("job %s failed after %d attempts: %s", job.jobId(), job.attempt(), error.message());
            fail(job, error.code(), error.message());
            return;
        }
        RenderJobRequested next = job.nextAttempt();
        status.jobChangedAndWait(JobStatusChanged.of(next, JobState.QUEUED).withError(error));
        metrics.jobEnded(WorkerMetrics.JobOutcome.RETRIED);
        throw new RetryLaterException(job.jobId() + " attempt " + job.attempt() + ": " + error.message(), cause);
    }

    private Path createWorkDir(RenderJobRequested job) {
        try {
            Path root = Files.createDirectories(Path.of(config.workDir()));
            return Files.createTempDirectory(root, job.jobId() + "-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a work folder under " + config.workDir(), e);
        }
    }

    private static void deleteQuietly(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            Log.debugf("could not remove %s: %s", dir, e.getMessage());
        }
    }
}
