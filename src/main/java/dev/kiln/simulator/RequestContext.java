package dev.kiln.simulator;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
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
    final List<String> imageSha256s = new ArrayList<>();
    String maskSha256;
    Fault fault;
    boolean recorded;

    RequestContext(String endpoint, String requestId) {
        this.endpoint = endpoint;
        this.requestId = requestId;
    }

    ReceivedRequest toRecord(int status) {
        return new ReceivedRequest(endpoint, requestId, apiKey, prompt,
                prompt == null ? null : Hashes.sha256Hex(prompt), Map.copyOf(params), imageCount, hasMask,
                List.copyOf(imageSha256s), maskSha256, status, fault, receivedAt);
    }
}
