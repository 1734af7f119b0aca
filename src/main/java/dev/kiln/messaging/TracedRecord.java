package dev.kiln.messaging;

import jakarta.interceptor.InterceptorBinding;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * On an {@code @Incoming} method that takes an {@code IncomingKafkaRecordMetadata}: runs the method
 * inside a {@code <topic> process} span whose parent is the record's {@code traceparent}, so that
 * the spans it starts (the provider call, the S3 put) join the trace of whoever sent the record.
 * SmallRye's own receive span is not made current for payload methods, so without this they would
 * each start a trace of their own. See {@link TracedRecordInterceptor}.
 */
@InterceptorBinding
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.METHOD, ElementType.TYPE})
public @interface TracedRecord {
}
