package dev.kiln.simulator;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * One request as the simulator received it, for tests that assert what reached the provider.
 *
 * @param endpoint     {@code generations} or {@code edits}
 * @param requestId    the {@code x-request-id} answered
 * @param apiKey       the bearer key sent, null without one
 * @param prompt       the prompt exactly as decoded (null when the body could not be read)
 * @param promptSha256 hex SHA-256 of the prompt's UTF-8 bytes, as in {@code x-simulator-prompt-sha256}
 * @param params       every other field sent, as text (images and mask excluded)
 * @param imageCount   input images of an edit, 0 for a generation
 * @param hasMask      whether an edit carried a mask
 * @param imageSha256s hex SHA-256 of each input image of an edit, in the order sent; empty for a generation
 * @param maskSha256   hex SHA-256 of an edit's mask, null without one
 * @param status       the HTTP status answered (logged just before the answer is written); 0 when a hang
 *                     never answered
 * @param fault        the fault injected, null for none
 * @param receivedAt   when the request arrived
 */
public record ReceivedRequest(
        String endpoint,
        String requestId,
        String apiKey,
        String prompt,
        String promptSha256,
        Map<String, String> params,
        int imageCount,
        boolean hasMask,
        List<String> imageSha256s,
        String maskSha256,
        int status,
        Fault fault,
        Instant receivedAt) {

    /** Whether it was answered 200. */
    public boolean accepted() {
        return status == 200;
    }
}
