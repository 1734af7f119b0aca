package dev.kiln.job;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The command on {@code kiln.jobs}: render one catalogue item. It carries every resolved Images
 * API parameter, so a worker needs nothing else to do the work.
 *
 * @param jobId           unique job id; also the Kafka key
 * @param batchId         the batch it belongs to
 * @param tenant          the owner, part of every object key
 * @param itemId          the client's own id, such as a SKU
 * @param index           the item's position in the batch
 * @param prompt          the prompt, byte for byte as submitted
 * @param parameters      resolved Images API parameters (batch defaults merged with item overrides)
 * @param referenceImages references for an edit; empty for a generation
 * @param mask            optional mask reference for an edit
 * @param metadata        the client's item metadata, passed through
 * @param attempt         1 for the first try; a retry, the worker's or the client's, goes on at the next number
 * @param requestedAt     when the batch was accepted
 * @param cache           {@code false} when the batch opted out of the render cache; null (absent) means true
 * @param firstAttempt    the attempt this round of tries began at: a client's retry starts a fresh round
 *                        (a full set of attempts) at the next attempt number; null (absent) means 1
 * @param lane            {@code economy} for the OpenAI Batch API lane; null (absent) means the standard lane
 * @param cacheHit        true when the dispatcher released the job as a likely render-cache hit: its tenant has
 *                        stored a render of the same render key, so no budget was reserved for it and it took no
 *                        room in the release window. The worker serves it from the cache as it does any job, and
 *                        renders it only if the earlier objects are gone after all; null (absent) means not flagged
 */
public record RenderJobRequested(
        String jobId,
        String batchId,
        String tenant,
        String itemId,
        int index,
        String prompt,
        ImageParameters parameters,
        List<String> referenceImages,
        String mask,
        Map<String, Object> metadata,
        int attempt,
        Instant requestedAt,
        @JsonInclude(JsonInclude.Include.NON_NULL) Boolean cache,
        @JsonInclude(JsonInclude.Include.NON_NULL) Integer firstAttempt,
        @JsonInclude(JsonInclude.Include.NON_NULL) String lane,
        @JsonInclude(JsonInclude.Include.NON_NULL) Boolean cacheHit) {

    /** The economy lane's name on the wire. */
    public static final String ECONOMY = "economy";

    /** A job not flagged as a likely cache hit. */
    public RenderJobRequested(String jobId, String batchId, String tenant, String itemId, int index, String prompt,
                              ImageParameters parameters, List<String> referenceImages, String mask,
                              Map<String, Object> metadata, int attempt, Instant requestedAt, Boolean cache,
                              Integer firstAttempt, String lane) {
        this(jobId, batchId, tenant, itemId, index, prompt, parameters, referenceImages, mask, metadata, attempt,
                requestedAt, cache, firstAttempt, lane, null);
    }

    /** A job of the standard lane. */
    public RenderJobRequested(String jobId, String batchId, String tenant, String itemId, int index, String prompt,
                              ImageParameters parameters, List<String> referenceImages, String mask,
                              Map<String, Object> metadata, int attempt, Instant requestedAt, Boolean cache,
                              Integer firstAttempt) {
        this(jobId, batchId, tenant, itemId, index, prompt, parameters, referenceImages, mask, metadata, attempt,
                requestedAt, cache, firstAttempt, null, null);
    }

    /** A job of the standard lane in its first round of attempts. */
    public RenderJobRequested(String jobId, String batchId, String tenant, String itemId, int index, String prompt,
                              ImageParameters parameters, List<String> referenceImages, String mask,
                              Map<String, Object> metadata, int attempt, Instant requestedAt, Boolean cache) {
        this(jobId, batchId, tenant, itemId, index, prompt, parameters, referenceImages, mask, metadata, attempt,
                requestedAt, cache, null, null, null);
    }

    /** A job that uses the render cache (the default). */
    public RenderJobRequested(String jobId, String batchId, String tenant, String itemId, int index, String prompt,
                              ImageParameters parameters, List<String> referenceImages, String mask,
                              Map<String, Object> metadata, int attempt, Instant requestedAt) {
        this(jobId, batchId, tenant, itemId, index, prompt, parameters, referenceImages, mask, metadata, attempt,
                requestedAt, null, null, null, null);
    }

    /** Whether the render cache may serve this job and keep its render ({@code cache} absent or true). */
    public boolean usesCache() {
        return cache == null || cache;
    }

    /** This job with the render cache on or off. */
    public RenderJobRequested withCache(boolean useCache) {
        return new RenderJobRequested(jobId, batchId, tenant, itemId, index, prompt, parameters, referenceImages, mask,
                metadata, attempt, requestedAt, useCache ? null : Boolean.FALSE, firstAttempt, lane, cacheHit);
    }

    /** Whether the job goes through the economy lane (the OpenAI Batch API). */
    public boolean economy() {
        return ECONOMY.equals(lane);
    }

    /** This job in {@code newLane}: {@code economy}, or null for the standard lane. */
    public RenderJobRequested withLane(String newLane) {
        return new RenderJobRequested(jobId, batchId, tenant, itemId, index, prompt, parameters, referenceImages, mask,
                metadata, attempt, requestedAt, cache, firstAttempt, newLane, cacheHit);
    }

    /** Whether the dispatcher released this job as a likely render-cache hit (no budget reserved, no window room). */
    public boolean releasedAsCacheHit() {
        return Boolean.TRUE.equals(cacheHit);
    }

    /** This job flagged as a likely render-cache hit ({@code true}), or without the flag ({@code false}). */
    public RenderJobRequested withCacheHit(boolean likelyHit) {
        return new RenderJobRequested(jobId, batchId, tenant, itemId, index, prompt, parameters, referenceImages, mask,
                metadata, attempt, requestedAt, cache, firstAttempt, lane, likelyHit ? Boolean.TRUE : null);
    }

    /** How many images this job asks for. */
    public int imageCount() {
        return parameters == null || parameters.n() == null ? 1 : parameters.n();
    }

    /** This job at another attempt number, in the same round of attempts. */
    public RenderJobRequested withAttempt(int newAttempt) {
        return new RenderJobRequested(jobId, batchId, tenant, itemId, index, prompt, parameters,
                referenceImages, mask, metadata, newAttempt, requestedAt, cache, firstAttempt, lane, cacheHit);
    }

    /** This job at its next attempt number, beginning a fresh round of attempts (a client's retry). */
    public RenderJobRequested nextRound() {
        int next = attempt + 1;
        return new RenderJobRequested(jobId, batchId, tenant, itemId, index, prompt, parameters,
                referenceImages, mask, metadata, next, requestedAt, cache, next, lane, cacheHit);
    }

    /** How many attempts this round has used, this one included: 1 on the round's first try. */
    public int attemptsInRound() {
        return attempt - (firstAttempt == null ? 1 : firstAttempt) + 1;
    }

    /** This job at its next attempt. */
    public RenderJobRequested nextAttempt() {
        return withAttempt(attempt + 1);
    }
}
