package dev.kiln.simulator;

import dev.kiln.image.GptImageRules;
import dev.kiln.image.Violation;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;

/**
 * The checks and draws every render request goes through, on the synchronous endpoints and in a
 * batch alike: the model's rules, the injected faults and moderation.
 */
final class RequestChecks {

    private RequestChecks() {
    }

    static void checkRules(RenderRequest request) throws ApiError {
        List<Violation> violations = GptImageRules.validate(request.prompt(), request.input());
        if (!violations.isEmpty()) {
            String message = violations.stream().map(v -> "Invalid '" + v.field() + "': " + v.reason() + ".")
                    .collect(Collectors.joining(" "));
            throw ApiError.invalid(violations.get(0).field(), "invalid_value", message);
        }
    }

    /** Each fault gets its own draw, in declaration order; the first that hits wins. */
    static Fault randomFault(SimulatorSettings settings, Random random) {
        for (Fault fault : Fault.values()) {
            double rate = settings.faultRates().get(fault);
            if (rate > 0 && random.nextDouble() < rate) {
                return fault;
            }
        }
        return null;
    }

    static void checkModeration(String prompt, SimulatorSettings settings, String requestId)
            throws ApiError {
        String marker = settings.moderationMarker();
        if (!marker.isBlank() && prompt.toLowerCase(Locale.ROOT).contains(marker.toLowerCase(Locale.ROOT))) {
            throw new ApiError(400, "image_generation_user_error", null, "moderation_blocked",
                    "Your request was rejected by the safety system. If you believe this is an error, contact us "
                            + "at help.openai.com and include the request ID " + requestId + ".", Map.of());
        }
    }

    static ApiError serverError() {
        return new ApiError(500, "server_error", null, "server_error",
                "The server had an error while processing your request. Sorry about that!", Map.of());
    }
}
