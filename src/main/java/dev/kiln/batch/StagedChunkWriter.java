package dev.kiln.batch;

import dev.kiln.job.EventTypes;
import dev.kiln.job.JobsStaged;
import dev.kiln.job.Priority;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.messaging.KilnJson;
import dev.kiln.messaging.Topics;
import dev.kiln.messaging.TransactionalPublisher;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;

/**
 * Stages the jobs of one batch on {@code kiln.items} in chunks of at most {@value #MAX_JOBS} jobs
 * and {@value #MAX_BYTES} bytes, each the JSON of a {@link JobsStaged}. Each job is written to JSON
 * once, straight into its chunk's bytes: the chunk's fields come first (written once per batch),
 * then the jobs, comma-separated. Before, each job was written to a string, kept as a raw value,
 * and the chunk written a second time around those strings. {@code StagedChunkWriterTest} holds
 * the bytes equal to what the mapper writes for the same {@link JobsStaged}.
 */
final class StagedChunkWriter {

    /** Most jobs in one staged chunk. */
    static final int MAX_JOBS = 500;
    /** Most bytes of one staged chunk, below Kafka's default 1 MB record limit. */
    static final int MAX_BYTES = 900_000;
    private static final byte[] END = {']', '}'};

    private final TransactionalPublisher.Transaction tx;
    private final String batchId;
    private final int maxJobs;
    private final int maxBytes;
    /** The chunk's JSON up to and with {@code "jobs":[}. */
    private final byte[] head;
    private final ByteArrayOutputStream chunk = new ByteArrayOutputStream(64 * 1024);
    private int jobs;

    StagedChunkWriter(TransactionalPublisher.Transaction tx, String batchId, String tenant, Priority priority, Instant deadline) {
        this(tx, batchId, tenant, priority, deadline, MAX_JOBS, MAX_BYTES);
    }

    /** With other limits (tests). */
    StagedChunkWriter(TransactionalPublisher.Transaction tx, String batchId, String tenant, Priority priority, Instant deadline,
                      int maxJobs, int maxBytes) {
        this.tx = tx;
        this.batchId = batchId;
        this.maxJobs = maxJobs;
        this.maxBytes = maxBytes;
        // The mapper writes an empty chunk as {…,"jobs":[]}: every chunk starts with all of it but "]}".
        byte[] empty = json(new JobsStaged(batchId, tenant, priority, deadline, List.of()));
        this.head = Arrays.copyOf(empty, empty.length - END.length);
        chunk.writeBytes(head);
    }

    /** Adds {@code job}, sending the chunk before it first when the job would not fit. */
    void add(RenderJobRequested job) {
        byte[] json = json(job);
        if (jobs > 0 && (jobs >= maxJobs || chunk.size() + 1 + json.length + END.length > maxBytes)) {
            flush();
        }
        if (jobs > 0) {
            chunk.write(',');
        }
        chunk.writeBytes(json);
        jobs++;
    }

    /** Sends what is left. */
    void flush() {
        if (jobs == 0) {
            return;
        }
        chunk.writeBytes(END);
        tx.sendJson(Topics.ITEMS, batchId, chunk.toByteArray(), EventTypes.ITEMS_STAGED, batchId);
        chunk.reset();
        chunk.writeBytes(head);
        jobs = 0;
    }

    private static byte[] json(Object value) {
        try {
            return KilnJson.MAPPER.writeValueAsBytes(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
