package dev.kiln.status;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.job.BatchCreated;
import dev.kiln.job.BatchDeleted;
import dev.kiln.job.EventTypes;
import dev.kiln.job.JobState;
import dev.kiln.job.JobStatusChanged;
import dev.kiln.messaging.KilnJson;
import dev.kiln.job.Usage;
import io.quarkus.logging.Log;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * Folds {@code kiln.status} events into the status store. Kafka Streams runs it for every
 * record of the topic, also when it rebuilds the store after a restart, so the store is always
 * exactly the fold of the topic.
 */
final class StatusViewUpdater implements Processor<String, byte[], Void, Void> {

    private static final ObjectMapper JSON = KilnJson.MAPPER;
    private final String storeName;
    private KeyValueStore<String, byte[]> store;
    private ProcessorContext<Void, Void> context;

    /** Told the id of every batch whose {@code kiln.batch.completed} was folded. */
    private final java.util.function.Consumer<String> onCompleted;

    StatusViewUpdater(String storeName) {
        this(storeName, id -> { });
    }

    StatusViewUpdater(String storeName, java.util.function.Consumer<String> onCompleted) {
        this.storeName = storeName;
        this.onCompleted = onCompleted;
    }

    @Override
    public void init(ProcessorContext<Void, Void> context) {
        this.context = context;
        store = context.getStateStore(storeName);
    }

    @Override
    public void process(Record<String, byte[]> record) {
        String type = header(record, "ce_type");
        if (type == null || record.value() == null) {
            return;
        }
        try {
            if (type.equals(EventTypes.BATCH_CREATED)) {
                onBatchCreated(JSON.readValue(record.value(), BatchCreated.class));
            } else if (type.startsWith(EventTypes.JOB_PREFIX)) {
                onJobChanged(JSON.readValue(record.value(), JobStatusChanged.class));
            } else if (type.equals(EventTypes.BATCH_COMPLETED) && record.key() != null) {
                onBatchCompleted(record.key());
            } else if (type.equals(EventTypes.BATCH_DELETED)) {
                onBatchDeleted(JSON.readValue(record.value(), BatchDeleted.class));
            }
        } catch (IOException | RuntimeException e) {
            // One unreadable event must not stop the view for every batch.
            Log.warnf("skipping unreadable %s event for %s: %s", type, record.key(), e.getMessage());
        }
    }

    private void onBatchCreated(BatchCreated event) throws IOException {
        String key = StatusStoreKeys.batch(event.batchId());
        if (store.get(key) != null) {
            return;
        }
        // The same id after a delete (an Idempotency-Key used again) is a new batch.
        forgetDeletion(event.batchId());
        putBatch(null, BatchView.created(event.batchId(), event.tenant(), event.externalId(), event.items(),
                event.images(), event.webhook() == null ? null : event.webhook().url(), event.requestSha256(), event.createdAt(), offset()));
        if (event.tenant() != null && event.createdAt() != null) {
            store.put(StatusStoreKeys.tenantBatch(event.tenant(), event.createdAt(), event.batchId()),
                    event.batchId().getBytes(StandardCharsets.UTF_8));
        }
    }

    private void onBatchCompleted(String batchId) throws IOException {
        String key = StatusStoreKeys.batch(batchId);
        byte[] bytes = store.get(key);
        Long offset = offset();
        if (bytes == null || offset == null) {
            return;
        }
        BatchView batch = JSON.readValue(bytes, BatchView.class);
        putBatch(batch, batch.completedAt(offset));
        onCompleted.accept(batchId);
    }

    /** The offset of the record being folded, when Kafka Streams knows it. */
    private Long offset() {
        return context == null ? null : context.recordMetadata().map(m -> m.offset()).orElse(null);
    }

