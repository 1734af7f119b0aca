package dev.kiln.messaging;

import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapSetter;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

import java.nio.charset.StandardCharsets;

/**
 * W3C trace context ({@code traceparent}, {@code tracestate}) on Kafka records that SmallRye's
 * channels do not write: raw {@code KafkaProducer}s and Kafka Streams processors. SmallRye's
 * emitters and incoming channels propagate it on their own once OpenTelemetry is on. With the SDK
 * off ({@code OTEL_SDK_DISABLED}, the default), there is no current span and nothing is written.
 */
public final class TraceHeaders {

    /** The W3C header that carries trace id, parent span id and flags. */
    public static final String TRACEPARENT = "traceparent";
    /** The W3C header for vendor state, copied with it. */
    public static final String TRACESTATE = "tracestate";

    private static final TextMapSetter<Headers> SETTER = (headers, key, value) -> {
        if (headers != null) {
            headers.remove(key);
            headers.add(key, value.getBytes(StandardCharsets.UTF_8));
        }
    };

    private TraceHeaders() {
    }

    /** Writes the current span's context into {@code to}: one line before a raw {@code producer.send}. */
    public static Headers inject(Headers to) {
        W3CTraceContextPropagator.getInstance().inject(Context.current(), to, SETTER);
        return to;
    }

    /**
     * Copies the trace context of a consumed record onto one written on its behalf: one line in a
     * Kafka Streams processor that builds new headers (the dispatcher's release), so that the
     * trace goes on from the record that caused it.
     */
    public static Headers copy(Headers from, Headers to) {
        for (String name : new String[] {TRACEPARENT, TRACESTATE}) {
            Header header = from == null ? null : from.lastHeader(name);
            if (header != null) {
                to.remove(name);
                to.add(name, header.value());
            }
        }
        return to;
    }
}
