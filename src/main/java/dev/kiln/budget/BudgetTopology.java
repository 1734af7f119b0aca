package dev.kiln.budget;

import dev.kiln.messaging.Topics;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.Stores;

/**
 * The guard's topology: {@code kiln.status} into {@link BudgetGuard} with two logged stores, out to
 * {@code kiln.control}. {@code kiln.status} is keyed by batch id, so each task holds whole batches.
 * The stores are in memory: they hold only batches with a budget, and a restarted instance rebuilds
 * them from their changelogs.
 */
final class BudgetTopology {

    static final String SOURCE = "status";
    static final String PROCESSOR = "budget-guard";
    static final String SINK = "control";
    static final String BATCHES_STORE = "budget-batches";
    static final String JOBS_STORE = "budget-jobs";

    private BudgetTopology() {
    }

    static Topology build() {
        Topology topology = new Topology();
        topology.addSource(SOURCE, Serdes.String().deserializer(), Serdes.ByteArray().deserializer(), Topics.STATUS);
        topology.addProcessor(PROCESSOR, () -> new BudgetGuard(BATCHES_STORE, JOBS_STORE), SOURCE);
        topology.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(BATCHES_STORE),
                Serdes.String(), Serdes.ByteArray()), PROCESSOR);
        topology.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(JOBS_STORE),
                Serdes.String(), Serdes.ByteArray()), PROCESSOR);
        topology.addSink(SINK, Topics.CONTROL, Serdes.String().serializer(), Serdes.ByteArray().serializer(), PROCESSOR);
        return topology;
    }
}
