package dev.kiln.simulator;

import java.util.Map;

/**
 * An error answer in OpenAI's shape, {@code {"error":{"message","type","param","code"}}}, thrown
 * from anywhere in a request's handling and written by the handler.
 *
 * @see ImagesHandler
 */
final class ApiError extends Exception {

    final int status;
    final String type;
    final String param;
    final String code;
    final Map<String, String> headers;

    ApiError(int status, String type, String param, String code, String message, Map<String, String> headers) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
        this.headers = headers;
    }

    static ApiError invalid(String param, String code, String message) {
        return new ApiError(400, "invalid_request_error", param, code, message, Map.of());
    }
}
