package dev.kiln.status;

import dev.kiln.image.Dimensions;
import dev.kiln.image.Thumbnails;
import dev.kiln.job.JobError;
import dev.kiln.job.JobOutput;
import dev.kiln.job.Usage;
import dev.kiln.storage.ObjectKeys;
import dev.kiln.storage.ObjectStore;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * One job as the API shows it, with a presigned URL for every output.
 *
 * @param id         job id
 * @param batchId    its batch
 * @param itemId     the client's item id
 * @param index      position in the batch
 * @param state      job state
 * @param attempt    current attempt
 * @param error      last error
 * @param outputs    stored images
 * @param usage      usage and cost
 * @param createdAt  when queued
 * @param startedAt  when the current attempt started
 * @param finishedAt when it ended
 * @param metadata   the client's item metadata, as submitted
 * @param cached     true when the render cache served the job (copied outputs, zero cost); absent otherwise
 */
public record JobStatus(String id, String batchId, String itemId, int index, String state, int attempt,
                        JobError error, List<Output> outputs, Usage usage, Instant createdAt,
                        Instant startedAt, Instant finishedAt, Map<String, Object> metadata,
                        @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
                        Boolean cached) {

    /**
     * One output image.
     *
     * @param index       position among the job's outputs
     * @param key         object key in the bucket
     * @param url         presigned GET URL
     * @param contentType content type
     * @param bytes       size
     * @param width       pixels
     * @param height      pixels
     * @param sha256      hex digest
     * @param thumbnail   the output's thumbnail ({@code {index}.thumb.{ext}} beside it)
     */
    public record Output(int index, String key, String url, String contentType, long bytes, int width, int height,
                         String sha256,
                         @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
                         Thumbnail thumbnail) {
    }

    /**
     * An output's thumbnail, {@value Thumbnails#LONG_EDGE} px on the long edge. Outputs stored
     * before thumbnails existed have none: its URL then answers 404, and clients fall back to
     * {@link Output#url()} (the console does).
     *
     * @param key    object key, beside the output's
     * @param url    presigned GET URL; absent where outputs carry keys only (the stored manifest)
     * @param width  pixels
     * @param height pixels
     */
    public record Thumbnail(String key,
                            @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
                            String url,
                            int width, int height) {

        static Thumbnail of(JobOutput o, Function<String, String> urlOf) {
            String key = ObjectKeys.thumbnail(o.key());
            Dimensions size = Thumbnails.sizeOf(o.width(), o.height());
            return new Thumbnail(key, urlOf.apply(key), size.width(), size.height());
        }
    }

    /** The response for a view of {@code tenant}'s job, presigning each output under the tenant's prefix. */
    public static JobStatus of(JobView job, ObjectStore store, String tenant) {
        return of(job, key -> store.presignedGet(tenant, key));
    }

    /** The response for a view without URLs (they expire): the stored manifest's line. */
    public static JobStatus keysOnly(JobView job) {
        return of(job, key -> null);
    }

    /** The response for {@code job} with {@code urlOf} giving each output's and thumbnail's URL from its key. */
    static JobStatus of(JobView job, Function<String, String> urlOf) {
        List<Output> outputs = job.outputs() == null ? List.of() : job.outputs().stream()
                .map(o -> new Output(o.index(), o.key(), urlOf.apply(o.key()), o.contentType(), o.bytes(), o.width(),
                        o.height(), o.sha256(), Thumbnail.of(o, urlOf)))
                .toList();
        return new JobStatus(job.id(), job.batchId(), job.itemId(), job.index(), job.state().wireName(), job.attempt(),
                job.error(), outputs, job.usage(), job.createdAt(), job.startedAt(), job.finishedAt(), job.metadata(),
                job.cached());
    }
}
