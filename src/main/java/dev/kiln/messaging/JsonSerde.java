package dev.kiln.messaging;

import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serializer;

import java.io.IOException;

/** Kafka serialisers for Kiln's JSON messages. */
public final class JsonSerde {

    private JsonSerde() {
    }

    /** Writes any message as Kiln JSON. */
    public static class JsonSerializer implements Serializer<Object> {
        @Override
        public byte[] serialize(String topic, Object data) {
            try {
                return data == null ? null : KilnJson.MAPPER.writeValueAsBytes(data);
            } catch (IOException e) {
                throw new SerializationException("cannot write " + data.getClass().getSimpleName(), e);
            }
        }
    }
}
