package dev.kiln.status;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.job.BatchCreated;
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
        put(key, BatchView.created(event.batchId(), event.tenant(), event.externalId(), event.items(),
                event.images(), event.webhook(), event.requestSha256(), event.createdAt(), offset()));
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
        put(key, JSON.readValue(bytes, BatchView.class).completedAt(offset));
        onCompleted.accept(batchId);
    }

    /** The offset of the record being folded, when Kafka Streams knows it. */
    private Long offset() {
        return context == null ? null : context.recordMetadata().map(m -> m.offset()).orElse(null);
    }

    private void onJobChanged(JobStatusChanged event) throws IOException {
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
            JobView job = JSON.readValue(current, JobView.class);
            if (!job.state().acceptsMove(job.attempt(), event.state(), event.attempt())) {
                return;
            }
            from = job.state();
            next = job.apply(event);
        }
        put(jobKey, next);
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
        put(batchKey, batch.withMove(countedFrom, event.state(), consumed, event.at()));
    }

    private void put(String key, Object value) throws IOException {
        store.put(key, JSON.writeValueAsBytes(value));
    }

    private static String header(Record<String, byte[]> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }
}
