package dev.kiln.worker;

import dev.kiln.job.JobOutput;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.job.RenderKey;
import dev.kiln.job.Usage;
import dev.kiln.storage.RenderCache;
import io.quarkus.logging.Log;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.List;
import java.util.Optional;

/**
 * The worker's side of the render cache: before a job takes a rate permit (and so before any
 * provider call), it looks the job's render key up in its tenant's cache index; on a hit the
 * earlier outputs are copied server-side to the job's keys and the job succeeds, cached, at zero
 * cost. After a render is stored, its outputs are recorded under the key. A job with
 * {@code cache: false} neither reads nor writes the cache.
 */
@ApplicationScoped
public class CachedRenders {

    private final RenderCache cache;
    private final PatientCalls patiently;

    public CachedRenders(RenderCache cache, PatientCalls patiently) {
        this.cache = cache;
        this.patiently = patiently;
    }

    /** A cache that never hits and keeps nothing (for tests of the worker without a bucket). */
    static CachedRenders disabled(PatientCalls patiently) {
        return new CachedRenders(null, patiently);
    }

    /** The job's render key and its references' digests, or empty when it does not use the cache; S3 faults are waited out. */
    Optional<RenderCache.Keyed> keyOf(RenderJobRequested job) throws JobAbandoned, InterruptedException {
        if (cache == null || !job.usesCache()) {
            return Optional.empty();
        }
        return patiently.storage(job, Step.LOOK_UP_CACHE, retry -> cache.keyed(job));
    }

    /** The job served from the cache, or empty on a miss. */
    Optional<JobOutcome> serve(RenderJobRequested job, Optional<RenderCache.Keyed> key) throws JobAbandoned, InterruptedException {
        if (key.isEmpty()) {
            missedAfterRelease(job);
            return Optional.empty();
        }
        RenderKey renderKey = key.get().key();
        Optional<List<JobOutput>> copied = patiently.storage(job, Step.LOOK_UP_CACHE, retry -> cache.serve(job, renderKey));
        if (copied.isEmpty()) {
            missedAfterRelease(job);
            return Optional.empty();
        }
        Log.debugf("job %s served from the render cache (%s)", job.jobId(), renderKey);
        return Optional.of(new JobOutcome.Succeeded(copied.get(), Usage.servedFromCache(job.imageCount()), false, true));
    }

    /**
     * A job the dispatcher released as a likely hit (so with no budget reserved for it) that the
     * cache cannot serve after all: its earlier objects are gone (their batch was deleted) or its
     * entry could not be read. It is rendered as any miss is; its cost is the bounded overspend
     * docs/costs.md describes, so it is said once per job.
     */
    private static void missedAfterRelease(RenderJobRequested job) {
        if (job.releasedAsCacheHit()) {
            Log.infof("job %s was released as a render-cache hit, but the cache no longer holds its render; rendering it",
                    job.jobId());
        }
    }

    /** Records a render just stored; never fails the job. */
    void remember(RenderJobRequested job, Optional<RenderCache.Keyed> key, List<JobOutput> stored, Usage usage) {
        key.ifPresent(k -> cache.remember(job, k.key(), stored, usage));
    }
}
