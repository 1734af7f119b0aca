package dev.kiln.webhook;

import io.quarkus.logging.Log;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Folds the {@link WebhookEvents#DELIVERY} records of {@code kiln.webhooks} into the delivery log:
 * the latest state of each delivery, under {@code batch id/webhook id}. Attempt outcomes and resend
 * commands on the same topic are the notifier's input, not the log's.
 */
final class WebhookLogUpdater implements Processor<String, byte[], Void, Void> {

    private final String storeName;
    private KeyValueStore<String, byte[]> store;

    WebhookLogUpdater(String storeName) {
        this.storeName = storeName;
    }

    @Override
    public void init(ProcessorContext<Void, Void> context) {
        store = context.getStateStore(storeName);
    }

    @Override
    public void process(Record<String, byte[]> record) {
        Header type = record.headers().lastHeader("ce_type");
        if (type == null || record.value() == null
                || !WebhookEvents.DELIVERY.equals(new String(type.value(), StandardCharsets.UTF_8))) {
            return;
        }
        try {
            WebhookDelivery delivery = dev.kiln.messaging.KilnJson.MAPPER.readValue(record.value(), WebhookDelivery.class);
            store.put(NotifierProcessor.key(delivery.batchId(), delivery.webhookId()), record.value());
        } catch (IOException e) {
            Log.warnf("webhook log: skipping an unreadable delivery of %s: %s", record.key(), e.getMessage());
        }
    }
}
