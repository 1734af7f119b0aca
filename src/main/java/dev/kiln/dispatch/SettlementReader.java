package dev.kiln.dispatch;

import dev.kiln.job.BatchDeleted;
import dev.kiln.job.EventTypes;
import dev.kiln.job.JobState;
import dev.kiln.job.JobStatusChanged;
import dev.kiln.messaging.KilnJson;
import io.quarkus.logging.Log;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;

import java.io.IOException;
import java.util.Set;

/**
 * Picks the final job events and the batch deletions out of {@code kiln.status} and turns each
 * into a {@link JobSettled} for the dispatch task. It reads the type from the headers first, so
 * the many other events (queued, running, other batch events) cost no JSON parsing. Part of the
 * dispatcher's exactly-once application: an event is handed on once, together with the offset it
 * was read at.
 */
final class SettlementReader implements Processor<String, byte[], String, JobSettled> {

    private static final String SUCCEEDED = EventTypes.job(JobState.SUCCEEDED);
    private static final Set<String> FINAL = Set.of(SUCCEEDED, EventTypes.job(JobState.FAILED),
            EventTypes.job(JobState.CANCELLED), EventTypes.job(JobState.EXPIRED));

    private ProcessorContext<String, JobSettled> context;

    @Override
    public void init(ProcessorContext<String, JobSettled> context) {
        this.context = context;
    }

    @Override
    public void process(Record<String, byte[]> record) {
        String type = CloudEventHeaders.get(record.headers(), CloudEventHeaders.TYPE);
        if (type == null || record.value() == null || !(FINAL.contains(type) || EventTypes.BATCH_DELETED.equals(type))) {
            return;
        }
        try {
            if (EventTypes.BATCH_DELETED.equals(type)) {
                BatchDeleted deleted = KilnJson.MAPPER.readValue(record.value(), BatchDeleted.class);
                if (deleted.batchId() != null) {
                    context.forward(new Record<>(deleted.batchId(), JobSettled.deleted(deleted.batchId(), deleted.tenant()),
                            record.timestamp()));
                }
                return;
            }
            JobStatusChanged event = KilnJson.MAPPER.readValue(record.value(), JobStatusChanged.class);
            if (event.batchId() == null || event.jobId() == null) {
                return;
            }
            boolean succeeded = event.state() == JobState.SUCCEEDED;
            double cost = succeeded && event.usage() != null ? event.usage().costUsd() : 0;
            // Only a fresh render rewrites the tenant's cache entry: a hit's entry still names the earlier objects.
            String renderKey = succeeded && !event.servedFromCache() ? event.renderKey() : null;
            long images = succeeded && !event.servedFromCache() && event.usage() != null ? event.usage().images() : 0;
            context.forward(new Record<>(event.batchId(), new JobSettled(event.batchId(), event.jobId(), event.attempt(), cost,
                    event.tenant(), renderKey, renderKey == null ? null : event.referenceSha256s(), false, images),
                    record.timestamp()));
        } catch (IOException | RuntimeException e) {
            // One unreadable event must not stop the dispatcher.
            Log.warnf("dispatcher: skipping an unreadable %s event for %s: %s", type, record.key(), e.getMessage());
        }
    }
}
