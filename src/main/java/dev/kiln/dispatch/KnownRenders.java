package dev.kiln.dispatch;

import dev.kiln.job.RenderJobRequested;
import dev.kiln.job.RenderKey;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The renders each tenant's render cache holds, as far as the dispatcher knows: the value of the
 * renders store, learned from the {@code succeeded} events of fresh renders, which name the render
 * key they were recorded under ({@code JobStatusChanged.renderKey}), and forgotten when the batch
 * that holds a render's objects is deleted. With it the dispatcher decides a likely hit before
 * release, without an S3 call in its one task: a RocksDB read and a SHA-256 of the job's fields.
 * <p>
 * Keys, all in one logged store:
 * <ul>
 *   <li>{@code k/{tenant}/{render key}} → the batch whose objects the tenant's cache entry names (the
 *       last fresh render of that key, as the worker rewrites the entry on every render);</li>
 *   <li>{@code b/{batch id}/{render key}} → the {@code k/} key, so that a batch's deletion finds its renders;</li>
 *   <li>{@code d/{tenant}/{object key}} → the SHA-256 of a reference or mask an earlier edit used, so that
 *       a later edit of the same objects gets its render key. Uploads are never overwritten (a new upload
 *       gets a new key), so a digest learned once stays true; a wrong one only costs a hint.</li>
 * </ul>
 * A hint, not a promise: the worker looks the key up in S3 again and renders when the objects are
 * gone after all. The tenant is part of every key, so one tenant's renders never hint another's jobs.
 */
final class KnownRenders {

    private final KeyValueStore<String, String> store;

    KnownRenders(KeyValueStore<String, String> store) {
        this.store = store;
    }

    /** A fresh render of {@code settled}'s job was stored and recorded in its tenant's cache. */
    void learn(JobSettled settled) {
        if (settled.tenant() == null || settled.renderKey() == null) {
            return;
        }
        String known = rendered(settled.tenant(), settled.renderKey());
        store.put(known, settled.batchId());
        store.put(ofBatch(settled.batchId(), settled.renderKey()), known);
        if (settled.referenceSha256s() != null) {
            settled.referenceSha256s().forEach((object, sha256) -> store.put(digest(settled.tenant(), object), sha256));
        }
    }

    /** {@code batchId} was deleted with its objects: the renders whose objects were its are gone. */
    void forgetBatch(String batchId) {
        List<KeyValue<String, String>> renders = new ArrayList<>();
        try (KeyValueIterator<String, String> all = store.prefixScan("b/" + StoreKeys.batchPrefix(batchId),
                Serdes.String().serializer())) {
            all.forEachRemaining(renders::add);
        }
        for (KeyValue<String, String> render : renders) {
            // A later render of the same key in another batch rewrote the entry: that one stays.
            if (batchId.equals(store.get(render.value))) {
                store.delete(render.value);
            }
            store.delete(render.key);
        }
    }

    /**
     * Whether the job's tenant has stored a render of the job's render key: the job may use the
     * cache and its key is known (a generation, or an edit of objects whose digests are known).
     */
    boolean likelyHit(RenderJobRequested job) {
        return entryOf(job).map(this::holds).orElse(false);
    }

    /**
     * Where the job's render would be known in this store, for {@link #holds}; empty when its
     * render key cannot be computed here. It never changes for a job, so callers may keep it.
     */
    Optional<String> entryOf(RenderJobRequested job) {
        return keyOf(job).map(key -> rendered(job.tenant(), key.hex()));
    }

    /** Whether the render at {@code entry} (from {@link #entryOf}) is known to be stored. */
    boolean holds(String entry) {
        return store.get(entry) != null;
    }

    /** The job's render key as far as the dispatcher can compute it; empty for a URL reference or an unknown digest. */
    Optional<RenderKey> keyOf(RenderJobRequested job) {
        if (!job.usesCache() || job.tenant() == null) {
            return Optional.empty();
        }
        List<String> references = job.referenceImages() == null ? List.of() : job.referenceImages();
        List<String> digests = new ArrayList<>(references.size());
        for (String reference : references) {
            String sha256 = store.get(digest(job.tenant(), reference));
            if (sha256 == null) {
                return Optional.empty();
            }
            digests.add(sha256);
        }
        String mask = null;
        if (job.mask() != null) {
            mask = store.get(digest(job.tenant(), job.mask()));
            if (mask == null) {
                return Optional.empty();
            }
        }
        try {
            return Optional.of(RenderKey.of(job, digests, mask));
        } catch (IllegalArgumentException e) {
            return Optional.empty(); // a malformed digest learned from a hand-made event: no hint
        }
    }

    private static String rendered(String tenant, String renderKey) {
        return "k/" + tenant + "/" + renderKey;
    }

    private static String ofBatch(String batchId, String renderKey) {
        return "b/" + StoreKeys.batchPrefix(batchId) + renderKey;
    }

    private static String digest(String tenant, String objectKey) {
        return "d/" + tenant + "/" + objectKey;
    }
}
