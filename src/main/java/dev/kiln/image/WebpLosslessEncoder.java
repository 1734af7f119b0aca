package dev.kiln.image;

/**
 * A minimal lossless WebP (VP8L) encoder, since ImageIO has no WebP writer. It trades size for
 * simplicity: no transforms, no colour cache, no backward references and one prefix-code group in
 * which every green, red, blue and alpha value costs 8 bits (alpha costs nothing when the image is
 * opaque). Files come out about as large as the raw pixels, which suits a simulator and tests.
 *
 * <p>Format: RFC 9649 (WebP Image Format), section 3 (lossless bitstream).
 */
public final class WebpLosslessEncoder {

    /** The largest edge the 14-bit VP8L header can describe. */
    public static final int MAX_EDGE = 16384;

    private static final int GREEN_ALPHABET = 256 + 24; // literals + length prefix codes, no colour cache
    private static final int[] CODE_LENGTH_CODE_ORDER = {17, 18, 0, 1, 2, 3, 4, 5, 16, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    private static final int[] REVERSED_BYTE = new int[256];

    static {
        for (int i = 0; i < 256; i++) {
            REVERSED_BYTE[i] = Integer.reverse(i) >>> 24;
        }
    }

    private WebpLosslessEncoder() {
    }

    /**
     * Encodes {@code argb} (one {@code 0xAARRGGBB} int a pixel, row by row) as a complete WebP file.
     *
     * @param withAlpha whether the alpha channel is kept; when false every pixel is written opaque
     */
    public static byte[] encode(int[] argb, int width, int height, boolean withAlpha) {
        if (width < 1 || height < 1 || width > MAX_EDGE || height > MAX_EDGE) {
            throw new IllegalArgumentException("VP8L edges must be 1 to 16384 pixels: " + width + "x" + height);
        }
        if (argb.length < width * height) {
            throw new IllegalArgumentException("fewer pixels than " + width + "x" + height);
        }
        int pixels = width * height;
        Vp8lBits bits = new Vp8lBits(32 + pixels * (withAlpha ? 4 : 3));
        bits.write(0x2F, 8); // VP8L signature
        bits.write(width - 1, 14);
        bits.write(height - 1, 14);
        bits.write(withAlpha ? 1 : 0, 1); // alpha_is_used
        bits.write(0, 3); // version
        bits.write(0, 1); // no transform
        bits.write(0, 1); // no colour cache
        bits.write(0, 1); // no meta prefix codes: one group for the whole image
        writeAllEightBitCode(bits, GREEN_ALPHABET);
        writeAllEightBitCode(bits, 256); // red
        writeAllEightBitCode(bits, 256); // blue
        if (withAlpha) {
            writeAllEightBitCode(bits, 256);
        } else {
            writeSingleSymbolCode(bits, 255); // a one-symbol code takes no bits per pixel
        }
        writeSingleSymbolCode(bits, 0); // distance: never used, since there are no backward references

        for (int i = 0; i < pixels; i++) {
            int p = argb[i];
            // canonical codes of length 8 in symbol order are the symbols themselves, sent MSB first
            int green = REVERSED_BYTE[(p >>> 8) & 0xFF];
            int red = REVERSED_BYTE[(p >>> 16) & 0xFF];
            int blue = REVERSED_BYTE[p & 0xFF];
            if (withAlpha) {
                bits.write(green | red << 8 | blue << 16 | REVERSED_BYTE[p >>> 24] << 24, 32);
            } else {
                bits.write(green | red << 8 | blue << 16, 24);
            }
        }
        return Vp8lBits.riff(bits.finish());
    }

    /**
     * A "normal" prefix code in which the first 256 symbols have length 8 and any further ones length
     * 0. The code lengths are themselves sent with a code-length code of two 1-bit codes: symbol 0
     * (length 0) and symbol 8 (length 8).
     */
    private static void writeAllEightBitCode(Vp8lBits bits, int alphabetSize) {
        bits.write(0, 1); // normal, not simple
        int codeLengthCodes = 12; // up to symbol 8 in CODE_LENGTH_CODE_ORDER
        bits.write(codeLengthCodes - 4, 4);
        for (int i = 0; i < codeLengthCodes; i++) {
            int symbol = CODE_LENGTH_CODE_ORDER[i];
            bits.write(symbol == 0 || symbol == 8 ? 1 : 0, 3);
        }
        bits.write(0, 1); // max_symbol = alphabet size: every code length follows
        for (int symbol = 0; symbol < alphabetSize; symbol++) {
            bits.write(symbol < 256 ? 1 : 0, 1); // canonical: code 0 = length 0, code 1 = length 8
        }
    }

    /** A "simple" prefix code with one 8-bit symbol, which the decoder reads with zero bits. */
    private static void writeSingleSymbolCode(Vp8lBits bits, int symbol) {
        bits.write(1, 1); // simple
        bits.write(0, 1); // one symbol
        bits.write(1, 1); // the symbol has 8 bits
        bits.write(symbol, 8);
    }
}