    private void onJobChanged(JobStatusChanged event) throws IOException {
        if (store.get(StatusStoreKeys.deleted(event.batchId())) != null) {
            // Renders in flight and cancels end after a delete: the view must not bring the batch back.
            return;
        }
        String jobKey = StatusStoreKeys.job(event.batchId(), event.index());
        byte[] current = store.get(jobKey);
        JobState from = null;
        JobView next;
        if (current == null) {
            next = JobView.from(event);
            if (event.itemId() != null) {
                store.put(StatusStoreKeys.item(event.batchId(), event.itemId()),
                        Integer.toString(event.index()).getBytes(StandardCharsets.UTF_8));
            }
        } else {
            JobView job = StoredJob.decode(current);
            if (!job.state().acceptsMove(job.attempt(), event.state(), event.attempt())) {
                return;
            }
            from = job.state();
            next = job.apply(event);
        }
        // Stored ready to answer with (StoredJob): reads far outnumber writes.
        store.put(jobKey, StoredJob.encode(next));
        String batchKey = StatusStoreKeys.batch(event.batchId());
        byte[] batchBytes = store.get(batchKey);
        if (batchBytes == null) {
            return;
        }
        BatchView batch = JSON.readValue(batchBytes, BatchView.class);
        // A batch starts with every job counted as queued, so a job's first event moves it from there.
        JobState countedFrom = from == null ? JobState.QUEUED : from;
        if (countedFrom == event.state()) {
            return;
        }
        Usage consumed = event.state() == JobState.SUCCEEDED ? event.usage() : null;
        BatchView moved = batch.withMove(countedFrom, event.state(), consumed, event.at());
        Long offset = offset();
        if (countedFrom.isTerminal() && !event.state().isTerminal() && offset != null) {
            // A retry: the batch's last completion is no longer its final event (event streams read this).
            moved = moved.reopenedAt(offset);
        }
        putBatch(batch, moved);
    }

    /**
     * Writes {@code after} and keeps its indexes beside it: the tenant's open batches while it has
     * not ended (pending images), and the finished batches by the time they ended (retention).
     */
    private void putBatch(BatchView before, BatchView after) throws IOException {
        put(StatusStoreKeys.batch(after.id()), after);
        if (after.tenant() != null) {
            String open = StatusStoreKeys.openBatch(after.tenant(), after.id());
            if (after.state().isTerminal()) {
                store.delete(open);
            } else if (before == null || before.state().isTerminal()) {
                store.put(open, after.id().getBytes(StandardCharsets.UTF_8));
            }
        }
        Instant was = before == null ? null : before.finishedAt();
        if (!java.util.Objects.equals(was, after.finishedAt())) {
            if (was != null) {
                store.delete(StatusStoreKeys.finished(was, after.id()));
            }
            if (after.finishedAt() != null) {
                store.put(StatusStoreKeys.finished(after.finishedAt(), after.id()), after.id().getBytes(StandardCharsets.UTF_8));
            }
        }
    }

    /**
     * Forgets the batch, its jobs and every index entry of it, and remembers only that it was
     * deleted. Jobs are found by index (0 to items - 1), not by a range scan: this writer never
     * iterates the store (see {@link StatusView}'s iterator lock).
     */
    private void onBatchDeleted(BatchDeleted event) throws IOException {
        String key = StatusStoreKeys.batch(event.batchId());
        byte[] bytes = store.get(key);
        if (bytes != null) {
            BatchView batch = JSON.readValue(bytes, BatchView.class);
            for (int index = 0; index < batch.items(); index++) {
                String jobKey = StatusStoreKeys.job(batch.id(), index);
                byte[] job = store.get(jobKey);
                if (job != null) {
                    String itemId = StoredJob.decode(job).itemId();
                    if (itemId != null) {
                        store.delete(StatusStoreKeys.item(batch.id(), itemId));
                    }
                    store.delete(jobKey);
                }
            }
            if (batch.tenant() != null) {
                store.delete(StatusStoreKeys.openBatch(batch.tenant(), batch.id()));
                if (batch.createdAt() != null) {
                    store.delete(StatusStoreKeys.tenantBatch(batch.tenant(), batch.createdAt(), batch.id()));
                }
            }
            if (batch.finishedAt() != null) {
                store.delete(StatusStoreKeys.finished(batch.finishedAt(), batch.id()));
            }
            store.delete(key);
        }
        if (store.get(StatusStoreKeys.deleted(event.batchId())) == null && event.deletedAt() != null) {
            put(StatusStoreKeys.deleted(event.batchId()), event);
            store.put(StatusStoreKeys.deletedAt(event.deletedAt(), event.batchId()),
                    event.batchId().getBytes(StandardCharsets.UTF_8));
        }
    }

    private void forgetDeletion(String batchId) throws IOException {
        byte[] marker = store.get(StatusStoreKeys.deleted(batchId));
        if (marker != null) {
            BatchDeleted deleted = JSON.readValue(marker, BatchDeleted.class);
            store.delete(StatusStoreKeys.deletedAt(deleted.deletedAt(), batchId));
            store.delete(StatusStoreKeys.deleted(batchId));
        }
    }

    private void put(String key, Object value) throws IOException {
        store.put(key, JSON.writeValueAsBytes(value));
    }

    private static String header(Record<String, byte[]> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }
}
