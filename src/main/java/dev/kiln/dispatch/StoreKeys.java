package dev.kiln.dispatch;

import java.util.Locale;

/**
 * Keys of the dispatcher's stores. Every key starts with the batch id and a slash, so that one
 * prefix scan finds a batch's jobs (cancel, deadline, retry, clean-up); the zero-padded index
 * sorts a batch's pending jobs in item order.
 */
final class StoreKeys {

    private StoreKeys() {
    }

    /** The prefix of every key of {@code batchId}. */
    static String batchPrefix(String batchId) {
        return batchId + "/";
    }

    /** A pending job's key. */
    static String pending(String batchId, int index) {
        return batchId + "/" + String.format(Locale.ROOT, "%010d", index);
    }

    /** A released (or expired) job's key, found again by the job id a retry names. */
    static String released(String batchId, String jobId) {
        return batchId + "/" + jobId;
    }
}
