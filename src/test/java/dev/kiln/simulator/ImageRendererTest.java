package dev.kiln.simulator;

import dev.kiln.image.Dimensions;
import dev.kiln.image.ImageFormat;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;

import static org.assertj.core.api.Assertions.assertThat;

class ImageRendererTest {

    private static final Dimensions SQUARE = new Dimensions(1024, 1024);

    @Test
    void aTransparentWebpCutOutTakesKilobytesNotMegabytes() throws IOException {
        byte[] webp = ImageRenderer.render("a chair", 0, SQUARE, ImageFormat.WEBP, true, null);
        assertThat(webp.length).as("bytes").isLessThan(32 * 1024);
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(webp));
        assertThat(image.getWidth()).isEqualTo(1024);
        assertThat(image.getRGB(0, 0) >>> 24).as("corner alpha").isZero();
        assertThat(image.getRGB(512, 512) >>> 24).as("centre alpha").isEqualTo(255);
    }

    @Test
    void everyFormatStaysSmallAtTheLargestSize() {
        Dimensions largest = new Dimensions(3840, 2160);
        for (ImageFormat format : ImageFormat.values()) {
            byte[] image = ImageRenderer.render("a billboard", 0, largest, format, false, null);
            assertThat(image.length).as(format + " bytes").isLessThan(1024 * 1024);
        }
    }

    @Test
    void jpegQualityFollowsOutputCompression() {
        byte[] best = ImageRenderer.render("a teapot", 0, SQUARE, ImageFormat.JPEG, false, 100);
        byte[] small = ImageRenderer.render("a teapot", 0, SQUARE, ImageFormat.JPEG, false, 10);
        assertThat(small.length).isLessThan(best.length * 3 / 4);
    }

    @Test
    void webpDropsLowColourBitsAsOutputCompressionFalls() throws IOException {
        assertThat(ImageRenderer.webpQuantizeBits(null)).isZero();
        assertThat(ImageRenderer.webpQuantizeBits(100)).isZero();
        assertThat(ImageRenderer.webpQuantizeBits(99)).isEqualTo(1);
        assertThat(ImageRenderer.webpQuantizeBits(50)).isEqualTo(2);
        assertThat(ImageRenderer.webpQuantizeBits(0)).isEqualTo(4);
        byte[] lossless = ImageRenderer.render("a teapot", 0, SQUARE, ImageFormat.WEBP, false, 100);
        byte[] quantized = ImageRenderer.render("a teapot", 0, SQUARE, ImageFormat.WEBP, false, 0);
        assertThat(lossless).isNotEqualTo(quantized);
        int pixel = ImageIO.read(new ByteArrayInputStream(quantized)).getRGB(700, 1000);
        assertThat(pixel & 0x0F0F0F).as("low four bits of each channel").isZero();
    }

    @Test
    void rendersFastEnoughNotToBeTheBottleneck() {
        for (ImageFormat format : ImageFormat.values()) {
            ImageRenderer.render("warm-up", 0, SQUARE, format, false, null);
            // CPU time, not wall-clock time: the build machine is shared, and only our own cost matters
            java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
            long start = threads.getCurrentThreadCpuTime();
            for (int i = 0; i < 10; i++) {
                ImageRenderer.render("speed " + i, 0, SQUARE, format, format != ImageFormat.JPEG, null);
            }
            long perImageMillis = (threads.getCurrentThreadCpuTime() - start) / 10 / 1_000_000;
            assertThat(perImageMillis).as("ms per 1024x1024 " + format).isLessThan(150);
        }
    }

    @Test
    void pngKeepsEveryPixel() throws IOException {
        byte[] png = ImageRenderer.render("a lamp", 1, new Dimensions(1536, 1024), ImageFormat.PNG, true, null);
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(png));
        byte[] webp = ImageRenderer.render("a lamp", 1, new Dimensions(1536, 1024), ImageFormat.WEBP, true, null);
        BufferedImage same = ImageIO.read(new ByteArrayInputStream(webp));
        for (int y = 0; y < 1024; y += 7) {
            for (int x = 0; x < 1536; x += 5) {
                int a = image.getRGB(x, y);
                int b = same.getRGB(x, y);
                assertThat(a >>> 24 == 0 ? 0 : a).as("pixel %d,%d", x, y).isEqualTo(b >>> 24 == 0 ? 0 : b);
            }
        }
    }
}
