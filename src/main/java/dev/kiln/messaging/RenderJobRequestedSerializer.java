package dev.kiln.messaging;

import dev.kiln.job.RenderJobRequested;

/**
 * Writes {@link RenderJobRequested}. SmallRye's delayed-retry producer looks for the serialiser
 * named like the consumer's deserialiser, so this name mirrors {@link RenderJobRequestedDeserializer}.
 */
public class RenderJobRequestedSerializer extends JsonSerde.JsonSerializer {
}
