package dev.kiln.dispatch;

import dev.kiln.job.BatchCommand;
import dev.kiln.job.JobsStaged;
import dev.kiln.messaging.JsonSerde;
import dev.kiln.messaging.KilnJson;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

import java.io.IOException;

/** Kiln JSON serdes for the dispatcher's topics and stores. */
final class DispatchSerdes {

    private DispatchSerdes() {
    }

    /** Reads {@code kiln.items}. */
    static Deserializer<JobsStaged> staged() {
        return reader(JobsStaged.class);
    }

    /** Reads {@code kiln.control}. */
    static Deserializer<BatchCommand> commands() {
        return reader(BatchCommand.class);
    }

    /** Writes {@code kiln.jobs} and {@code kiln.status} values the way the publishers do. */
    @SuppressWarnings("unchecked")
    static <T> Serializer<T> writer() {
        return (Serializer<T>) new JsonSerde.JsonSerializer();
    }

    /** A serde of one store value type. */
    static <T> Serde<T> of(Class<T> type) {
        return Serdes.serdeFrom(writer(), reader(type));
    }

    private static <T> Deserializer<T> reader(Class<T> type) {
        return (topic, data) -> {
            try {
                return data == null ? null : KilnJson.MAPPER.readValue(data, type);
            } catch (IOException e) {
                throw new SerializationException("not a " + type.getSimpleName() + " on " + topic, e);
            }
        };
    }
}
