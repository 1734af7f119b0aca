package dev.kiln.status;

import java.util.Locale;

/**
 * Keys of the one status store. Batches and jobs share it (a global store has one source topic,
 * and a topic feeds one store), told apart by prefix; a batch's jobs sort by index under their
 * batch, so a page of items is one range scan.
 */
final class StatusStoreKeys {

    /** Largest index the fixed-width job keys hold. */
    static final int MAX_INDEX = 999_999;

    private StatusStoreKeys() {
    }

    static String batch(String batchId) {
        return "b|" + batchId;
    }

    static String job(String batchId, int index) {
        return "j|" + batchId + "|" + String.format(Locale.ROOT, "%06d", index);
    }
}
