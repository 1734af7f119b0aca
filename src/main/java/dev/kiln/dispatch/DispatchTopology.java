package dev.kiln.dispatch;

import dev.kiln.messaging.Topics;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyDescription;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.state.KeyValueBytesStoreSupplier;
import org.apache.kafka.streams.state.Stores;

import java.time.Duration;
import java.util.function.Function;

/**
 * The dispatcher's topology: {@code kiln.items}, {@code kiln.control} and the jobs' final events
 * (with the batches' deletions) into one processor with six logged key-value stores, out to {@code kiln.jobs} and
 * {@code kiln.status}. Its sources have one partition each, so there is exactly one dispatch task:
 * one place that sees every tenant's backlog and every budget. The final events come from
 * {@code kiln.status} (one task per partition of it, {@link SettlementReader}) through a
 * one-partition repartition topic, so that the budget ledgers settle in the same exactly-once
 * transactions as the releases that reserved them.
 * <pre>
 * kiln.items ──────────────────────┐                                      ┌──&gt; kiln.jobs   (key job id)
 * kiln.control ────────────────────┼──&gt; dispatch [pending, batches, released, budgets, renders, tenant months] ──┤
 * kiln.status ──&gt; settlements ──&gt; ┘ (repartition, 1 partition)           └──&gt; kiln.status (key batch id)
 * </pre>
 */
public final class DispatchTopology {

    static final String ITEMS_SOURCE = "items";
    static final String CONTROL_SOURCE = "control";
    static final String PROCESSOR = "dispatch";
    static final String JOBS_SINK = "jobs";
    static final String STATUS_SINK = "status";
    /** Jobs waiting for release, by batch and item index. */
    static final String PENDING_STORE = "dispatch-pending";
    /** Batches seen: priority, deadline, arrival order, cancelled. */
    static final String BATCHES_STORE = "dispatch-batches";
    /** Jobs released or expired, by batch and job id, kept for retries. */
    static final String RELEASED_STORE = "dispatch-released";
    /** The ledgers of batches with a budget, by batch id. */
    static final String BUDGETS_STORE = "dispatch-budgets";
    /** The renders each tenant's render cache holds, as learned from {@code kiln.status} ({@link KnownRenders}). */
    static final String RENDERS_STORE = "dispatch-renders";
    /**
     * Each tenant's month ({@link MonthLedger}), by tenant id. Its changelog,
     * {@code <application id>-dispatch-tenant-months-changelog}, is what the api role reads back
     * for {@code GET /v1/tenant} and intake's monthly check ({@code budget.MonthSpendReader}).
     */
    static final String TENANT_MONTHS_STORE = "dispatch-tenant-months";
    static final String STATUS_SOURCE = "status-events";
    static final String SETTLEMENTS = "dispatch-settlements";

    /**
     * The knobs of the processor.
     *
     * @param tick               how often the wall-clock punctuator expires and releases
     * @param quantumImages      images per fair-share visit at weight 1
     * @param maxReleasesPerTick most jobs released in one tick, which bounds one transaction
     * @param retention          how long a batch with nothing pending is remembered (for retries)
     * @param purgeInterval      how often batches past their retention are forgotten
     * @param rateIpm            the organisation's images per minute ({@code KILN_RATE_IPM}), which each
     *                           tenant's {@code ipm_share_cap} is a share of; 0 means no cap applies
     */
    public record Settings(Duration tick, int quantumImages, int maxReleasesPerTick, Duration retention,
                           Duration purgeInterval, double rateIpm) {
    }

    private DispatchTopology() {
    }

    /** The topology with RocksDB stores. */
    static Topology build(Settings settings, TenantWeights weights, ReleaseGate gate, DispatchMetrics metrics) {
        return build(settings, weights, gate, metrics, Stores::persistentKeyValueStore);
    }

    /**
     * The topology with stores from {@code stores} (tests restore stores from a changelog).
     * Every store is logged: its changelog topic, {@code <application id>-<store>-changelog}, is
     * what a restarted or standby instance rebuilds it from.
     */
    static Topology build(Settings settings, TenantWeights weights, ReleaseGate gate, DispatchMetrics metrics,
                          Function<String, KeyValueBytesStoreSupplier> stores) {
        StreamsBuilder builder = new StreamsBuilder();
        builder.stream(Topics.STATUS, Consumed.with(Serdes.String(), Serdes.ByteArray()).withName(STATUS_SOURCE))
                .process(SettlementReader::new, Named.as(SETTLEMENTS + "-reader"))
                .repartition(Repartitioned.<String, JobSettled>as(SETTLEMENTS).withKeySerde(Serdes.String())
                        .withValueSerde(DispatchSerdes.of(JobSettled.class)).withNumberOfPartitions(1));
        Topology topology = builder.build();
        topology.addSource(ITEMS_SOURCE, Serdes.String().deserializer(), DispatchSerdes.staged(), Topics.ITEMS);
        topology.addSource(CONTROL_SOURCE, Serdes.String().deserializer(), DispatchSerdes.commands(), Topics.CONTROL);
        topology.addProcessor(PROCESSOR, () -> new DispatchProcessor(settings, weights, gate, metrics),
                ITEMS_SOURCE, CONTROL_SOURCE, settlementsSource(topology));
        topology.addStateStore(Stores.keyValueStoreBuilder(stores.apply(PENDING_STORE), Serdes.String(),
                DispatchSerdes.of(PendingJob.class)), PROCESSOR);
        topology.addStateStore(Stores.keyValueStoreBuilder(stores.apply(BATCHES_STORE), Serdes.String(),
                DispatchSerdes.of(BatchEntry.class)), PROCESSOR);
        topology.addStateStore(Stores.keyValueStoreBuilder(stores.apply(RELEASED_STORE), Serdes.String(),
                DispatchSerdes.of(LeftJob.class)), PROCESSOR);
        topology.addStateStore(Stores.keyValueStoreBuilder(stores.apply(BUDGETS_STORE), Serdes.String(),
                DispatchSerdes.of(BudgetLedger.class)), PROCESSOR);
        topology.addStateStore(Stores.keyValueStoreBuilder(stores.apply(RENDERS_STORE), Serdes.String(),
                Serdes.String()), PROCESSOR);
        topology.addStateStore(Stores.keyValueStoreBuilder(stores.apply(TENANT_MONTHS_STORE), Serdes.String(),
                DispatchSerdes.of(MonthLedger.class)), PROCESSOR);
        topology.addSink(JOBS_SINK, Topics.JOBS, Serdes.String().serializer(), DispatchSerdes.writer(), new EvenJobPlacement(),
                PROCESSOR);
        topology.addSink(STATUS_SINK, Topics.STATUS, Serdes.String().serializer(), DispatchSerdes.writer(), PROCESSOR);
        return topology;
    }

    /** The name Kafka Streams gave the source node that reads the settlements' repartition topic. */
    private static String settlementsSource(Topology topology) {
        String topic = SETTLEMENTS + "-repartition";
        for (TopologyDescription.Subtopology subtopology : topology.describe().subtopologies()) {
            for (TopologyDescription.Node node : subtopology.nodes()) {
                if (node instanceof TopologyDescription.Source source && source.topicSet() != null
                        && source.topicSet().stream().anyMatch(t -> t.endsWith(topic))) {
                    return source.name();
                }
            }
        }
        throw new IllegalStateException("no source reads " + topic);
    }
}
