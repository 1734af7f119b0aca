package dev.kiln.worker;

import dev.kiln.provider.ProviderFailure;
import dev.kiln.job.Usage;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.enterprise.context.ApplicationScoped;

import java.time.Duration;
import java.util.Locale;

/**
 * What the worker did, for dashboards and alerts, on {@code /q/metrics}: provider calls by
 * endpoint and outcome with their duration, jobs by how they ended, and images, tokens and
 * dollars spent. Ops alert on {@code outcome="unauthorized"} and on a rising share of
 * {@code rate_limited}, and read spend per hour from {@code kiln_cost_usd_total}.
 */
@ApplicationScoped
public class WorkerMetrics {

    /** How one delivery of a job ended. */
    public enum Ended { SUCCEEDED, ALREADY_STORED, CACHED, FAILED, RETRIED, CANCELLED, LEFT_FOR_REDELIVERY, HANDED_TO_LANE }

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

    /** One provider call ended: {@code failure} is null for an answer with images. */
    public void providerCall(boolean edit, ProviderFailure.Kind failure, Duration took) {
        String endpoint = edit ? "edits" : "generations";
        String tag = failure == null ? "ok" : failure.name().toLowerCase(Locale.ROOT);
        Counter.builder("kiln.provider.calls").description("Calls to the Images API by endpoint and outcome")
                .tag("endpoint", endpoint).tag("outcome", tag).register(registry).increment();
        Timer.builder("kiln.provider.call.duration").description("Duration of calls to the Images API")
                .tag("endpoint", endpoint).tag("outcome", tag).register(registry).record(took);
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
