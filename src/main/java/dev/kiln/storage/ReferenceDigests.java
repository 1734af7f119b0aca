package dev.kiln.storage;

import dev.kiln.job.Sha256;
import dev.kiln.job.RenderJobRequested;
import jakarta.enterprise.context.ApplicationScoped;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The SHA-256 of a job's reference images, for its render key. A reference is an object key in
 * the bucket under the job's tenant: its digest comes from the object's {@code kiln-sha256}
 * metadata (uploads and outputs carry it), or is computed once by streaming the object and kept
 * in a small in-process memo (uploads are never overwritten: a new upload gets a new id).
 * A reference given as a URL has no digest before it is fetched, so such a job has no render key
 * here and is not served from the cache.
 */
@ApplicationScoped
public class ReferenceDigests {

    private static final int MEMO = 4096;

    private final ObjectStore store;
    private final Map<String, String> computed = Collections.synchronizedMap(new LinkedHashMap<>(256, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
            return size() > MEMO;
        }
    });

    public ReferenceDigests(ObjectStore store) {
        this.store = store;
    }

    /**
     * The digests of the job's references in order, and of its mask (null when none), or empty when
     * one of them is a URL, lies outside the tenant's prefix or does not exist.
     *
     * @throws StorageException when S3 fails
     */
    public Optional<Digests> of(RenderJobRequested job) {
        List<String> references = job.referenceImages() == null ? List.of() : job.referenceImages();
        List<String> digests = new ArrayList<>(references.size());
        for (String reference : references) {
            Optional<String> digest = digest(job.tenant(), reference);
            if (digest.isEmpty()) {
                return Optional.empty();
            }
            digests.add(digest.get());
        }
        String mask = null;
        if (job.mask() != null) {
            Optional<String> digest = digest(job.tenant(), job.mask());
            if (digest.isEmpty()) {
                return Optional.empty();
            }
            mask = digest.get();
        }
        return Optional.of(new Digests(List.copyOf(digests), mask));
    }

    private Optional<String> digest(String tenant, String reference) {
        if (reference.contains("://") || !reference.startsWith(ObjectKeys.tenantPrefix(tenant))
                || reference.contains("/../") || reference.endsWith("/..")) {
            return Optional.empty();
        }
        String memo = computed.get(reference);
        if (memo != null) {
            return Optional.of(memo);
        }
        Optional<ObjectStore.StoredObject> object = store.stat(reference);
        if (object.isEmpty()) {
            return Optional.empty();
        }
        String fromMetadata = object.get().metadata().get(ImageMetadata.SHA256);
        if (fromMetadata != null && fromMetadata.matches("[0-9a-fA-F]{64}")) {
            return Optional.of(fromMetadata.toLowerCase(java.util.Locale.ROOT));
        }
        Optional<InputStream> in = store.open(reference);
        if (in.isEmpty()) {
            return Optional.empty();
        }
        String digest = sha256(in.get());
        computed.put(reference, digest);
        return Optional.of(digest);
    }

    private static String sha256(InputStream object) {
        try (InputStream in = object) {
            return Sha256.hexOf(in);
        } catch (IOException e) {
            throw new StorageException("cannot read a reference to compute its digest", e);
        }
    }

    /**
     * A job's reference digests.
     *
     * @param references hex SHA-256 of each reference image, in order
     * @param mask       hex SHA-256 of the mask, or null
     */
    public record Digests(List<String> references, String mask) {
    }
}
