package dev.kiln.simulator;

import dev.kiln.image.Vp8lBits;

import java.util.Arrays;
import java.util.PriorityQueue;

/**
 * A lossless WebP (VP8L, RFC 9649 section 3) encoder that makes flat pictures small: backward
 * references copy the pixel to the left (runs) or the row above (repeated rows), and every channel
 * gets a Huffman code built from its own histogram. No transforms and no colour cache: the
 * simulator's placeholders are axis-aligned flat areas and horizontal gradients, for which these
 * two references already take a 1024x1024 picture down to a few kilobytes.
 *
 * <p>Neither the JDK nor TwelveMonkeys (a reader only) can write WebP, and
 * {@code dev.kiln.image.WebpLosslessEncoder} deliberately writes every pixel raw, so the simulator
 * carries this one. {@code quantizeBits} is a near-lossless pre-pass: dropping low bits of each
 * colour channel is the only way this encoder can honour {@code output_compression}.
 */
final class CompactWebpEncoder {

    static final int MAX_EDGE = 16384;

    private static final int LITERALS = 256;
    private static final int LENGTH_CODES = 24;
    private static final int DISTANCE_CODES = 40;
    private static final int MAX_LENGTH = 4096;
    /** A backward reference costs some 10 to 20 bits; shorter matches are cheaper as literals. */
    private static final int MIN_MATCH = 3;
    /** VP8L distance codes 1 and 2 are the neighbours (0,1), the pixel above, and (1,0), the one to the left. */
    private static final int DISTANCE_CODE_ABOVE = 1;
    private static final int DISTANCE_CODE_LEFT = 2;
    private static final int MAX_CODE_LENGTH = 15;
    private static final int MAX_CODE_LENGTH_CODE_LENGTH = 7;
    private static final int[] CODE_LENGTH_CODE_ORDER = {17, 18, 0, 1, 2, 3, 4, 5, 16, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

    private CompactWebpEncoder() {
    }

    /**
     * Encodes {@code argb} (one {@code 0xAARRGGBB} int a pixel, row by row) as a complete WebP file.
     *
     * @param withAlpha    whether the alpha channel is kept; when false every pixel is written opaque
     * @param quantizeBits low bits (0 to 7) cleared in each colour channel before encoding; 0 is lossless
     */
    static byte[] encode(int[] argb, int width, int height, boolean withAlpha, int quantizeBits) {
        if (width < 1 || height < 1 || width > MAX_EDGE || height > MAX_EDGE) {
            throw new IllegalArgumentException("VP8L edges must be 1 to 16384 pixels: " + width + "x" + height);
        }
        if (quantizeBits < 0 || quantizeBits > 7) {
            throw new IllegalArgumentException("quantizeBits must be 0 to 7: " + quantizeBits);
        }
        int pixels = width * height;
        int[] image = prepare(argb, pixels, withAlpha, quantizeBits);
        Tokens tokens = tokenize(image, width);

        int[] green = new int[LITERALS + LENGTH_CODES];
        int[] red = new int[LITERALS];
        int[] blue = new int[LITERALS];
        int[] alpha = new int[LITERALS];
        int[] distance = new int[DISTANCE_CODES];
        for (int i = 0; i < tokens.size; i++) {
            int length = tokens.lengths[i];
            int value = tokens.values[i];
            if (length == 0) {
                green[(value >>> 8) & 0xFF]++;
                red[(value >>> 16) & 0xFF]++;
                blue[value & 0xFF]++;
                alpha[value >>> 24]++;
            } else {
                green[LITERALS + prefixCode(length)]++;
                distance[prefixCode(value)]++;
            }
        }

        Vp8lBits bits = new Vp8lBits(Math.max(1024, tokens.size * 2));
        bits.write(0x2F, 8); // VP8L signature
        bits.write(width - 1, 14);
        bits.write(height - 1, 14);
        bits.write(withAlpha ? 1 : 0, 1);
        bits.write(0, 3); // version
        bits.write(0, 1); // no transform
        bits.write(0, 1); // no colour cache
        bits.write(0, 1); // no meta prefix codes: one group for the whole image
        PrefixCode greenCode = PrefixCode.write(bits, green);
        PrefixCode redCode = PrefixCode.write(bits, red);
        PrefixCode blueCode = PrefixCode.write(bits, blue);
        PrefixCode alphaCode = PrefixCode.write(bits, alpha);
        PrefixCode distanceCode = PrefixCode.write(bits, distance);

        for (int i = 0; i < tokens.size; i++) {
            int length = tokens.lengths[i];
            int value = tokens.values[i];
            if (length == 0) {
                greenCode.emit(bits, (value >>> 8) & 0xFF);
                redCode.emit(bits, (value >>> 16) & 0xFF);
                blueCode.emit(bits, value & 0xFF);
                alphaCode.emit(bits, value >>> 24);
            } else {
                int lengthPrefix = prefixCode(length);
                greenCode.emit(bits, LITERALS + lengthPrefix);
                writeExtraBits(bits, length, lengthPrefix);
                int distancePrefix = prefixCode(value);
                distanceCode.emit(bits, distancePrefix);
                writeExtraBits(bits, value, distancePrefix);
            }
        }
        return Vp8lBits.riff(bits.finish());
    }

    private static int[] prepare(int[] argb, int pixels, boolean withAlpha, int quantizeBits) {
        if (argb.length < pixels) {
            throw new IllegalArgumentException("fewer pixels than the image holds");
        }
        int keep = 0xFF & (0xFF << quantizeBits);
        int colourMask = keep << 16 | keep << 8 | keep;
        int[] out = new int[pixels];
        for (int i = 0; i < pixels; i++) {
            int p = argb[i];
            int a = withAlpha ? p >>> 24 : 0xFF;
            // a transparent pixel's colour is invisible: zero makes every one of them alike, so they run
            out[i] = a == 0 ? 0 : a << 24 | (p & colourMask);
        }
        return out;
    }

    /**
     * Greedy LZ77 over two candidates only, the row above and the pixel to the left, taking the
     * longer match: enough for pictures made of runs and repeated rows, and linear in the pixels.
     */
    private static Tokens tokenize(int[] image, int width) {
        Tokens tokens = new Tokens(Math.max(16, image.length / 64));
        int i = 0;
        while (i < image.length) {
            int above = i >= width ? matchLength(image, i, i - width) : 0;
            int left = i >= 1 ? matchLength(image, i, i - 1) : 0;
            if (Math.max(above, left) >= MIN_MATCH) {
                int length = Math.max(above, left);
                tokens.add(length, above >= left ? DISTANCE_CODE_ABOVE : DISTANCE_CODE_LEFT);
                i += length;
            } else {
                tokens.add(0, image[i]);
                i++;
            }
        }
        return tokens;
    }

    private static int matchLength(int[] image, int at, int from) {
        int limit = Math.min(MAX_LENGTH, image.length - at);
        int n = 0;
        while (n < limit && image[at + n] == image[from + n]) {
            n++;
        }
        return n;
    }

    /** The VP8L prefix code of a length or distance code {@code value} (1 and up). */
    static int prefixCode(int value) {
        int d = value - 1;
        if (d < 4) {
            return d;
        }
        int highest = 31 - Integer.numberOfLeadingZeros(d);
        int second = (d >>> (highest - 1)) & 1;
        return 2 * highest + second;
    }

    private static void writeExtraBits(Vp8lBits bits, int value, int prefix) {
        if (prefix < 4) {
            return;
        }
        int extraBits = (prefix - 2) >>> 1;
        int offset = (2 + (prefix & 1)) << extraBits;
        bits.write(value - 1 - offset, extraBits);
    }

    /** Literals (length 0, value ARGB) and backward references (length, value the distance code). */
    private static final class Tokens {
        int[] lengths;
        int[] values;
        int size;

        Tokens(int capacity) {
            lengths = new int[capacity];
            values = new int[capacity];
        }

        void add(int length, int value) {
            if (size == lengths.length) {
                lengths = Arrays.copyOf(lengths, size * 2);
                values = Arrays.copyOf(values, size * 2);
            }
            lengths[size] = length;
            values[size] = value;
            size++;
        }
    }

    /**
     * A canonical prefix code as VP8L reads it. A code with a single used symbol is read with zero
     * bits by decoders (libwebp and TwelveMonkeys alike), so it emits nothing.
     */
    private static final class PrefixCode {
        private final int[] lengths;
        private final int[] reversedCodes;
        private final boolean silent;

        private PrefixCode(int[] lengths, boolean silent) {
            this.lengths = lengths;
            this.silent = silent;
            this.reversedCodes = canonicalReversedCodes(lengths);
        }

        void emit(Vp8lBits bits, int symbol) {
            if (!silent) {
                bits.write(reversedCodes[symbol], lengths[symbol]);
            }
        }

        /** Writes the code for {@code histogram} to the stream and returns it. */
        static PrefixCode write(Vp8lBits bits, int[] histogram) {
            int used = 0;
            int first = -1;
            int second = -1;
            for (int s = 0; s < histogram.length; s++) {
                if (histogram[s] > 0) {
                    used++;
                    if (first < 0) {
                        first = s;
                    } else if (second < 0) {
                        second = s;
                    }
                }
            }
            if (used <= 1 && first < 256) {
                // simple code, one symbol: read with zero bits
                bits.write(1, 1);
                bits.write(0, 1);
                int symbol = Math.max(0, first);
                bits.write(symbol < 2 ? 0 : 1, 1);
                bits.write(symbol, symbol < 2 ? 1 : 8);
                return new PrefixCode(new int[histogram.length], true);
            }
            if (used == 2 && second < 256) {
                // simple code, two symbols of one bit each; the first listed gets code 0
                bits.write(1, 1);
                bits.write(1, 1);
                bits.write(first < 2 ? 0 : 1, 1);
                bits.write(first, first < 2 ? 1 : 8);
                bits.write(second, 8);
                int[] lengths = new int[histogram.length];
                lengths[first] = 1;
                lengths[second] = 1;
                return new PrefixCode(lengths, false);
            }
            int[] lengths = huffmanLengths(histogram, MAX_CODE_LENGTH);
            bits.write(0, 1); // normal code
            writeCodeLengths(bits, lengths);
            return new PrefixCode(lengths, used == 1);
        }

        /** The code lengths, run-length coded with symbols 17 and 18 for zeros, under a code-length code. */
        private static void writeCodeLengths(Vp8lBits bits, int[] lengths) {
            int[] symbols = new int[lengths.length];
            int[] extras = new int[lengths.length];
            int count = 0;
            for (int i = 0; i < lengths.length; ) {
                if (lengths[i] == 0) {
                    int run = 1;
                    while (i + run < lengths.length && lengths[i + run] == 0 && run < 138) {
                        run++;
                    }
                    if (run >= 11) {
                        symbols[count] = 18;
                        extras[count++] = run - 11;
                        i += run;
                        continue;
                    }
                    if (run >= 3) {
                        symbols[count] = 17;
                        extras[count++] = run - 3;
                        i += run;
                        continue;
                    }
                }
                symbols[count++] = lengths[i];
                i++;
            }
            int[] histogram = new int[19];
            for (int i = 0; i < count; i++) {
                histogram[symbols[i]]++;
            }
            int[] codeLengthLengths = huffmanLengths(histogram, MAX_CODE_LENGTH_CODE_LENGTH);
            int used = 0;
            for (int length : codeLengthLengths) {
                used += length > 0 ? 1 : 0;
            }
            int written = CODE_LENGTH_CODE_ORDER.length;
            while (written > 4 && codeLengthLengths[CODE_LENGTH_CODE_ORDER[written - 1]] == 0) {
                written--;
            }
            bits.write(written - 4, 4);
            for (int i = 0; i < written; i++) {
                bits.write(codeLengthLengths[CODE_LENGTH_CODE_ORDER[i]], 3);
            }
            bits.write(0, 1); // max_symbol is the alphabet size: every length follows
            PrefixCode codeLengthCode = new PrefixCode(codeLengthLengths, used == 1);
            for (int i = 0; i < count; i++) {
                codeLengthCode.emit(bits, symbols[i]);
                if (symbols[i] == 17) {
                    bits.write(extras[i], 3);
                } else if (symbols[i] == 18) {
                    bits.write(extras[i], 7);
                }
            }
        }

        /**
         * Huffman code lengths of at most {@code maxLength} bits. When the tree is too deep the counts
         * are halved (never below one) and the tree rebuilt: still a complete code, as decoders require.
         */
        static int[] huffmanLengths(int[] histogram, int maxLength) {
            long[] counts = new long[histogram.length];
            int used = 0;
            for (int s = 0; s < histogram.length; s++) {
                counts[s] = histogram[s];
                used += histogram[s] > 0 ? 1 : 0;
            }
            int[] lengths = new int[histogram.length];
            if (used == 0) {
                return lengths;
            }
            if (used == 1) {
                for (int s = 0; s < histogram.length; s++) {
                    if (counts[s] > 0) {
                        lengths[s] = 1;
                    }
                }
                return lengths;
            }
            while (true) {
                buildTree(counts, lengths);
                int max = Arrays.stream(lengths).max().orElse(0);
                if (max <= maxLength) {
                    return lengths;
                }
                for (int s = 0; s < counts.length; s++) {
                    if (counts[s] > 0) {
                        counts[s] = Math.max(1, counts[s] >> 1);
                    }
                }
            }
        }

        private static void buildTree(long[] counts, int[] lengths) {
            int n = counts.length;
            // nodes 0..n-1 are leaves, then internal nodes; parent links give each leaf its depth
            int[] parent = new int[2 * n];
            long[] weight = new long[2 * n];
            PriorityQueue<long[]> queue = new PriorityQueue<>((a, b) -> a[0] != b[0]
                    ? Long.compare(a[0], b[0]) : Long.compare(a[1], b[1]));
            for (int s = 0; s < n; s++) {
                if (counts[s] > 0) {
                    weight[s] = counts[s];
                    queue.add(new long[] {counts[s], s});
                }
            }
            int next = n;
            while (queue.size() > 1) {
                long[] a = queue.poll();
                long[] b = queue.poll();
                weight[next] = a[0] + b[0];
                parent[(int) a[1]] = next;
                parent[(int) b[1]] = next;
                queue.add(new long[] {weight[next], next});
                next++;
            }
            int root = next - 1;
            Arrays.fill(lengths, 0);
            for (int s = 0; s < n; s++) {
                if (counts[s] > 0) {
                    int depth = 0;
                    for (int node = s; node != root; node = parent[node]) {
                        depth++;
                    }
                    lengths[s] = depth;
                }
            }
        }

        /** Canonical codes (shorter first, then by symbol), bit-reversed since VP8L reads codes MSB first from an LSB-first stream. */
        private static int[] canonicalReversedCodes(int[] lengths) {
            int[] countPerLength = new int[MAX_CODE_LENGTH + 2];
            for (int length : lengths) {
                countPerLength[length]++;
            }
            countPerLength[0] = 0;
            int[] nextCode = new int[MAX_CODE_LENGTH + 2];
            int code = 0;
            for (int length = 1; length <= MAX_CODE_LENGTH + 1; length++) {
                code = (code + countPerLength[length - 1]) << 1;
                nextCode[length] = code;
            }
            int[] reversed = new int[lengths.length];
            for (int s = 0; s < lengths.length; s++) {
                int length = lengths[s];
                if (length > 0) {
                    reversed[s] = Integer.reverse(nextCode[length]++) >>> (32 - length);
                }
            }
            return reversed;
        }
    }

}
