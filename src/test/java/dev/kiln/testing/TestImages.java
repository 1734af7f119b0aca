package dev.kiln.testing;

import dev.kiln.image.WebpLosslessEncoder;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/** Small real images for tests, each with a gradient so that no two sizes compress alike. */
public final class TestImages {

    private TestImages() {
    }

    /** A PNG of {@code width} x {@code height}. */
    public static byte[] png(int width, int height) {
        return write(image(width, height, BufferedImage.TYPE_INT_ARGB), "png");
    }

    /** A JPEG of {@code width} x {@code height}. */
    public static byte[] jpeg(int width, int height) {
        return write(image(width, height, BufferedImage.TYPE_INT_RGB), "jpeg");
    }

    /** A lossless WebP of {@code width} x {@code height}. */
    public static byte[] webp(int width, int height) {
        BufferedImage image = image(width, height, BufferedImage.TYPE_INT_ARGB);
        return WebpLosslessEncoder.encode(image.getRGB(0, 0, width, height, null, 0, width), width, height, true);
    }

    private static BufferedImage image(int width, int height, int type) {
        BufferedImage image = new BufferedImage(width, height, type);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                image.setRGB(x, y, 0xff000000 | (x * 255 / width) << 16 | (y * 255 / height) << 8 | 0x40);
            }
        }
        return image;
    }

    private static byte[] write(BufferedImage image, String format) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            if (!ImageIO.write(image, format, out)) {
                throw new IllegalStateException("no ImageIO writer for " + format);
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
