package dev.kiln.status;

import com.fasterxml.jackson.core.io.JsonStringEncoder;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The JSON bodies of {@code GET /v1/jobs/{id}}, of an item and of a page of items, written from
 * the jobs' stored form ({@link StoredJob}) with their URLs presigned under the caller's prefix
 * ({@link ObjectUrls#presigned}): byte for byte what Jackson writes for {@link JobStatus} and
 * {@link StatusResource.ItemsResponse}, without building either.
 *
 * <p>Each answer is written into its thread's own buffer, kept from one request to the next, and
 * copied out once at its exact size: a page is some 90 KB, and a buffer sized by guess, grown and
 * then copied was most of what a page allocated.
 */
final class JobAnswers {

    private static final byte[] PAGE_START = "{\"items\":[".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] NEXT_CURSOR = "],\"next_cursor\":\"".getBytes(StandardCharsets.US_ASCII);
    /** A buffer kept per thread: room for a 100-item page with two URLs an item. */
    private static final int KEPT_CAPACITY = 256 * 1024;
    private static final ThreadLocal<AnswerBuffer> BUFFER = ThreadLocal.withInitial(AnswerBuffer::new);

    private JobAnswers() {
    }

    /** One job, {@code urls} giving each output's and thumbnail's URL from its key. */
    static byte[] job(byte[] stored, ObjectUrls urls) {
        AnswerBuffer out = BUFFER.get();
        try {
            StoredJob.writeResponse(stored, urls, out);
            return out.toByteArray();
        } finally {
            out.release();
        }
    }

    /** A page of jobs, with {@code nextCursor} unless it is null (the last page); URLs as in {@link #job}. */
    static byte[] page(List<byte[]> jobs, String nextCursor, ObjectUrls urls) {
        AnswerBuffer out = BUFFER.get();
        try {
            out.write(PAGE_START, 0, PAGE_START.length);
            for (int i = 0; i < jobs.size(); i++) {
                if (i > 0) {
                    out.write(',');
                }
                StoredJob.writeResponse(jobs.get(i), urls, out);
            }
            if (nextCursor == null) {
                out.write(']');
            } else {
                out.write(NEXT_CURSOR, 0, NEXT_CURSOR.length);
                byte[] cursor = JsonStringEncoder.getInstance().quoteAsUTF8(nextCursor);
                out.write(cursor, 0, cursor.length);
                out.write('"');
            }
            out.write('}');
            return out.toByteArray();
        } finally {
            out.release();
        }
    }

    /** A thread's answer buffer, emptied after each answer; one grown past a page is let go. */
    private static final class AnswerBuffer extends ByteArrayOutputStream {

        AnswerBuffer() {
            super(KEPT_CAPACITY);
        }

        void release() {
            if (buf.length > KEPT_CAPACITY) {
                // A page of 1,000 items: do not keep a megabyte per worker thread for it.
                BUFFER.remove();
            } else {
                reset();
            }
        }
    }
}
