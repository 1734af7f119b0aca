package dev.kiln.batch;

import java.nio.charset.StandardCharsets;

/**
 * The item ids of one batch seen so far, to refuse a repeated id. It keeps a 64-bit hash of each
 * id in an open-addressing table (16 bytes an id at most), not the ids themselves, so that a
 * streamed catalogue of 100,000 items needs about 2 MB here rather than the ids' own size.
 * Two different ids share a hash with a probability of about n²/2⁶⁵ (3·10⁻¹⁰ for 100,000 ids):
 * the only harm would be one needless "repeats an earlier item's id".
 */
final class ItemIds {

    private static final long EMPTY = 0L;
    private long[] table = new long[1024];
    private int size;

    /** Adds {@code id}; false when an earlier id had the same hash (the same id, in practice). */
    boolean add(String id) {
        long hash = hash(id);
        if ((size + 1) * 2L > table.length) {
            grow();
        }
        return insert(table, hash) && ++size > 0;
    }

    private static boolean insert(long[] into, long hash) {
        int mask = into.length - 1;
        for (int i = (int) (hash ^ (hash >>> 32)) & mask; ; i = (i + 1) & mask) {
            if (into[i] == EMPTY) {
                into[i] = hash;
                return true;
            }
            if (into[i] == hash) {
                return false;
            }
        }
    }

    private void grow() {
        long[] bigger = new long[table.length * 2];
        for (long hash : table) {
            if (hash != EMPTY) {
                insert(bigger, hash);
            }
        }
        table = bigger;
    }

    /** FNV-1a over the UTF-8 bytes, then a final mix (splitmix64); never 0, which marks a free slot. */
    static long hash(String id) {
        long h = 0xcbf29ce484222325L;
        for (byte b : id.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        h ^= h >>> 30;
        h *= 0xbf58476d1ce4e5b9L;
        h ^= h >>> 27;
        h *= 0x94d049bb133111ebL;
        h ^= h >>> 31;
        return h == EMPTY ? 1 : h;
    }
}
