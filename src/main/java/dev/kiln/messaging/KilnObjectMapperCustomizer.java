package dev.kiln.messaging;

import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.type.LogicalType;
import io.quarkus.jackson.ObjectMapperCustomizer;
import jakarta.inject.Singleton;

/**
 * Gives Quarkus's own mapper (REST bodies) the settings of {@link KilnJson}, and the limits of
 * what a client may send: nesting depth, string, number and name lengths. Over a limit Jackson
 * stops reading at once (StreamConstraintsException), answered 400 problem+json with the line
 * and column; arrays are bounded by the body size and {@code kiln.intake.max-items}.
 */
@Singleton
public class KilnObjectMapperCustomizer implements ObjectMapperCustomizer {

    /** Deep enough for any metadata a catalogue needs, far below a stack's reach; a prompt is 32,000 characters. */
    static final StreamReadConstraints REQUEST_LIMITS = StreamReadConstraints.builder()
            .maxNestingDepth(64)
            .maxStringLength(1_000_000)
            .maxNumberLength(100)
            .maxNameLength(10_000)
            .build();

    @Override
    public void customize(ObjectMapper mapper) {
        KilnJson.configure(mapper);
        mapper.getFactory().setStreamReadConstraints(REQUEST_LIMITS);
        // A wrong type is a 400, not a guess: no true, 7 or 1.5 taken for a string, no "3" or 1.5 for a number.
        mapper.coercionConfigFor(LogicalType.Textual)
                .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail)
                .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
                .setCoercion(CoercionInputShape.Float, CoercionAction.Fail);
        mapper.coercionConfigFor(LogicalType.Integer)
                .setCoercion(CoercionInputShape.String, CoercionAction.Fail)
                .setCoercion(CoercionInputShape.Float, CoercionAction.Fail);
        mapper.coercionConfigFor(LogicalType.Float)
                .setCoercion(CoercionInputShape.String, CoercionAction.Fail);
        mapper.coercionConfigFor(LogicalType.Boolean)
                .setCoercion(CoercionInputShape.String, CoercionAction.Fail)
                .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail);
    }
}
