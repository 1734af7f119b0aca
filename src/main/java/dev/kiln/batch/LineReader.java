package dev.kiln.batch;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * Splits a byte stream into lines ({@code \n}, with an optional {@code \r} before it), one at a
 * time, in a buffer that grows to the longest line seen and never past {@code maxLineBytes}: a
 * longer line is skipped to its end and reported, so that one runaway line cannot fill the heap.
 */
final class LineReader {

    private final InputStream in;
    private final int maxLineBytes;
    private final byte[] chunk = new byte[64 * 1024];
    private int chunkStart;
    private int chunkEnd;
    private byte[] line = new byte[4096];
    private int length;
    private boolean tooLong;
    private int number;

    LineReader(InputStream in, int maxLineBytes) {
        this.in = in;
        this.maxLineBytes = maxLineBytes;
    }

    /** Reads the next line into {@link #bytes()}; false at the end of the stream. */
    boolean next() throws IOException {
        length = 0;
        tooLong = false;
        boolean any = false;
        while (true) {
            if (chunkStart == chunkEnd) {
                int n = in.read(chunk);
                if (n < 0) {
                    if (any) {
                        number++;
                        trimCr();
                    }
                    return any;
                }
                chunkStart = 0;
                chunkEnd = n;
            }
            any = true;
            int newline = -1;
            for (int i = chunkStart; i < chunkEnd; i++) {
                if (chunk[i] == '\n') {
                    newline = i;
                    break;
                }
            }
            int end = newline < 0 ? chunkEnd : newline;
            append(chunkStart, end);
            chunkStart = newline < 0 ? chunkEnd : newline + 1;
            if (newline >= 0) {
                number++;
                trimCr();
                return true;
            }
        }
    }

    private void append(int from, int to) {
        int n = to - from;
        if (tooLong || length + n > maxLineBytes) {
            tooLong = true;
            return;
        }
        if (length + n > line.length) {
            line = Arrays.copyOf(line, Math.min(maxLineBytes, Math.max(line.length * 2, length + n)));
        }
        System.arraycopy(chunk, from, line, length, n);
        length += n;
    }

    private void trimCr() {
        if (!tooLong && length > 0 && line[length - 1] == '\r') {
            length--;
        }
    }

    /** The current line's bytes, valid up to {@link #length()} and until the next call of {@link #next()}. */
    byte[] bytes() {
        return line;
    }

    int length() {
        return length;
    }

    /** Whether the current line was longer than the limit (its bytes are then not kept). */
    boolean tooLong() {
        return tooLong;
    }

    /** The current line's number, from 1. */
    int number() {
        return number;
    }

    /** Whether the current line holds nothing but blanks. */
    boolean isBlank() {
        for (int i = 0; i < length; i++) {
            byte b = line[i];
            if (b != ' ' && b != '\t' && b != '\r') {
                return false;
            }
        }
        return !tooLong;
    }
}
