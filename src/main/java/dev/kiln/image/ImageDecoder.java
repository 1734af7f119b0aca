package dev.kiln.image;

import com.twelvemonkeys.imageio.plugins.webp.WebPImageReaderSpi;

import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Proves that a file is an intact PNG, JPEG or WebP image by decoding all of it: a header probe
 * ({@link ImageProbe}) alone would accept a truncated or corrupt file that the provider refuses
 * later, after the batch was accepted.
 *
 * <p>The pixel count is read from the header and checked against a cap before any pixel is
 * decoded, so that a small file claiming enormous dimensions (a decompression bomb) is refused
 * cheaply. The full decode then subsamples, so that memory stays near {@link #DECODE_PIXELS}
 * whatever the image's size while every byte of the compressed data is still read and checked.
 */
public final class ImageDecoder {

    /** About how many pixels the subsampled decode keeps in memory. */
    static final long DECODE_PIXELS = 1L << 22;

    private ImageDecoder() {
    }

    /**
     * Decodes the image at {@code file}.
     *
     * @param maxPixels the most pixels (width times height) accepted
     * @return format and size of the image
     * @throws UndecodableImageException when the file is no PNG, JPEG or WebP, too large, or
     *                                   cannot be decoded to its end
     */
    public static ImageInfo decode(Path file, long maxPixels) throws IOException {
        ImageInfo header = ImageProbe.probe(file)
                .orElseThrow(() -> new UndecodableImageException(UndecodableImageException.Kind.NOT_AN_IMAGE,
                        "must be a png, jpeg or webp image"));
        if (header.dimensions().pixels() > maxPixels) {
            throw new UndecodableImageException(UndecodableImageException.Kind.TOO_MANY_PIXELS,
                    "has " + header.size() + " pixels; at most " + maxPixels + " pixels in all are accepted");
        }
        if (header.format() == ImageFormat.WEBP) {
            checkRiffLength(file);
        }
        ImageReader reader = readerFor(header.format());
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            reader.setInput(in, true, true);
            int width = reader.getWidth(0);
            int height = reader.getHeight(0);
            if (width != header.width() || height != header.height()) {
                throw undecodable(header.format(), "its header and its data disagree on the size");
            }
            ImageReadParam param = reader.getDefaultReadParam();
            int step = subsampling(width, height);
            param.setSourceSubsampling(step, step, 0, 0);
            // Some decoders (the JDK's JPEG reader) only warn about missing data and fill the gap.
            List<String> warnings = new ArrayList<>();
            reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
            reader.read(0, param);
            if (!warnings.isEmpty()) {
                throw undecodable(header.format(), warnings.getFirst());
            }
            return header;
        } catch (IOException | RuntimeException e) {
            if (e instanceof UndecodableImageException known) {
                throw known;
            }
            // Decoders report corrupt data as IIOException, IndexOutOfBounds and the like: all mean the same here.
            throw undecodable(header.format(), e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
        } finally {
            reader.dispose();
        }
    }

    /**
     * A WebP file states its own length in its RIFF header. The WebP reader reads past the end of
     * a truncated lossless stream as if it were zeros, so the length is checked here instead.
     */
    private static void checkRiffLength(Path file) throws IOException {
        byte[] head = new byte[8];
        try (InputStream in = Files.newInputStream(file)) {
            if (in.readNBytes(head, 0, 8) < 8) {
                throw undecodable(ImageFormat.WEBP, "the file ends inside its header");
            }
        }
        long declared = (head[4] & 0xffL) | (head[5] & 0xffL) << 8 | (head[6] & 0xffL) << 16 | (head[7] & 0xffL) << 24;
        long actual = Files.size(file);
        if (declared + 8 > actual) {
            throw undecodable(ImageFormat.WEBP, "the file is truncated: its header declares " + (declared + 8)
                    + " bytes, but it has " + actual);
        }
    }

    /** The smallest step that keeps a subsampled decode within {@link #DECODE_PIXELS}. */
    static int subsampling(int width, int height) {
        long pixels = (long) width * height;
        int step = 1;
        while (pixels / ((long) step * step) > DECODE_PIXELS) {
            step++;
        }
        return step;
    }

    static ImageReader readerFor(ImageFormat format) throws IOException {
        if (format == ImageFormat.WEBP) {
            // Created directly rather than found through ImageIO's registry, which depends on the
            // class loader that first touched ImageIO and may miss the plugin.
            return new WebPImageReaderSpi().createReaderInstance();
        }
        Iterator<ImageReader> readers = ImageIO.getImageReadersByFormatName(format.apiName());
        if (!readers.hasNext()) {
            throw new IllegalStateException("this JVM has no ImageIO reader for " + format.apiName());
        }
        return readers.next();
    }

    private static UndecodableImageException undecodable(ImageFormat format, String why) {
        return new UndecodableImageException(UndecodableImageException.Kind.CORRUPT,
                "could not be decoded as " + format.apiName() + ": " + why);
    }
}
