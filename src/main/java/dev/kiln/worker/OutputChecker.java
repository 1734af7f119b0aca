package dev.kiln.worker;

import dev.kiln.job.Sha256;
import dev.kiln.image.CheckedImage;
import dev.kiln.provider.RenderedImages;
import dev.kiln.storage.OutputUploader;
import dev.kiln.image.Dimensions;
import dev.kiln.image.ImageFormat;
import dev.kiln.image.ImageInfo;
import dev.kiln.image.ImageProbe;
import dev.kiln.job.RenderJobRequested;
import jakarta.enterprise.context.ApplicationScoped;

import java.io.InputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Checks every decoded image against what the job asked for: the count, the format, the size
 * (unless {@code auto}) and that the file is whole. A mismatch is the provider's fault and so a
 * retryable error: storing a wrong image would be worse than paying for another try.
 */
@ApplicationScoped
public class OutputChecker {

    /** The checked images, in order, or why the answer is not usable. */
    public OutputCheck check(RenderJobRequested job, RenderedImages rendered) {
        if (rendered.files().size() != job.imageCount()) {
            return wrong("asked for " + job.imageCount() + " images, got " + rendered.files().size());
        }
        ImageFormat expectedFormat = OutputUploader.formatOf(job);
        String size = job.parameters() == null ? null : job.parameters().size();
        Optional<Dimensions> expectedSize = size == null || "auto".equals(size) ? Optional.empty() : Dimensions.parse(size);
        List<CheckedImage> checked = new ArrayList<>();
        for (int i = 0; i < rendered.files().size(); i++) {
            Path file = rendered.files().get(i);
            try {
                Optional<ImageInfo> info = ImageProbe.probe(file);
                String problem = info.isEmpty() ? "image " + i + " is not a PNG, JPEG or WebP"
                        : problem(i, file, info.get(), expectedFormat, expectedSize);
                if (problem != null) {
                    return wrong(problem);
                }
                checked.add(new CheckedImage(i, file, info.get().format(), info.get().width(), info.get().height(),
                        Files.size(file), sha256(file)));
            } catch (IOException e) {
                return new OutputCheck.Rejected("unreadable_output", "image " + i + " could not be read: " + e.getMessage());
            }
        }
        return new OutputCheck.Passed(checked);
    }

    private static String problem(int index, Path file, ImageInfo info, ImageFormat expectedFormat,
                                  Optional<Dimensions> expectedSize) throws IOException {
        if (info.format() != expectedFormat) {
            return "image " + index + " is " + info.format().extension() + ", asked for " + expectedFormat.extension();
        }
        if (expectedSize.isPresent()
                && (info.width() != expectedSize.get().width() || info.height() != expectedSize.get().height())) {
            return "image " + index + " is " + info.width() + "x" + info.height() + ", asked for "
                    + expectedSize.get().width() + "x" + expectedSize.get().height();
        }
        if (!ImageIntegrity.isComplete(file, info.format())) {
            return "image " + index + " is truncated";
        }
        return null;
    }

    private static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return Sha256.hexOf(in);
        }
    }

    private static OutputCheck wrong(String message) {
        return new OutputCheck.Rejected("invalid_output", message);
    }
}
