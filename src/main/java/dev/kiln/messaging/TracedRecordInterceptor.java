package dev.kiln.messaging;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.smallrye.reactive.messaging.kafka.api.IncomingKafkaRecordMetadata;
import jakarta.annotation.Priority;
import jakarta.interceptor.AroundInvoke;
import jakarta.interceptor.Interceptor;
import jakarta.interceptor.InvocationContext;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Runs a {@link TracedRecord} method in a span that continues the record's trace. */
@TracedRecord
@Interceptor
@Priority(Interceptor.Priority.LIBRARY_AFTER)
public class TracedRecordInterceptor {

    private static final TextMapGetter<Headers> GETTER = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Headers headers) {
            List<String> keys = new ArrayList<>();
            headers.forEach(h -> keys.add(h.key()));
            return keys;
        }

        @Override
        public String get(Headers headers, String key) {
            Header header = headers == null ? null : headers.lastHeader(key);
            return header == null || header.value() == null ? null : new String(header.value(), StandardCharsets.UTF_8);
        }
    };

    private final OpenTelemetry openTelemetry;

    public TracedRecordInterceptor(OpenTelemetry openTelemetry) {
        this.openTelemetry = openTelemetry;
    }

    @AroundInvoke
    Object around(InvocationContext invocation) throws Exception {
        IncomingKafkaRecordMetadata<?, ?> record = null;
        for (Object parameter : invocation.getParameters()) {
            if (parameter instanceof IncomingKafkaRecordMetadata<?, ?> metadata) {
                record = metadata;
            } else if (parameter instanceof org.eclipse.microprofile.reactive.messaging.Message<?> message) {
                record = message.getMetadata(IncomingKafkaRecordMetadata.class).orElse(null);
            }
        }
        if (record == null) {
            return invocation.proceed();
        }
        Context parent = openTelemetry.getPropagators().getTextMapPropagator()
                .extract(Context.current(), record.getHeaders(), GETTER);
        if (!Span.fromContext(parent).getSpanContext().isValid()) {
            // No trace to continue: tracing is off (OTEL_SDK_DISABLED, no traceparent written) or the
            // sender did not trace. No span, so no exemplar lands on the meters the render records.
            return invocation.proceed();
        }
        Span span = openTelemetry.getTracer("dev.kiln.messaging").spanBuilder(record.getTopic() + " process")
                .setParent(parent).setSpanKind(SpanKind.CONSUMER)
                .setAttribute("messaging.system", "kafka")
                .setAttribute("messaging.destination.name", record.getTopic())
                .setAttribute("messaging.kafka.message.key", String.valueOf(record.getKey()))
                .startSpan();
        try (Scope ignored = span.makeCurrent()) {
            return invocation.proceed();
        } catch (Exception | Error e) {
            span.recordException(e);
            span.setStatus(StatusCode.ERROR);
            throw e;
        } finally {
            span.end();
        }
    }
}
