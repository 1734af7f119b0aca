package dev.kiln.simulator;

import dev.kiln.image.Dimensions;
import dev.kiln.image.ImageDecoder;
import dev.kiln.image.ImageFormat;
import dev.kiln.image.ImageInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class PngPaddingTest {

    @Test
    void aPaddedPlaceholderHasTheSizeOfARealRenderAndTheSamePicture(@TempDir Path dir) throws IOException {
        byte[] placeholder = ImageRenderer.render("a ceramic mug on an oak table", 0, new Dimensions(1536, 1024), ImageFormat.PNG,
                false, null);
        byte[] padded = PngPadding.padTo(placeholder, 3_000_000);

        assertThat(placeholder.length).as("the placeholder compresses to tens of KB").isLessThan(200_000);
        assertThat(padded.length).isEqualTo(3_000_000);
        BufferedImage before = ImageIO.read(new ByteArrayInputStream(placeholder));
        BufferedImage after = ImageIO.read(new ByteArrayInputStream(padded));
        assertThat(after.getWidth()).isEqualTo(1536);
        assertThat(after.getHeight()).isEqualTo(1024);
        for (int x = 0; x < 1536; x += 97) {
            assertThat(after.getRGB(x, 512)).isEqualTo(before.getRGB(x, 512));
        }
        // Kiln's own check of a provider's output accepts it as the PNG it is.
        Path file = dir.resolve("padded.png");
        Files.write(file, padded);
        ImageInfo info = ImageDecoder.decode(file, 50_000_000);
        assertThat(info.format()).isEqualTo(ImageFormat.PNG);
        assertThat(info.dimensions()).isEqualTo(new Dimensions(1536, 1024));
    }

    @Test
    void aLargeEnoughImageIsLeftAsItIs() {
        byte[] png = ImageRenderer.render("a mug", 0, new Dimensions(1024, 1024), ImageFormat.PNG, false, null);
        assertThat(PngPadding.padTo(png, 0)).isSameAs(png);
        assertThat(PngPadding.padTo(png, png.length)).isSameAs(png);
    }
}
