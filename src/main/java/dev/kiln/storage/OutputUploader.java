package dev.kiln.storage;

import dev.kiln.image.CheckedImage;
import dev.kiln.image.ImageFormat;
import dev.kiln.image.Thumbnails;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.job.JobOutput;
import dev.kiln.job.Usage;
import io.quarkus.logging.Log;
import jakarta.enterprise.context.ApplicationScoped;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A job's outputs in the bucket. Each object carries its checks and the job's usage as user
 * metadata, so that a redelivered job can re-announce its result from S3 alone, without paying
 * for the image again. Beside each output lies its thumbnail ({@link ObjectKeys#thumbnail}), made
 * here from the render on disk and stored before the output: a stored output therefore always has
 * its thumbnail, even after a crash between the two puts.
 */
@ApplicationScoped
public class OutputUploader {

    private static final String SHA256 = ImageMetadata.SHA256;
    private static final String WIDTH = ImageMetadata.WIDTH;
    private static final String HEIGHT = ImageMetadata.HEIGHT;
    static final String USAGE = "kiln-usage";

    private final ObjectStore store;

    public OutputUploader(ObjectStore store) {
        this.store = store;
    }

    /** The key of output {@code index} of {@code job}. */
    public static String keyOf(RenderJobRequested job, int index) {
        return ObjectKeys.output(job.tenant(), job.batchId(), job.itemId(), index, formatOf(job).extension());
    }

    /** The format the job asked for (PNG when unset, as the provider defaults). */
    public static ImageFormat formatOf(RenderJobRequested job) {
        String name = job.parameters() == null ? null : job.parameters().outputFormat();
        return name == null ? ImageFormat.PNG : ImageFormat.fromName(name);
    }

    /**
     * The job's complete, earlier result, if every one of its outputs is already stored: then the
     * job was rendered and must not be paid for again.
     */
    public Optional<StoredResult> findComplete(RenderJobRequested job) {
        List<JobOutput> images = new ArrayList<>();
        Usage usage = Usage.ZERO;
        boolean cached = false;
        for (int i = 0; i < job.imageCount(); i++) {
            Optional<ObjectStore.StoredObject> found = store.stat(keyOf(job, i));
            if (found.isEmpty() || !found.get().metadata().containsKey(SHA256)) {
                return Optional.empty();
            }
            Map<String, String> meta = found.get().metadata();
            images.add(new JobOutput(i, found.get().key(), found.get().contentType(), found.get().bytes(),
                    Integer.parseInt(meta.get(WIDTH)), Integer.parseInt(meta.get(HEIGHT)), meta.get(SHA256)));
            if (i == 0) {
                usage = parseUsage(meta.get(USAGE));
                cached = meta.containsKey(ImageMetadata.CACHED);
            }
        }
        return Optional.of(new StoredResult(images, cached ? Usage.servedFromCache(images.size()) : usage, cached));
    }

    /**
     * Uploads the job's checked images with their metadata. After a failed try
     * ({@code afterFailure}), an image already stored with the same SHA-256 is not written again:
     * a timed-out upload may well have landed.
     *
     * @throws StorageException when S3 fails; the images stay on disk for the next try
     */
    public List<JobOutput> storeAll(RenderJobRequested job, List<CheckedImage> images, Usage usage, boolean afterFailure) {
        List<JobOutput> stored = new ArrayList<>();
        for (CheckedImage image : images) {
            Optional<ObjectStore.StoredObject> existing = afterFailure ? store.stat(keyOf(job, image.index())) : Optional.empty();
            if (existing.isPresent() && image.sha256().equals(existing.get().metadata().get(SHA256))) {
                stored.add(output(job, image));
            } else {
                stored.add(put(job, image, usage));
            }
        }
        return stored;
    }

    /** Uploads one checked image with its metadata. */
    @io.opentelemetry.instrumentation.annotations.WithSpan(value = "s3 put", kind = io.opentelemetry.api.trace.SpanKind.CLIENT)
    public JobOutput put(RenderJobRequested job, CheckedImage image, Usage usage) {
        String key = keyOf(job, image.index());
        putThumbnail(job, image, key);
        Map<String, String> meta = new HashMap<>();
        meta.put(SHA256, image.sha256());
        meta.put(WIDTH, Integer.toString(image.width()));
        meta.put(HEIGHT, Integer.toString(image.height()));
        meta.put(USAGE, formatUsage(usage));
        store.put(key, image.file(), image.format().contentType(), meta);
        return output(job, image);
    }

    /**
     * Makes and stores the thumbnail of {@code image}. An image that cannot be decoded (it passed
     * the output check, so this is not expected) gets none and is logged: the console then shows
     * the original, and the paid render is stored either way. S3 failures propagate like the
     * output's own, and the job's store step retries both.
     */
    private void putThumbnail(RenderJobRequested job, CheckedImage image, String outputKey) {
        Thumbnails.Thumbnail thumbnail;
        try {
            thumbnail = Thumbnails.of(image.file(), image.format());
        } catch (IOException | RuntimeException e) {
            Log.warnf("job %s: no thumbnail for output %d (%s)", job.jobId(), image.index(), e.getMessage());
            return;
        }
        store.putBytes(ObjectKeys.thumbnail(outputKey), thumbnail.bytes(), image.format().contentType(),
                Map.of(WIDTH, Integer.toString(thumbnail.width()), HEIGHT, Integer.toString(thumbnail.height())));
    }

    private static JobOutput output(RenderJobRequested job, CheckedImage image) {
        return new JobOutput(image.index(), keyOf(job, image.index()), image.format().contentType(), image.bytes(),
                image.width(), image.height(), image.sha256());
    }

    static String formatUsage(Usage u) {
        return u.images() + "," + u.textInputTokens() + "," + u.imageInputTokens() + "," + u.outputTokens() + "," + u.costUsd();
    }

    private static Usage parseUsage(String text) {
        if (text == null) {
            return Usage.ZERO;
        }
        String[] p = text.split(",");
        try {
            return new Usage(Long.parseLong(p[0]), Long.parseLong(p[1]), Long.parseLong(p[2]), Long.parseLong(p[3]), Double.parseDouble(p[4]));
        } catch (RuntimeException e) {
            return Usage.ZERO;
        }
    }

    /**
     * A job's stored outputs and the usage they cost when rendered.
     *
     * @param images the outputs
     * @param usage  usage of the render that made them
     * @param cached true when they were copied from the render cache
     */
    public record StoredResult(List<JobOutput> images, Usage usage, boolean cached) {

        public StoredResult(List<JobOutput> images, Usage usage) {
            this(images, usage, false);
        }
    }
}
