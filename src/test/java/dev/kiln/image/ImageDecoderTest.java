package dev.kiln.image;

import dev.kiln.testing.TestImages;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ImageDecoderTest {

    private static final long NO_CAP = Long.MAX_VALUE;

    @TempDir
    Path dir;

    @Test
    void decodesPngJpegAndWebpWithTheirSize() throws IOException {
        assertThat(ImageDecoder.decode(file("a.png", TestImages.png(300, 200)), NO_CAP))
                .isEqualTo(new ImageInfo(ImageFormat.PNG, 300, 200));
        assertThat(ImageDecoder.decode(file("a.jpg", TestImages.jpeg(320, 240)), NO_CAP))
                .isEqualTo(new ImageInfo(ImageFormat.JPEG, 320, 240));
        assertThat(ImageDecoder.decode(file("a.webp", TestImages.webp(64, 48)), NO_CAP))
                .isEqualTo(new ImageInfo(ImageFormat.WEBP, 64, 48));
    }

    @Test
    void aFileThatIsNoImageIsRefusedAsSuch() throws IOException {
        Path gif = file("a.gif", "GIF89a\u0001\u0000\u0001\u0000".getBytes());
        assertThatThrownBy(() -> ImageDecoder.decode(gif, NO_CAP))
                .isInstanceOfSatisfying(UndecodableImageException.class,
                        e -> assertThat(e.kind()).isEqualTo(UndecodableImageException.Kind.NOT_AN_IMAGE))
                .hasMessageContaining("png, jpeg or webp");
    }

    @Test
    void aTruncatedImageWhoseHeaderIsIntactIsRefusedAsCorrupt() throws IOException {
        for (byte[] whole : new byte[][]{TestImages.png(400, 300), TestImages.jpeg(400, 300), TestImages.webp(200, 150)}) {
            assertThat(ImageProbe.probe(Arrays.copyOf(whole, whole.length / 2))).as("the header alone looks fine").isPresent();
            Path half = file("half", Arrays.copyOf(whole, whole.length / 2));
            assertThatThrownBy(() -> ImageDecoder.decode(half, NO_CAP))
                    .isInstanceOfSatisfying(UndecodableImageException.class,
                            e -> assertThat(e.kind()).isEqualTo(UndecodableImageException.Kind.CORRUPT))
                    .hasMessageContaining("could not be decoded");
        }
    }

    @Test
    void moreThanTheCapOfPixelsIsRefusedBeforeDecoding() throws IOException {
        Path png = file("big.png", TestImages.png(200, 100));
        assertThatThrownBy(() -> ImageDecoder.decode(png, 19_999))
                .isInstanceOfSatisfying(UndecodableImageException.class,
                        e -> assertThat(e.kind()).isEqualTo(UndecodableImageException.Kind.TOO_MANY_PIXELS));
        assertThat(ImageDecoder.decode(png, 20_000).width()).isEqualTo(200);
    }

    @Test
    void subsamplingKeepsTheDecodeSmall() {
        assertThat(ImageDecoder.subsampling(1024, 1024)).isEqualTo(1);
        assertThat(ImageDecoder.subsampling(3840, 2160)).isEqualTo(2);
        assertThat((long) 10_000 * 10_000 / (ImageDecoder.subsampling(10_000, 10_000) * (long) ImageDecoder.subsampling(10_000, 10_000)))
                .isLessThanOrEqualTo(ImageDecoder.DECODE_PIXELS);
    }

    private Path file(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }
}
