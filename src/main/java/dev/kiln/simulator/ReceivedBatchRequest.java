package dev.kiln.simulator;

/**
 * One line of a batch as the simulator ran it, for tests that assert what was submitted through
 * the Batch API.
 *
 * @param batchId  the batch it came in
 * @param customId the line's {@code custom_id}
 * @param request  the request as the synchronous log would show it ({@code status} is the line's
 *                 {@code status_code})
 */
public record ReceivedBatchRequest(String batchId, String customId, ReceivedRequest request) {
}
