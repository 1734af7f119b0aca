package dev.kiln.worker;

import dev.kiln.job.RenderJobRequested;
import dev.kiln.provider.ImagesProvider;
import dev.kiln.provider.LatencyTracker;
import dev.kiln.provider.ProviderAccess;
import dev.kiln.provider.ProviderAnswer;
import dev.kiln.provider.ProviderFailure;
import dev.kiln.provider.RenderPermits;
import dev.kiln.provider.RenderedImages;
import dev.kiln.provider.TokenPermits;
import dev.kiln.reference.FetchedReferences;
import jakarta.enterprise.context.ApplicationScoped;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * One render of a job within the organisation's limits: wait while the key is refused, take a
 * rate permit, call the provider, and wait out 429s, none of which spends an attempt. Every wait
 * gives up when the worker starts to stop; a call already made is let finish.
 */
@ApplicationScoped
public class ProviderCalls {

    private final ImagesProvider provider;
    private final RenderPermits permits;
    private final ProviderAccess access;
    private final RetryPolicy policy;
    private final GracefulShutdown shutdown;
    private final WorkerMetrics metrics;
    private final InFlightJobs inFlight;
    private final LatencyTracker latencies;
    private final TokenPermits tokens;

    public ProviderCalls(ImagesProvider provider, RenderPermits permits, ProviderAccess access, RetryPolicy policy,
                         GracefulShutdown shutdown, WorkerMetrics metrics, InFlightJobs inFlight, LatencyTracker latencies,
                         TokenPermits tokens) {
        this.tokens = tokens;
        this.provider = provider;
        this.permits = permits;
        this.access = access;
        this.policy = policy;
        this.shutdown = shutdown;
        this.metrics = metrics;
        this.inFlight = inFlight;
        this.latencies = latencies;
    }

    /** What a render came to. */
    sealed interface Result {
    }

    /** Images on disk, not checked yet. */
    record Rendered(RenderedImages images) implements Result {
    }

    /** The provider failed in a way that ends this delivery, as {@link RetryPolicy} decided. */
    record Ended(JobOutcome outcome) implements Result {
    }

    Result render(RenderJobRequested job, FetchedReferences inputs, Path folder) throws JobAbandoned, InterruptedException {
        while (true) {
            inFlight.step(job.jobId(), Step.AWAIT_KEY);
            if (!access.awaitAuthorized(shutdown::isDraining)) {
                throw new JobAbandoned(job.jobId(), Step.AWAIT_KEY);
            }
            inFlight.step(job.jobId(), Step.AWAIT_PERMIT);
            // Tokens first: a call held back by TPM must not sit on an image permit meanwhile.
            TokenPermits.Reservation reserved = tokens.acquire(TokenPermits.estimate(job), shutdown::isDraining);
            if (reserved == null) {
                throw new JobAbandoned(job.jobId(), Step.AWAIT_PERMIT);
            }
            Optional<RenderPermits.Permit> permit = permits.acquire(job.imageCount(), shutdown::isDraining);
            if (permit.isEmpty() || shutdown.isDraining()) {
                tokens.release(reserved);
                permit.ifPresent(permits::ended);   // granted, never sent: the buckets keep no room for it
                throw new JobAbandoned(job.jobId(), Step.AWAIT_PERMIT);
            }
            inFlight.step(job.jobId(), Step.CALL_PROVIDER);
            long started = System.nanoTime();
            // The latency the in-flight target plans with is learned from these calls.
            LatencyTracker.Call timing = latencies.start(LatencyTracker.LatencyClass.of(job.parameters()));
            ProviderAnswer answer;
            RenderPermits.Permit granted = permit.get();
            // The permits count the call from the moment it goes out, as the provider does when it arrives.
            Runnable sent = () -> {
                permits.sent(granted);
                tokens.sent(reserved);
            };
            try {
                answer = inputs.isEdit()
                        ? provider.edit(ImagesProvider.userOf(job.tenant()), job.prompt(), job.parameters(), inputs, folder, sent)
                        : provider.generate(ImagesProvider.userOf(job.tenant()), job.prompt(), job.parameters(), folder, sent);
            } finally {
                timing.ended();
                // Answered or failed, the call has gone out if it ever will.
                permits.ended(granted);
                tokens.ended(reserved);
            }
            Duration took = Duration.ofNanos(System.nanoTime() - started);
            switch (answer) {
                case ProviderAnswer.Rendered(RenderedImages images) -> {
                    latencies.record(LatencyTracker.LatencyClass.of(job.parameters()), took);
                    metrics.providerCall(inputs.isEdit(), job.parameters(), null, took);
                    permits.onAnswered(images.limits(), granted);
                    tokens.settle(reserved, images.usage());
                    tokens.onAnswered(images.tokens());
                    return new Rendered(images);
                }
                case ProviderAnswer.Failed(ProviderFailure failure) -> {
                    metrics.providerCall(inputs.isEdit(), job.parameters(), failure, took);
                    // A call the provider refused (429, 400, 401/403) took no tokens: they go back. A
                    // transient failure may have reached the provider and been counted (a timeout or a
                    // cut answer after it rendered), so its reservation stays spent: giving it back
                    // could put this worker ahead of the provider's own count and cost 429s.
                    if (failure.kind() != ProviderFailure.Kind.TRANSIENT) {
                        tokens.release(reserved);
                    }
                    switch (policy.afterProviderFailure(job, failure)) {
                        case RetryPolicy.Decision.Conclude(JobOutcome outcome) -> {
                            return new Ended(outcome);
                        }
                        case RetryPolicy.Decision.CallAgainAfter(Duration wait) -> {
                            permits.onRateLimited();
                            inFlight.step(job.jobId(), Step.AWAIT_RATE_LIMIT);
                            if (!shutdown.sleepUnlessDraining(wait)) {
                                throw new JobAbandoned(job.jobId(), Step.AWAIT_RATE_LIMIT);
                            }
                        }
                        case RetryPolicy.Decision.AwaitKey(String reason) -> access.revoke(reason);
                    }
                }
            }
        }
    }
}
