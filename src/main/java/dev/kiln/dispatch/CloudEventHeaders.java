package dev.kiln.dispatch;

import dev.kiln.job.EventTypes;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * The CloudEvents 1.0 binary-mode headers that SmallRye's Kafka connector writes for the
 * publishers ({@code ce_specversion}, {@code ce_id}, {@code ce_source}, {@code ce_type},
 * {@code ce_subject}, {@code ce_time}), written by hand because Kafka Streams forwards plain
 * records. Readers such as the status view find the same headers whichever part wrote the event.
 */
final class CloudEventHeaders {

    static final String SPEC_VERSION = "ce_specversion";
    static final String ID = "ce_id";
    static final String SOURCE = "ce_source";
    static final String TYPE = "ce_type";
    static final String SUBJECT = "ce_subject";
    static final String TIME = "ce_time";

    private CloudEventHeaders() {
    }

    /** Headers of an event of {@code type} about {@code subject}. */
    static Headers of(String id, String type, String subject, Instant time) {
        RecordHeaders headers = new RecordHeaders();
        add(headers, SPEC_VERSION, "1.0");
        add(headers, ID, id);
        add(headers, SOURCE, EventTypes.SOURCE);
        add(headers, TYPE, type);
        add(headers, SUBJECT, subject);
        add(headers, TIME, time.toString());
        return headers;
    }

    /** The value of header {@code name}, or null. */
    static String get(Headers headers, String name) {
        var header = headers.lastHeader(name);
        return header == null || header.value() == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }

    private static void add(Headers headers, String name, String value) {
        headers.add(name, value.getBytes(StandardCharsets.UTF_8));
    }
}
