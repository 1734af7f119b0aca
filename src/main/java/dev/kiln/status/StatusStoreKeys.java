package dev.kiln.status;

import java.time.Instant;
import java.util.Locale;

/**
 * Keys of the one status store. Batches and jobs share it (a global store has one source topic,
 * and a topic feeds one store), told apart by prefix; a batch's jobs sort by index under their
 * batch, so a page of items is one range scan. Two indexes sit beside them: a tenant's batches,
 * newest first ({@code t|}), and a batch's item ids ({@code i|}). For quotas and retention: a
 * tenant's open batches ({@code o|}), finished batches by when they finished ({@code f|}), and
 * deleted batches by id ({@code d|}, so that their late events are ignored) and by when
 * ({@code x|}).
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
        if (index < 0 || index > MAX_INDEX) {
            return "j|" + batchId + "|" + String.format(Locale.ROOT, "%06d", index);
        }
        // Zero-padded by hand: a page of items makes 100 of these keys, and String.format was
        // a tenth of a page's CPU.
        String digits = Integer.toString(index);
        return "j|" + batchId + "|" + "000000".substring(digits.length()) + digits;
    }

    /** A batch not yet ended, under its tenant: the batches whose images are pending. */
    static String openBatch(String tenant, String batchId) {
        return openBatchesFrom(tenant) + batchId;
    }

    static String openBatchesFrom(String tenant) {
        return "o|" + tenant + "|";
    }

    /** After every batch id of the tenant's open batches (ids are letters, digits, '_' and '-'). */
    static String openBatchesTo(String tenant) {
        return "o|" + tenant + "|~";
    }

    /** A batch that ended at {@code finishedAt}; sorted by that time, oldest first. */
    static String finished(Instant finishedAt, String batchId) {
        return finishedBefore(finishedAt) + "|" + batchId;
    }

    /** Where finished batches start. */
    static String finishedFrom() {
        return "f|";
    }

    /** Sorts after every batch that finished before {@code at} (and before those at {@code at}). */
    static String finishedBefore(Instant at) {
        return "f|" + String.format(Locale.ROOT, "%019d", at.toEpochMilli());
    }

    /** The marker of a deleted batch; its value is the {@code BatchDeleted} event. */
    static String deleted(String batchId) {
        return "d|" + batchId;
    }

    /** A deleted batch by when it was deleted, oldest first; its value is the batch id. */
    static String deletedAt(Instant at, String batchId) {
        return deletedSince(at) + "|" + batchId;
    }

    /** Sorts before every deletion at or after {@code at}. */
    static String deletedSince(Instant at) {
        return "x|" + String.format(Locale.ROOT, "%019d", at.toEpochMilli());
    }

    /** After every deletion. */
    static String deletedTo() {
        return "x|~";
    }
}
