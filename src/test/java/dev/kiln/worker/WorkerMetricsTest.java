package dev.kiln.worker;

import dev.kiln.job.ImageParameters;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.provider.ProviderFailure;
import dev.kiln.provider.ProviderFailure.Kind;
import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static dev.kiln.worker.FakeWorld.ScriptedProvider.failure;
import static dev.kiln.worker.FakeWorld.ScriptedProvider.png;
import static dev.kiln.worker.FakeWorld.job;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The worker's meters as Prometheus reads them: the call-duration histogram by quality and size
 * class, provider errors and failed jobs by code with bounded tags, and the wiring from a job's
 * processing to those meters (against {@link FakeWorld}).
 */
class WorkerMetricsTest {

    @TempDir
    Path workDir;

    private static final ImageParameters HIGH_4K =
            new ImageParameters("gpt-image-2", "3840x2160", "high", null, "webp", null, null, 1, null);

    @Test
    void callDurationIsAHistogramByQualityAndSizeClass() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        WorkerMetrics metrics = new WorkerMetrics(registry);

        metrics.providerCall(false, HIGH_4K, null, Duration.ofSeconds(70));
        metrics.providerCall(true, null, null, Duration.ofSeconds(3));

        String scrape = registry.scrape().replace(",}", "}");
        assertThat(scrape).contains("kiln_provider_call_duration_seconds_bucket{endpoint=\"generations\","
                + "outcome=\"ok\",quality=\"high\",size=\"8mp\",le=\"90.0\"} 1.0");
        assertThat(scrape).as("below the call's duration, the bucket is empty")
                .contains("kiln_provider_call_duration_seconds_bucket{endpoint=\"generations\","
                        + "outcome=\"ok\",quality=\"high\",size=\"8mp\",le=\"60.0\"} 0.0");
        assertThat(scrape).as("no parameters: quality and size auto")
                .contains("kiln_provider_call_duration_seconds_bucket{endpoint=\"edits\","
                        + "outcome=\"ok\",quality=\"auto\",size=\"auto\",le=\"5.0\"} 1.0");
        assertThat(scrape).doesNotContain("kiln_provider_errors_total");
    }

    @Test
    void failedCallsAndFailedJobsCountByCode() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        WorkerMetrics metrics = new WorkerMetrics(registry);

        metrics.providerCall(false, HIGH_4K, new ProviderFailure(Kind.REJECTED, "moderation_blocked", "no", null),
                Duration.ofSeconds(2));
        metrics.providerCall(false, HIGH_4K, new ProviderFailure(Kind.TRANSIENT, "HTTP 502: Bad Gateway!", "x", null),
                Duration.ofSeconds(2));
        metrics.jobFailed("moderation_blocked");
        metrics.jobFailed(null);

        String scrape = registry.scrape().replace(",}", "}");
        assertThat(scrape).contains(
                "kiln_provider_errors_total{code=\"moderation_blocked\",endpoint=\"generations\",kind=\"rejected\"} 1.0",
                "kiln_provider_errors_total{code=\"http_502_bad_gateway_\",endpoint=\"generations\",kind=\"transient\"} 1.0",
                "kiln_provider_calls_total{endpoint=\"generations\",outcome=\"rejected\"} 1.0",
                "kiln_jobs_failed_total{code=\"moderation_blocked\"} 1.0",
                "kiln_jobs_failed_total{code=\"none\"} 1.0");
    }

    @Test
    void errorCodesBeyondTheCapCountAsOther() {
        WorkerMetrics metrics = new WorkerMetrics(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
        IntStream.range(0, WorkerMetrics.MAX_CODES).forEach(i -> assertThat(metrics.codeTag("code_" + i)).isEqualTo("code_" + i));

        assertThat(metrics.codeTag("one_too_many")).isEqualTo("other");
        assertThat(metrics.codeTag("code_7")).as("a code seen before keeps its tag").isEqualTo("code_7");
        assertThat(metrics.codeTag("x".repeat(200))).hasSize(5).isEqualTo("other");
        assertThat(new WorkerMetrics(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT)).codeTag("y".repeat(200)))
                .as("cut to 48 characters").hasSize(48);
    }

    @Test
    void processingAJobFeedsTheMeters() {
        FakeWorld world = new FakeWorld(workDir);
        world.provider.then(png(1024, 1024));
        world.processor.process(job(1));
        world.provider.then(failure(Kind.REJECTED, "moderation_blocked", "Your request was rejected by the safety system."));
        world.processor.process(new RenderJobRequested("b1-000001", "b1", "default", "SKU-2", 1, "a mug",
                job(1).parameters(), List.of(), null, Map.of(), 1, Instant.now()));

        assertThat(world.registry.get("kiln.provider.call.duration")
                .tags("outcome", "ok", "quality", "low", "size", "1mp", "endpoint", "generations").timer().count()).isEqualTo(1);
        assertThat(world.registry.get("kiln.provider.errors").tags("code", "moderation_blocked", "kind", "rejected")
                .counter().count()).isEqualTo(1);
        assertThat(world.registry.get("kiln.jobs.failed").tags("code", "moderation_blocked").counter().count()).isEqualTo(1);
    }
}
