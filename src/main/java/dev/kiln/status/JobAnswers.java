package dev.kiln.status;

import com.fasterxml.jackson.core.io.JsonStringEncoder;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Function;

/**
 * The JSON bodies of {@code GET /v1/jobs/{id}}, of an item and of a page of items, written from
 * the jobs' stored form ({@link StoredJob}) with their URLs presigned under the caller's prefix
 * (the caller passes {@code key -> store.presignedGet(tenant, key)}):
 * byte for byte what Jackson writes for {@link JobStatus} and {@link StatusResource.ItemsResponse},
 * without building either.
 */
final class JobAnswers {

    private static final byte[] PAGE_START = "{\"items\":[".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] NEXT_CURSOR = "],\"next_cursor\":\"".getBytes(StandardCharsets.US_ASCII);
    /** Room for one presigned URL (some 400 bytes for a key of 60), so that the buffer seldom grows. */
    private static final int URL_ROOM = 512;

    private JobAnswers() {
    }

    /** One job, {@code urlOf} giving each output's and thumbnail's URL from its key. */
    static byte[] job(byte[] stored, Function<String, String> urlOf) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(stored.length + URL_ROOM * StoredJob.urlCount(stored));
        StoredJob.writeResponse(stored, urlOf, out);
        return out.toByteArray();
    }

    /** A page of jobs, with {@code nextCursor} unless it is null (the last page); URLs as in {@link #job}. */
    static byte[] page(List<byte[]> jobs, String nextCursor, Function<String, String> urlOf) {
        int size = PAGE_START.length + NEXT_CURSOR.length + 64;
        for (byte[] job : jobs) {
            size += job.length + URL_ROOM * StoredJob.urlCount(job) + 1;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(size);
        out.write(PAGE_START, 0, PAGE_START.length);
        for (int i = 0; i < jobs.size(); i++) {
            if (i > 0) {
                out.write(',');
            }
            StoredJob.writeResponse(jobs.get(i), urlOf, out);
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
    }
}
