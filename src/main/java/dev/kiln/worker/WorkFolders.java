package dev.kiln.worker;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.kiln.image.CheckedImage;
import dev.kiln.image.ImageFormat;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.job.Usage;
import dev.kiln.messaging.KilnJson;
import dev.kiln.storage.ObjectKeys;
import io.quarkus.logging.Log;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * One folder per job id under {@code kiln.worker.work-dir}, holding its references and decoded
 * images. Once a render has passed its checks it is <em>kept</em>: a small file beside the images
 * records them and their usage, so that the render survives a failed upload, a shutdown and even a
 * kill, and the next delivery of the job to this worker uploads it instead of paying again. The
 * folder goes once the images are stored or the job ends otherwise; kept renders whose job never
 * came back (it moved to another worker) go after {@code kiln.worker.kept-render-retention}.
 */
@ApplicationScoped
public class WorkFolders {

    private static final String KEPT = "kept-render.json";
    private static final TypeReference<KeptRender> KEPT_TYPE = new TypeReference<>() {
    };

    private final WorkerConfig config;

    public WorkFolders(WorkerConfig config) {
        this.config = config;
    }

    /** A render that passed its checks, with what it consumed. */
    public record Render(List<CheckedImage> images, Usage usage) {
    }

    /** The job's kept render, if this worker rendered it before and has not stored it yet. */
    public Optional<Render> kept(RenderJobRequested job) {
        Path folder = folderOf(job);
        Path marker = folder.resolve(KEPT);
        if (!Files.isRegularFile(marker)) {
            return Optional.empty();
        }
        try {
            KeptRender kept = KilnJson.MAPPER.readValue(marker.toFile(), KEPT_TYPE);
            List<CheckedImage> images = kept.images().stream().map(i -> i.toChecked(folder)).toList();
            for (CheckedImage image : images) {
                if (!Files.isRegularFile(image.file()) || Files.size(image.file()) != image.bytes()) {
                    return Optional.empty();
                }
            }
            return Optional.of(new Render(images, kept.usage()));
        } catch (IOException e) {
            Log.warnf("kept render of %s is unreadable (%s); the job is rendered again", job.jobId(), e.getMessage());
            return Optional.empty();
        }
    }

    /** An empty folder for a new render of the job (leftovers of an unfinished try are removed). */
    public Path fresh(RenderJobRequested job) {
        Path folder = folderOf(job);
        deleteQuietly(folder);
        try {
            return Files.createDirectories(folder);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a work folder under " + config.workDir(), e);
        }
    }

    /** Records that the checked images in the job's folder are a complete, paid render. */
    public Render keep(RenderJobRequested job, List<CheckedImage> images, Usage usage) {
        Path folder = folderOf(job);
        KeptRender kept = new KeptRender(job.jobId(), Instant.now(), images.stream().map(KeptImage::of).toList(), usage);
        try {
            Path temp = folder.resolve(KEPT + ".tmp");
            KilnJson.MAPPER.writeValue(temp.toFile(), kept);
            Files.move(temp, folder.resolve(KEPT), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            // The render is still good for this delivery; only its survival of a restart is lost.
            Log.warnf("cannot keep the render of %s on disk: %s", job.jobId(), e.getMessage());
        }
        return new Render(images, usage);
    }

    /**
     * The job is done with its folder on this delivery. A kept render stays when the job was left
     * for redelivery ({@code keepRender}); everything else goes.
     */
    public void release(RenderJobRequested job, boolean keepRender) {
        Path folder = folderOf(job);
        if (keepRender && Files.isRegularFile(folder.resolve(KEPT))) {
            Log.infof("job %s: its render is kept in %s until the job comes back to this worker", job.jobId(), folder);
            return;
        }
        deleteQuietly(folder);
    }

    /** At start: unfinished folders go; kept renders stay for their retention. */
    void tidy(@Observes StartupEvent event) {
        Path root = Path.of(config.workDir());
        if (!Files.isDirectory(root)) {
            return;
        }
        Instant oldest = Instant.now().minus(config.keptRenderRetention());
        try (Stream<Path> folders = Files.list(root)) {
            for (Path folder : folders.toList()) {
                Path marker = folder.resolve(KEPT);
                if (!Files.isRegularFile(marker) || Files.getLastModifiedTime(marker).toInstant().isBefore(oldest)) {
                    deleteQuietly(folder);
                } else {
                    Log.infof("work folder %s holds a kept render, waiting for its job to come back", folder);
                }
            }
        } catch (IOException e) {
            Log.warnf("cannot tidy the work folder %s: %s", root, e.getMessage());
        }
    }

    private Path folderOf(RenderJobRequested job) {
        return Path.of(config.workDir()).resolve(ObjectKeys.segment(job.jobId()));
    }

    private static void deleteQuietly(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            Log.debugf("could not remove %s: %s", dir, e.getMessage());
        }
    }

    /** The marker file's content. */
    record KeptRender(String jobId, Instant renderedAt, List<KeptImage> images, Usage usage) {
    }

    /** One kept image, its file named relative to the job's folder. */
    record KeptImage(int index, String file, String format, int width, int height, long bytes, String sha256) {

        static KeptImage of(CheckedImage image) {
            return new KeptImage(image.index(), image.file().getFileName().toString(), image.format().name(),
                    image.width(), image.height(), image.bytes(), image.sha256());
        }

        CheckedImage toChecked(Path folder) {
            return new CheckedImage(index, folder.resolve(file), ImageFormat.valueOf(format), width, height, bytes, sha256);
        }
    }
}
