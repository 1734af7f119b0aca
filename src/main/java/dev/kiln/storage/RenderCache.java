package dev.kiln.storage;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.kiln.job.JobOutput;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.job.RenderKey;
import dev.kiln.job.Usage;
import io.quarkus.logging.Log;
import jakarta.enterprise.context.ApplicationScoped;

import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The render cache, kept in the bucket. Its index holds one small JSON object per render key under
 * the tenant's own prefix, {@code {tenant}/cache/{render key}.json}, naming the output objects of
 * the render that first produced that key (keys, sizes, SHA-256s) and what it cost. It is written
 * after the render is stored; it is read by the worker before it takes a rate permit. Because the
 * index lives under the tenant's prefix and a hit only copies objects under that same prefix, a
 * render is never reused across tenants.
 *
 * <p>A hit copies the earlier objects server-side (S3 CopyObject) to the new item's keys, with
 * the same checks as metadata plus {@code kiln-cached}, so that a redelivered job re-announces
 * itself as cached. An entry whose objects are gone (the batch was deleted) is a miss, and the
 * next render of that key writes a fresh entry.
 */
@ApplicationScoped
public class RenderCache {

    private static final ObjectMapper JSON = new ObjectMapper()
            .registerModule(new JavaTimeModule())
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .setSerializationInclusion(JsonInclude.Include.NON_NULL)
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private final ObjectStore store;
    private final ReferenceDigests digests;

    public RenderCache(ObjectStore store, ReferenceDigests digests) {
        this.store = store;
        this.digests = digests;
    }

    /**
     * The job's render key, or empty when the job may not use the cache: it opted out
     * ({@code cache: false}), or a reference has no digest before it is fetched (a URL).
     *
     * @throws StorageException when S3 fails
     */
    public Optional<RenderKey> keyOf(RenderJobRequested job) {
        return keyed(job).map(Keyed::key);
    }

    /**
     * The job's render key with the digests that went into it, by the object key the job names
     * each reference and the mask by; empty when {@link #keyOf} is.
     *
     * @throws StorageException when S3 fails
     */
    public Optional<Keyed> keyed(RenderJobRequested job) {
        if (!job.usesCache()) {
            return Optional.empty();
        }
        return digests.of(job).map(d -> {
            Map<String, String> byReference = new HashMap<>();
            List<String> references = job.referenceImages() == null ? List.of() : job.referenceImages();
            for (int i = 0; i < references.size(); i++) {
                byReference.put(references.get(i), d.references().get(i));
            }
            if (job.mask() != null) {
                byReference.put(job.mask(), d.mask());
            }
            return new Keyed(RenderKey.of(job, d.references(), d.mask()), Map.copyOf(byReference));
        });
    }

    /**
     * A job's render key and where it came from.
     *
     * @param key               the render key
     * @param sha256ByReference the SHA-256 of each reference image and of the mask, by object key; empty for a generation
     */
    public record Keyed(RenderKey key, Map<String, String> sha256ByReference) {
    }

    /**
     * The index entry of {@code key} among {@code tenant}'s renders.
     *
     * @throws StorageException when S3 fails
     */
    public Optional<Entry> lookup(String tenant, RenderKey key) {
        Optional<InputStream> object = store.open(ObjectKeys.cacheEntry(tenant, key.hex()));
        if (object.isEmpty()) {
            return Optional.empty();
        }
        try (InputStream in = object.get()) {
            Entry entry = JSON.readValue(in, Entry.class);
            return entry.outputs() == null || !key.hex().equals(entry.renderKey()) ? Optional.empty() : Optional.of(entry);
        } catch (IOException e) {
            // A torn or foreign entry is a miss; the next render overwrites it.
            Log.warnf("render cache entry %s is unreadable (%s); treated as a miss", key, e.getMessage());
            return Optional.empty();
        }
    }

    /**
     * Serves {@code job} from the cache: when {@code key} has an entry of the job's tenant with as
     * many outputs as the job asks for, copies each output server-side to the job's own keys.
     *
     * @return the job's outputs, or empty on a miss (no entry, or the earlier objects are gone)
     * @throws StorageException when S3 fails
     */
    public Optional<List<JobOutput>> serve(RenderJobRequested job, RenderKey key) {
        Optional<Entry> entry = lookup(job.tenant(), key);
        if (entry.isEmpty() || entry.get().outputs().size() != job.imageCount()) {
            return Optional.empty();
        }
        String prefix = ObjectKeys.tenantPrefix(job.tenant());
        List<JobOutput> outputs = new ArrayList<>();
        for (JobOutput earlier : entry.get().outputs()) {
            if (!earlier.key().startsWith(prefix)) {
                return Optional.empty(); // never reach into another tenant's objects
            }
            String target = OutputUploader.keyOf(job, earlier.index());
            Map<String, String> meta = new HashMap<>();
            meta.put(ImageMetadata.SHA256, earlier.sha256());
            meta.put(ImageMetadata.WIDTH, Integer.toString(earlier.width()));
            meta.put(ImageMetadata.HEIGHT, Integer.toString(earlier.height()));
            meta.put(OutputUploader.USAGE, OutputUploader.formatUsage(Usage.servedFromCache(job.imageCount())));
            meta.put(ImageMetadata.CACHED, key.hex());
            if (!target.equals(earlier.key())) {
                // The thumbnail first, as the uploader stores them; an earlier output without one
                // (stored before thumbnails existed) is still served.
                store.copyAsIs(ObjectKeys.thumbnail(earlier.key()), ObjectKeys.thumbnail(target));
                if (!store.copy(earlier.key(), target, earlier.contentType(), meta)) {
                    return Optional.empty();
                }
            }
            outputs.add(new JobOutput(earlier.index(), target, earlier.contentType(), earlier.bytes(), earlier.width(),
                    earlier.height(), earlier.sha256()));
        }
        return Optional.of(outputs);
    }

    /**
     * Records {@code outputs}, just stored for {@code job}, as the render of {@code key}. A failure
     * is logged and swallowed: the render is stored and announced either way, only a later hit is lost.
     */
    public void remember(RenderJobRequested job, RenderKey key, List<JobOutput> outputs, Usage usage) {
        Entry entry = new Entry(key.hex(), job.jobId(), outputs, usage, Instant.now());
        try {
            store.putBytes(ObjectKeys.cacheEntry(job.tenant(), key.hex()), JSON.writeValueAsBytes(entry), "application/json");
        } catch (IOException | RuntimeException e) {
            Log.warnf("job %s: could not record its render in the cache (%s)", job.jobId(), e.getMessage());
        }
    }

    /**
     * One index entry.
     *
     * @param renderKey the render key, repeated so that a misplaced entry never matches
     * @param jobId     the job whose render it was
     * @param outputs   the output objects, in index order
     * @param usage     what that render cost
     * @param createdAt when it was recorded
     */
    public record Entry(String renderKey, String jobId, List<JobOutput> outputs, Usage usage, Instant createdAt) {
    }
}
