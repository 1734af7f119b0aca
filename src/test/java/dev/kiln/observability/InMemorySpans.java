package dev.kiln.observability;

import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/**
 * An in-memory span exporter as a CDI bean: Quarkus' OpenTelemetry (traces exporter {@code cdi})
 * exports to every {@code SpanExporter} bean. Present in every test application, but it only
 * receives spans where a test turns the SDK on ({@link TraceAcrossProcessesTest}).
 */
@ApplicationScoped
public class InMemorySpans {

    @Produces
    @Singleton
    InMemorySpanExporter exporter() {
        return InMemorySpanExporter.create();
    }
}
