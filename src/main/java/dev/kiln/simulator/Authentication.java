package dev.kiln.simulator;

import com.sun.net.httpserver.HttpExchange;

import java.util.Map;

/** The bearer key checks of every API route: 401 without a key or with a refused one, 403 for a forbidden one. */
final class Authentication {

    private Authentication() {
    }

    /** The bearer key of a request, null without one. */
    static String bearerKey(HttpExchange exchange) {
        String authorization = exchange.getRequestHeaders().getFirst("Authorization");
        String key = authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)
                ? authorization.substring(7).trim() : "";
        return key.isEmpty() ? null : key;
    }

    /** Refuses a missing, unknown, rejected or forbidden key. */
    static void check(String key, SimulatorSettings settings) throws ApiError {
        if (key == null) {
            throw new ApiError(401, "invalid_request_error", null, null,
                    "You didn't provide an API key. You need to provide your API key in an Authorization header "
                            + "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", Map.of());
        }
        boolean accepted = settings.acceptedApiKeys().isEmpty() || settings.acceptedApiKeys().contains(key);
        if (!accepted || settings.rejectedApiKeys().contains(key)) {
            throw new ApiError(401, "invalid_request_error", null, "invalid_api_key",
                    "Incorrect API key provided: " + redact(key) + ". You can find your API key at "
                            + "https://platform.openai.com/account/api-keys.", Map.of());
        }
        if (settings.forbiddenApiKeys().contains(key)) {
            throw new ApiError(403, "invalid_request_error", null, "organization_not_verified",
                    "Your organization must be verified to use the model `gpt-image-2`.", Map.of());
        }
    }

    /** OpenAI shows only the start and the end of a wrong key. */
    private static String redact(String key) {
        if (key.length() <= 8) {
            return "*".repeat(key.length());
        }
        return key.substring(0, 4) + "*".repeat(Math.min(20, key.length() - 8)) + key.substring(key.length() - 4);
    }
}
