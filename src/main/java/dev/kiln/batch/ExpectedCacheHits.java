package dev.kiln.batch;

import dev.kiln.job.RenderJobRequested;
import dev.kiln.storage.RenderCache;
import dev.kiln.storage.StorageException;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * For a dry run: which of a batch's jobs the render cache would serve now, by looking each job's
 * render key up in the tenant's cache index (one small S3 read a job). A real run decides again,
 * job by job, so this is an expectation: a render finished meanwhile can only add hits.
 */
@ApplicationScoped
public class ExpectedCacheHits {

    /**
     * The most jobs looked up in one dry run: a dry run answers within a request's time, and one
     * S3 read a job would make a 100,000-item catalogue take minutes. Beyond it, hits are not estimated.
     */
    static final int MAX_LOOKUPS = 1000;

    private final RenderCache cache;

    public ExpectedCacheHits(RenderCache cache) {
        this.cache = cache;
    }

    /** The indexes of {@code jobs} the cache would serve; empty when there are too many to look up. */
    public Optional<Set<Integer>> of(List<RenderJobRequested> jobs, String tenant) {
        if (jobs.size() > MAX_LOOKUPS) {
            return Optional.empty();
        }
        Set<Integer> hits = new HashSet<>();
        try {
            for (int i = 0; i < jobs.size(); i++) {
                RenderJobRequested job = jobs.get(i);
                if (cache.keyOf(job).flatMap(key -> cache.lookup(tenant, key)).isPresent()) {
                    hits.add(i);
                }
            }
        } catch (StorageException e) {
            // S3 away: the estimate leaves hits out rather than failing the dry run.
            return Optional.empty();
        }
        return Optional.of(hits);
    }
}
