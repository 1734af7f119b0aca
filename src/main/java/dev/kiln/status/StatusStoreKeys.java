package dev.kiln.status;

import java.time.Instant;
import java.util.Locale;

/**
 * Keys of the one status store. Batches and jobs share it (a global store has one source topic,
 * and a topic feeds one store), told apart by prefix; a batch's jobs sort by index under their
 * batch, so a page of items is one range scan. Two indexes sit beside them: a tenant's batches,
 * newest first ({@code t|}), and a batch's item ids ({@code i|}).
 */
final class StatusStoreKeys {

    /** Largest index the fixed-width job keys hold. */
    static final int MAX_INDEX = 999_999;

    private StatusStoreKeys() {
    }

    static String batch(String batchId) {
        return "b|" + batchId;
    }

    /** Where a tenant's batch list starts (inclusive). */
    static String tenantBatchesFrom(String tenant) {
        return "t|" + tenant + "|";
    }

    /** Where a tenant's batch list ends: after every time key (digits) of the tenant. */
    static String tenantBatchesTo(String tenant) {
        return "t|" + tenant + "|~";
    }

    /**
     * The list entry of a batch: newest first, because the time part counts down (microseconds
     * before the end of {@code long}); batches of the same microsecond sort by id. Idempotent
     * batch ids are digests, not times, hence the explicit time.
     */
    static String tenantBatch(String tenant, Instant createdAt, String batchId) {
        return tenantBatchesFrom(tenant) + listPosition(createdAt, batchId);
    }

    /** The part of a list entry after the tenant: what a list cursor carries. */
    static String listPosition(Instant createdAt, String batchId) {
        long micros = createdAt.getEpochSecond() * 1_000_000L + createdAt.getNano() / 1_000;
        return String.format(Locale.ROOT, "%019d", Long.MAX_VALUE - micros) + "|" + batchId;
    }

    /** The index of an item's own id within its batch; the value is the job's index. */
    static String item(String batchId, String itemId) {
        return "i|" + batchId + "|" + itemId;
    }

    static String job(String batchId, int index) {
        return "j|" + batchId + "|" + String.format(Locale.ROOT, "%06d", index);
    }
}
