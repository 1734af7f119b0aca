package dev.kiln.config;

import io.prometheus.client.exemplars.ExemplarSampler;
import jakarta.annotation.Priority;
import jakarta.enterprise.inject.Alternative;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

import java.util.Optional;

/**
 * No exemplars on {@code /q/metrics}. With quarkus-opentelemetry present, Quarkus' Prometheus
 * registry would append {@code # {span_id=…,trace_id=…}} to samples recorded inside a span, even
 * while the SDK is off and those spans go nowhere; that breaks readers of the plain text format.
 * Traces and metrics meet through the trace id in the log lines instead.
 */
@Singleton
public class NoMetricExemplars {

    @Produces
    @Singleton
    @Alternative
    @Priority(1)
    Optional<ExemplarSampler> exemplarSampler() {
        return Optional.empty();
    }
}
