package dev.kiln.messaging;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.jackson.ObjectMapperCustomizer;
import jakarta.inject.Singleton;

/** Gives Quarkus's own mapper (REST bodies) the settings of {@link KilnJson}. */
@Singleton
public class KilnObjectMapperCustomizer implements ObjectMapperCustomizer {

    @Override
    public void customize(ObjectMapper mapper) {
        KilnJson.configure(mapper);
    }
}
