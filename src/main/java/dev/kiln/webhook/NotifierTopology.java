package dev.kiln.webhook;

import dev.kiln.messaging.Topics;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.Stores;

/**
 * The notifier's topology: {@code kiln.status} and {@code kiln.webhooks} (co-partitioned, both
 * keyed by batch id) into one {@link NotifierProcessor} with four persistent stores, each backed by
 * a changelog; {@code kiln.batch.completed} back to {@code kiln.status}, delivery records to
 * {@code kiln.webhooks}.
 */
final class NotifierTopology {

    static final String PROCESSOR = "notifier";

    private NotifierTopology() {
    }

    static Topology build(NotifierSettings settings, WebhookSender sender) {
        Topology topology = new Topology();
        topology.addSource("status", Serdes.String().deserializer(), Serdes.ByteArray().deserializer(), Topics.STATUS);
        topology.addSource("webhooks", Serdes.String().deserializer(), Serdes.ByteArray().deserializer(), Topics.WEBHOOKS);
        topology.addProcessor(PROCESSOR, () -> new NotifierProcessor(settings, sender), "status", "webhooks");
        topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(NotifierProcessor.BATCHES),
                Serdes.String(), Serdes.ByteArray()), PROCESSOR);
        topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(NotifierProcessor.JOBS),
                Serdes.String(), Serdes.String()), PROCESSOR);
        topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(NotifierProcessor.DELIVERIES),
                Serdes.String(), Serdes.ByteArray()), PROCESSOR);
        topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(NotifierProcessor.DUE),
                Serdes.String(), Serdes.String()), PROCESSOR);
        topology.addSink(NotifierProcessor.STATUS_SINK, Topics.STATUS, Serdes.String().serializer(),
                Serdes.ByteArray().serializer(), PROCESSOR);
        topology.addSink(NotifierProcessor.WEBHOOKS_SINK, Topics.WEBHOOKS, Serdes.String().serializer(),
                Serdes.ByteArray().serializer(), PROCESSOR);
        return topology;
    }
}
