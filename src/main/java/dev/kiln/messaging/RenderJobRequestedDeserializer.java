package dev.kiln.messaging;

import dev.kiln.job.RenderJobRequested;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;

import java.io.IOException;

/** Reads {@link RenderJobRequested} from {@code kiln.jobs} and its retry topics. */
public class RenderJobRequestedDeserializer implements Deserializer<RenderJobRequested> {

    @Override
    public RenderJobRequested deserialize(String topic, byte[] data) {
        try {
            return data == null ? null : KilnJson.MAPPER.readValue(data, RenderJobRequested.class);
        } catch (IOException e) {
            throw new SerializationException("not a render job on " + topic, e);
        }
    }
}
