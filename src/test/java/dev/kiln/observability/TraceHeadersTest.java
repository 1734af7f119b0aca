package dev.kiln.observability;

import dev.kiln.messaging.TraceHeaders;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.context.Scope;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** The helper raw producers and Kafka Streams processors use to carry the trace context. */
class TraceHeadersTest {

    private static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
    private static final String SPAN = "00f067aa0ba902b7";

    @Test
    void injectWritesTheCurrentSpanAsTraceparent() {
        SpanContext context = SpanContext.create(TRACE, SPAN, TraceFlags.getSampled(), TraceState.getDefault());
        Headers headers = new RecordHeaders();
        try (Scope ignored = Span.wrap(context).makeCurrent()) {
            TraceHeaders.inject(headers);
        }
        assertThat(value(headers, TraceHeaders.TRACEPARENT)).isEqualTo("00-" + TRACE + "-" + SPAN + "-01");
    }

    @Test
    void injectWritesNothingWithoutASpan() {
        assertThat(TraceHeaders.inject(new RecordHeaders()).toArray()).isEmpty();
    }

    @Test
    void copyCarriesTheStagedRecordsContextOntoTheReleasedOne() {
        Headers staged = new RecordHeaders().add(TraceHeaders.TRACEPARENT, ("00-" + TRACE + "-" + SPAN + "-01").getBytes(StandardCharsets.UTF_8))
                .add("ce_type", "kiln.jobs.staged".getBytes(StandardCharsets.UTF_8));
        Headers released = new RecordHeaders().add("ce_type", "kiln.job.requested".getBytes(StandardCharsets.UTF_8));
        TraceHeaders.copy(staged, released);
        assertThat(value(released, TraceHeaders.TRACEPARENT)).isEqualTo("00-" + TRACE + "-" + SPAN + "-01");
        assertThat(value(released, "ce_type")).as("only the trace headers are copied").isEqualTo("kiln.job.requested");
        assertThat(released.lastHeader(TraceHeaders.TRACESTATE)).isNull();
    }

    private static String value(Headers headers, String name) {
        return headers.lastHeader(name) == null ? null : new String(headers.lastHeader(name).value(), StandardCharsets.UTF_8);
    }
}
