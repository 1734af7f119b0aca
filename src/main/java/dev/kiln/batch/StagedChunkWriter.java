package dev.kiln.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
    private static final String JOBS = "jobs";

    private final TransactionalPublisher.Transaction tx;
    private final String batchId;
    private final int maxJobs;
    private final int maxBytes;
    /** The chunk's JSON up to and with {@code "jobs":[}. */
    private final byte[] head;
    private final ByteArrayOutputStream chunk = new ByteArrayOutputStream(64 * 1024);
    private int jobs;

    StagedChunkWriter(TransactionalPublisher.Transaction tx, String batchId, String tenant, Priority priority, Instant deadline) {
        this(tx, batchId, tenant, priority, deadline, null, null);
    }

    /**
     * A writer for a batch with a budget: each chunk carries {@code budgetUsd} (the batch's, if any)
     * and {@code jobCostUsd}, the estimate the dispatcher reserves for each job it releases, of the
     * batch's budget and of its tenant's monthly one (docs/costs.md).
     */
    StagedChunkWriter(TransactionalPublisher.Transaction tx, String batchId, String tenant, Priority priority, Instant deadline,
                      Double budgetUsd, Double jobCostUsd) {
        this(tx, new JobsStaged(batchId, tenant, priority, deadline, List.of(), budgetUsd,
                jobCostUsd), MAX_JOBS, MAX_BYTES);
    }

    /** With other limits (tests). */
    StagedChunkWriter(TransactionalPublisher.Transaction tx, String batchId, String tenant, Priority priority, Instant deadline,
                      int maxJobs, int maxBytes) {
        this(tx, new JobsStaged(batchId, tenant, priority, deadline, List.of()), maxJobs, maxBytes);
    }

    private StagedChunkWriter(TransactionalPublisher.Transaction tx, JobsStaged empty, int maxJobs, int maxBytes) {
        this.tx = tx;
        this.batchId = empty.batchId();
        this.maxJobs = maxJobs;
        this.maxBytes = maxBytes;
        // Every chunk starts with the empty chunk's JSON, {…,"jobs":[]}, but its "]}". The jobs must
        // come last for that, so they are moved behind the fields the record lists after them
        // (the budget's); the order of a JSON object's fields means nothing to a reader.
        ObjectNode fields = KilnJson.MAPPER.valueToTree(empty);
        JsonNode jobsField = fields.remove(JOBS);
        fields.set(JOBS, jobsField);
        byte[] bytes = json(fields);
        this.head = Arrays.copyOf(bytes, bytes.length - END.length);
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
