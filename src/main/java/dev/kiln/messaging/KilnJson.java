package dev.kiln.messaging;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;

/**
 * The one JSON dialect of Kiln: snake_case names, ISO-8601 times, unknown fields ignored (so an
 * older reader survives a newer writer). REST, Kafka values and the status view all use it.
 */
public final class KilnJson {

    /** A mapper configured the Kiln way, for code that has no CDI at hand (Kafka serdes). */
    public static final ObjectMapper MAPPER = configure(new ObjectMapper());

    private KilnJson() {
    }

    /** Applies Kiln's settings to {@code mapper}. */
    public static ObjectMapper configure(ObjectMapper mapper) {
        return mapper
                .registerModule(new JavaTimeModule())
                .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                .setSerializationInclusion(JsonInclude.Include.NON_NULL)
                .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    }
}
