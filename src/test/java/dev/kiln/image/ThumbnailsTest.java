package dev.kiln.image;

import dev.kiln.testing.TestImages;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import javax.imageio.ImageIO;
import java.io.ByteArrayInputStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Thumbnails of every output format: 256 px on the long edge with the aspect ratio kept, in the
 * source's own format, smaller than the original. PNG and JPEG are made without the whole source in
 * the heap: the bytes allocated while making the thumbnail of a 3840x2160 image stay under a tenth
 * of that image's raster (this thread's allocation counter counts every array the decoder makes).
 * The WebP reader decodes a lossless image whole: at most one raster, and one at a time.
 */
class ThumbnailsTest {

    /** One whole 3840x2160 image as 4-byte pixels: what a decode without subsampling would hold. */
    private static final long WHOLE_4K_RASTER = 3840L * 2160 * 4;

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(ImageFormat.class)
    void a4kImageBecomesA256PxThumbnailWithoutSittingWholeInTheHeap(ImageFormat format) throws Exception {
        Path source = write(format, 3840, 2160);
        Thumbnails.of(source, format); // warm up: class loading and the codecs' tables are not the image

        long before = allocatedBytes();
        Thumbnails.Thumbnail thumbnail = Thumbnails.of(source, format);
        long allocated = allocatedBytes() - before;

        assertThat(thumbnail.width()).isEqualTo(256);
        assertThat(thumbnail.height()).isEqualTo(144);
        Optional<ImageInfo> probed = ImageProbe.probe(bytesFile(thumbnail.bytes(), format));
        assertThat(probed).as("a " + format + " thumbnail").hasValueSatisfying(info -> {
            assertThat(info.format()).isEqualTo(format);
            assertThat(info.width()).isEqualTo(256);
            assertThat(info.height()).isEqualTo(144);
        });
        if (format != ImageFormat.WEBP) {
            assertThat(ImageIO.read(new ByteArrayInputStream(thumbnail.bytes())).getWidth()).isEqualTo(256);
        }
        assertThat((long) thumbnail.bytes().length).as("smaller than the original").isLessThan(Files.size(source) / 4);
        System.out.printf("%s 3840x2160 (%d bytes) -> 256x144 thumbnail (%d bytes), %d bytes allocated%n",
                format, Files.size(source), thumbnail.bytes().length, allocated);
        if (format == ImageFormat.WEBP) {
            assertThat(allocated).as("WebP: one whole raster and little more").isLessThan(WHOLE_4K_RASTER * 11 / 10);
        } else {
            assertThat(allocated).as(format + ": bytes allocated making the thumbnail, against one whole 4K raster")
                    .isLessThan(WHOLE_4K_RASTER / 10);
        }
    }

    @ParameterizedTest
    @EnumSource(ImageFormat.class)
    void portraitImagesKeepTheirAspectRatio(ImageFormat format) throws Exception {
        Thumbnails.Thumbnail thumbnail = Thumbnails.of(write(format, 1024, 1536), format);

        assertThat(thumbnail.height()).isEqualTo(256);
        assertThat(thumbnail.width()).isEqualTo(171);
    }

    @ParameterizedTest
    @EnumSource(ImageFormat.class)
    void aSmallImageIsItsOwnThumbnail(ImageFormat format) throws Exception {
        Path source = write(format, 200, 120);

        Thumbnails.Thumbnail thumbnail = Thumbnails.of(source, format);

        assertThat(thumbnail.bytes()).isEqualTo(Files.readAllBytes(source));
        assertThat(thumbnail.width()).isEqualTo(200);
        assertThat(thumbnail.height()).isEqualTo(120);
    }

    private Path write(ImageFormat format, int width, int height) throws Exception {
        byte[] bytes = switch (format) {
            case PNG -> TestImages.png(width, height);
            case JPEG -> TestImages.jpeg(width, height);
            case WEBP -> TestImages.webp(width, height);
        };
        Path file = dir.resolve(width + "x" + height + "." + format.extension());
        Files.write(file, bytes);
        return file;
    }

    private Path bytesFile(byte[] bytes, ImageFormat format) throws Exception {
        Path file = Files.createTempFile(dir, "thumb", "." + format.extension());
        Files.write(file, bytes);
        return file;
    }

    private static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }
}
