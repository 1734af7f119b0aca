package dev.kiln.simulator;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/** What is known of one request so far; becomes its {@link ReceivedRequest} when answered. */
final class RequestContext {

    final String endpoint;
    final String requestId;
    final Instant receivedAt = Instant.now();
    final Map<String, String> params = new LinkedHashMap<>();
    String apiKey;
    String prompt;
    int imageCount;
    boolean hasMask;
    Fault fault;
    boolean recorded;

    RequestContext(String endpoint, String requestId) {
        this.endpoint = endpoint;
        this.requestId = requestId;
    }

    ReceivedRequest toRecord(int status) {
        return new ReceivedRequest(endpoint, requestId, apiKey, prompt,
                prompt == null ? null : Hashes.sha256Hex(prompt), Map.copyOf(params), imageCount, hasMask,
                status, fault, receivedAt);
    }
}
