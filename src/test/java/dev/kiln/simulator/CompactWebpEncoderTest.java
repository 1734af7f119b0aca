package dev.kiln.simulator;

import dev.kiln.image.ImageFormat;
import dev.kiln.image.ImageInfo;
import dev.kiln.image.ImageProbe;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** Decodes every encoding with TwelveMonkeys' WebP reader, an independent VP8L decoder, pixel by pixel. */
class CompactWebpEncoderTest {

    @ParameterizedTest(name = "{0} {1}x{2} alpha={3}")
    @CsvSource({"noise,37,19,true", "noise,64,64,false", "flat,16,16,false", "flat,300,7,true", "bands,129,65,true",
            "bands,640,480,false", "few-colours,100,100,true", "one-pixel-different,50,50,false"})
    void decodesToTheSamePixels(String kind, int width, int height, boolean alpha) throws IOException {
        int[] pixels = pixels(kind, width, height, alpha);
        byte[] webp = CompactWebpEncoder.encode(pixels, width, height, alpha, 0);

        assertThat(ImageProbe.probe(webp)).contains(new ImageInfo(ImageFormat.WEBP, width, height));
        BufferedImage decoded = ImageIO.read(new ByteArrayInputStream(webp));
        assertThat(decoded).as("a WebP reader on the class path decodes it").isNotNull();
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int expected = pixels[y * width + x];
                if (!alpha) {
                    expected |= 0xFF000000;
                } else if (expected >>> 24 == 0) {
                    expected = 0; // a transparent pixel's colour is not kept
                }
                int actual = decoded.getRGB(x, y);
                if (actual >>> 24 == 0) {
                    actual = 0;
                }
                assertThat(Integer.toHexString(actual)).as("pixel %d,%d", x, y).isEqualTo(Integer.toHexString(expected));
            }
        }
    }

    @Test
    void flatPicturesTakeAFewBytes() {
        int[] pixels = pixels("bands", 1024, 1024, true);
        byte[] webp = CompactWebpEncoder.encode(pixels, 1024, 1024, true, 0);
        assertThat(webp.length).isLessThan(4 * 1024);
    }

    @Test
    void quantizingDropsLowBitsOfTheColoursOnly() throws IOException {
        int[] pixels = {0x80FFFFFF, 0xFF0F0F0F};
        BufferedImage decoded = ImageIO.read(new ByteArrayInputStream(CompactWebpEncoder.encode(pixels, 2, 1, true, 4)));
        assertThat(Integer.toHexString(decoded.getRGB(0, 0))).isEqualTo("80f0f0f0");
        assertThat(Integer.toHexString(decoded.getRGB(1, 0))).isEqualTo("ff000000");
    }

    @Test
    void prefixCodesFollowVp8l() {
        // value 1..4 are codes 0..3; then two codes per power of two
        assertThat(CompactWebpEncoder.prefixCode(1)).isZero();
        assertThat(CompactWebpEncoder.prefixCode(4)).isEqualTo(3);
        assertThat(CompactWebpEncoder.prefixCode(5)).isEqualTo(4);
        assertThat(CompactWebpEncoder.prefixCode(7)).isEqualTo(5);
        assertThat(CompactWebpEncoder.prefixCode(4096)).isEqualTo(23);
    }

    private static int[] pixels(String kind, int width, int height, boolean alpha) {
        Random random = new Random(width * 31L + height);
        int[] pixels = new int[width * height];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int p = switch (kind) {
                    case "noise" -> random.nextInt();
                    case "flat" -> 0xFF336699;
                    case "bands" -> (x / 16 * 8) << 16 | (y < height / 3 ? 0x40 : 0x80) << 8 | 0x20
                            | ((x - width / 2) * (x - width / 2) + (y - height / 2) * (y - height / 2) < width * width / 9
                            ? 0xFF000000 : 0);
                    case "few-colours" -> new int[] {0xFF000000, 0xFFFFFFFF, 0x80FF0000}[random.nextInt(3)];
                    case "one-pixel-different" -> x == 20 && y == 30 ? 0xFF010203 : 0xFFFFFFFF;
                    default -> throw new IllegalArgumentException(kind);
                };
                pixels[y * width + x] = alpha ? p : p | 0xFF000000;
            }
        }
        return pixels;
    }
}
