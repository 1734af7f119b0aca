package dev.kiln.messaging;

import dev.kiln.job.EventTypes;
import io.smallrye.reactive.messaging.ce.OutgoingCloudEventMetadata;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import org.eclipse.microprofile.reactive.messaging.Message;

import java.net.URI;

/** Builds Kiln's outgoing Kafka messages: a record key and CloudEvents attributes (sent as {@code ce_*} headers). */
public final class KafkaMessages {

    private KafkaMessages() {
    }

    /** A message of {@code payload} keyed by {@code key}, of CloudEvents {@code type} about {@code subject}. */
    public static <T> Message<T> of(T payload, String key, String id, String type, String subject) {
        return Message.of(payload)
                .addMetadata(OutgoingKafkaRecordMetadata.<String>builder().withKey(key).build())
                .addMetadata(OutgoingCloudEventMetadata.builder()
                        .withId(id)
                        .withSource(URI.create(EventTypes.SOURCE))
                        .withType(type)
                        .withSubject(subject)
                        .build());
    }
}
