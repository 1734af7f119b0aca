package dev.kiln.worker;

import dev.kiln.job.ImageParameters;
import dev.kiln.job.Usage;
import dev.kiln.provider.LatencyTracker.LatencyClass;
import dev.kiln.provider.ProviderFailure;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.enterprise.context.ApplicationScoped;

import java.time.Duration;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What the worker did, for dashboards and alerts, on {@code /q/metrics}: provider calls by
 * endpoint and outcome with their duration (a histogram by quality and size class), provider
 * errors and failed jobs by error code, jobs by how they ended, and images, tokens and dollars
 * spent. Ops alert on {@code outcome="unauthorized"} and on a rising share of
 * {@code rate_limited}, and read spend per hour from {@code kiln_cost_usd_total}.
 *
 * <p>Tags stay bounded: the size is the latency class's bucket ({@code 1mp} … {@code 8mp},
 * {@code auto}), never the raw {@code WxH}; an error code is cut to a tag-safe word, and past
 * {@value #MAX_CODES} distinct codes the rest count as {@code other}, so a provider that puts
 * free text in its codes cannot grow the series without bound.
 */
@ApplicationScoped
public class WorkerMetrics {

    /** How one delivery of a job ended. */
    public enum Ended { SUCCEEDED, ALREADY_STORED, CACHED, FAILED, RETRIED, CANCELLED, LEFT_FOR_REDELIVERY, HANDED_TO_LANE }

    /** More distinct error codes than this (per process) are counted as {@code other}. */
    static final int MAX_CODES = 50;

    /**
     * Bucket bounds of the call-duration histogram. gpt-image-2 answers in roughly 10 s (low,
     * 1 MP) to two minutes (high, 4K); fixed bounds over that range give p50/p95 to within a
     * bucket with 15 series per tag set, where Micrometer's generic percentile histogram has ~70.
     */
    private static final Duration[] CALL_BUCKETS = {Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(5),
            Duration.ofSeconds(10), Duration.ofSeconds(15), Duration.ofSeconds(20), Duration.ofSeconds(30),
            Duration.ofSeconds(45), Duration.ofSeconds(60), Duration.ofSeconds(90), Duration.ofSeconds(120),
            Duration.ofSeconds(180), Duration.ofSeconds(300), Duration.ofSeconds(600)};

    private final Set<String> codes = ConcurrentHashMap.newKeySet();
    private final MeterRegistry registry;
    private final Counter images;
    private final Counter cost;
    private final Counter textTokens;
    private final Counter imageInputTokens;
    private final Counter outputTokens;

    public WorkerMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.images = Counter.builder("kiln.images.rendered").description("Images rendered and stored").register(registry);
        this.cost = Counter.builder("kiln.cost.usd").description("Cost of rendered images under the price table")
                .baseUnit("usd").register(registry);
        this.textTokens = tokens("text_input");
        this.imageInputTokens = tokens("image_input");
        this.outputTokens = tokens("output");
    }

    /**
     * One provider call ended.
     *
     * @param edit       whether it was an edit (else a generation)
     * @param parameters the job's image parameters, for the quality and size tags
     * @param failure    null for an answer with images
     * @param took       how long the call took
     */
    public void providerCall(boolean edit, ImageParameters parameters, ProviderFailure failure, Duration took) {
        String endpoint = edit ? "edits" : "generations";
        String outcome = failure == null ? "ok" : failure.kind().name().toLowerCase(Locale.ROOT);
        LatencyClass latencyClass = LatencyClass.of(parameters);
        Counter.builder("kiln.provider.calls").description("Calls to the Images API by endpoint and outcome")
                .tag("endpoint", endpoint).tag("outcome", outcome).register(registry).increment();
        Timer.builder("kiln.provider.call.duration")
                .description("Duration of calls to the Images API, by endpoint, outcome, quality and size class")
                .tag("endpoint", endpoint).tag("outcome", outcome)
                .tag("quality", latencyClass.quality()).tag("size", latencyClass.sizeTag())
                .serviceLevelObjectives(CALL_BUCKETS)
                .register(registry).record(took);
        if (failure != null) {
            Counter.builder("kiln.provider.errors").description("Failed calls to the Images API by endpoint, kind and error code")
                    .tag("endpoint", endpoint).tag("kind", outcome).tag("code", codeTag(failure.code()))
                    .register(registry).increment();
        }
    }

    /** A job ended {@code failed}, with the code of its error. */
    public void jobFailed(String code) {
        Counter.builder("kiln.jobs.failed").description("Jobs that ended failed, by error code")
                .tag("code", codeTag(code)).register(registry).increment();
    }

    /** An error code as a bounded tag value: a lower-case word of at most 48 characters, or {@code other}. */
    String codeTag(String code) {
        if (code == null || code.isBlank()) {
            return "none";
        }
        String tag = code.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_]+", "_");
        tag = tag.length() > 48 ? tag.substring(0, 48) : tag;
        if (codes.contains(tag) || (codes.size() < MAX_CODES && codes.add(tag))) {
            return tag;
        }
        return "other";
    }

    /** One delivery of a job ended. */
    public void jobEnded(Ended outcome) {
        Counter.builder("kiln.jobs.ended").description("Job deliveries by how they ended")
                .tag("outcome", outcome.name().toLowerCase(Locale.ROOT)).register(registry).increment();
    }

    /** A job's images were stored; what they consumed and cost. */
    public void rendered(Usage usage) {
        images.increment(usage.images());
        cost.increment(usage.costUsd());
        textTokens.increment(usage.textInputTokens());
        imageInputTokens.increment(usage.imageInputTokens());
        outputTokens.increment(usage.outputTokens());
    }

    private Counter tokens(String kind) {
        return Counter.builder("kiln.tokens").description("Tokens the provider reported, by kind")
                .tag("kind", kind).register(registry);
    }
}
