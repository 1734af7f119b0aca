package dev.kiln.image;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.ImageOutputStream;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Small previews of rendered images, {@value #LONG_EDGE} px on the long edge, in the image's own
 * format, for the console's gallery: a grid of 4K images would download hundreds of megabytes.
 *
 * <p>Memory: the image is decoded with source subsampling (every n-th pixel of every n-th row,
 * n = long edge / {@value #LONG_EDGE}), so the decoder's destination is at most
 * 2 × {@value #LONG_EDGE} px on its long edge (under 1 MB as ARGB); the rest is scaled with
 * bilinear filtering. The JDK's PNG and JPEG readers decode row by row into that destination, so a
 * 3840x2160 PNG or JPEG never sits whole in the heap (under 1 MB allocated in all, measured by
 * {@code ThumbnailsTest}). The WebP reader (TwelveMonkeys) decodes a lossless image whole before it
 * subsamples: about 4 bytes a pixel, 33 MB for 3840x2160. WebP thumbnails are therefore made one at
 * a time per process, which caps that cost at one image whatever the number of jobs in flight.
 */
public final class Thumbnails {

    /** The long edge of a thumbnail, in pixels. */
    public static final int LONG_EDGE = 256;

    /** JPEG quality of JPEG thumbnails: small, and good enough for a grid. */
    private static final float JPEG_QUALITY = 0.8f;

    /** One whole-image WebP decode at a time (see the class comment). */
    private static final ReentrantLock WHOLE_DECODE = new ReentrantLock();

    private Thumbnails() {
    }

    /**
     * A thumbnail.
     *
     * @param bytes  the encoded image, in the source's format
     * @param width  pixels
     * @param height pixels
     */
    public record Thumbnail(byte[] bytes, int width, int height) {
    }

    /**
     * The thumbnail of the image at {@code file}. An image whose long edge is at most
     * {@value #LONG_EDGE} px is its own thumbnail, and so is one whose thumbnail would not come
     * out smaller than itself (a tiny, flat image): a thumbnail is never larger than its original.
     *
     * @throws IOException when the file cannot be read or decoded
     */
    public static Thumbnail of(Path file, ImageFormat format) throws IOException {
        if (format != ImageFormat.WEBP) {
            return make(file, format);
        }
        WHOLE_DECODE.lock();
        try {
            return make(file, format);
        } finally {
            WHOLE_DECODE.unlock();
        }
    }

    /**
     * The size of the thumbnail of a {@code width} x {@code height} image: {@value #LONG_EDGE} px on
     * the long edge with the aspect ratio kept, or the image's own size when it is no larger.
     */
    public static Dimensions sizeOf(int width, int height) {
        int longEdge = Math.max(width, height);
        if (longEdge <= LONG_EDGE) {
            return new Dimensions(width, height);
        }
        return new Dimensions(Math.max(1, (int) Math.round((double) width * LONG_EDGE / longEdge)),
                Math.max(1, (int) Math.round((double) height * LONG_EDGE / longEdge)));
    }

    private static Thumbnail make(Path file, ImageFormat format) throws IOException {
        ImageReader reader = ImageDecoder.readerFor(format);
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            reader.setInput(in, true, true);
            int width = reader.getWidth(0);
            int height = reader.getHeight(0);
            int longEdge = Math.max(width, height);
            if (longEdge <= LONG_EDGE) {
                return new Thumbnail(Files.readAllBytes(file), width, height);
            }
            Dimensions target = sizeOf(width, height);
            int targetWidth = target.width();
            int targetHeight = target.height();
            ImageReadParam param = reader.getDefaultReadParam();
            int step = Math.max(1, longEdge / LONG_EDGE);
            param.setSourceSubsampling(step, step, 0, 0);
            BufferedImage sampled = reader.read(0, param);
            BufferedImage small = scale(sampled, targetWidth, targetHeight, format.supportsAlpha());
            byte[] encoded = encode(small, format);
            if (encoded.length >= Files.size(file)) {
                return new Thumbnail(Files.readAllBytes(file), width, height);
            }
            return new Thumbnail(encoded, targetWidth, targetHeight);
        } finally {
            reader.dispose();
        }
    }

    private static BufferedImage scale(BufferedImage source, int width, int height, boolean alpha) {
        BufferedImage target = new BufferedImage(width, height, alpha ? BufferedImage.TYPE_INT_ARGB : BufferedImage.TYPE_INT_RGB);
        Graphics2D g = target.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
            g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
            g.drawImage(source, 0, 0, width, height, null);
        } finally {
            g.dispose();
        }
        return target;
    }

    private static byte[] encode(BufferedImage image, ImageFormat format) throws IOException {
        if (format == ImageFormat.WEBP) {
            // ImageIO has no WebP writer; a lossless one is fine at this size.
            int[] argb = image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth());
            return WebpLosslessEncoder.encode(argb, image.getWidth(), image.getHeight(), true);
        }
        Iterator<ImageWriter> writers = ImageIO.getImageWritersByFormatName(format.apiName());
        if (!writers.hasNext()) {
            throw new IllegalStateException("this JVM has no ImageIO writer for " + format.apiName());
        }
        ImageWriter writer = writers.next();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ImageOutputStream out = ImageIO.createImageOutputStream(bytes)) {
            writer.setOutput(out);
            ImageWriteParam param = writer.getDefaultWriteParam();
            if (format == ImageFormat.JPEG) {
                param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
                param.setCompressionQuality(JPEG_QUALITY);
            }
            writer.write(null, new IIOImage(image, null, null), param);
        } finally {
            writer.dispose();
        }
        return bytes.toByteArray();
    }
}
