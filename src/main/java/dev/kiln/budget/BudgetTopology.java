package dev.kiln.budget;

import dev.kiln.messaging.KilnJson;
import dev.kiln.messaging.Topics;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.state.Stores;

import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.util.function.Function;

/**
 * The guard's topology. {@code kiln.status} is keyed by batch id, so {@link BudgetGuard} holds
 * whole batches (two logged stores); its spend changes are re-keyed by tenant through the
 * repartition topic {@code <application id>-budget-tenants-repartition} into {@link TenantBudgetGuard}, which holds whole tenants (one logged store, whose changelog
 * {@link MonthSpendReader} reads) and sends its own stops to {@code kiln.control}. The stores are in
 * memory: a restarted instance rebuilds them from their changelogs.
 */
final class BudgetTopology {

    static final String BATCHES_STORE = "budget-batches";
    static final String JOBS_STORE = "budget-jobs";
    static final String TENANTS_STORE = "budget-tenant-months";
    static final String TENANTS_REPARTITION = "budget-tenants";

    private BudgetTopology() {
    }

    /** The topology, with a tenant's {@code monthly_budget_usd} read through {@code monthlyBudget} (null: none). */
    static Topology build(Function<String, BigDecimal> monthlyBudget) {
        StreamsBuilder builder = new StreamsBuilder();
        builder.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(BATCHES_STORE),
                Serdes.String(), Serdes.ByteArray()));
        builder.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(JOBS_STORE),
                Serdes.String(), Serdes.ByteArray()));
        builder.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(TENANTS_STORE),
                Serdes.String(), Serdes.ByteArray()));
        Produced<String, byte[]> toControl = Produced.with(Serdes.String(), Serdes.ByteArray());

        builder.stream(Topics.STATUS, Consumed.with(Serdes.String(), Serdes.ByteArray()).withName("status"))
                .process(() -> new BudgetGuard(BATCHES_STORE, JOBS_STORE), Named.as("budget-guard"), BATCHES_STORE, JOBS_STORE)
                .mapValues(BudgetTopology::json, Named.as("tenant-spend"))
                .repartition(Repartitioned.with(Serdes.String(), Serdes.ByteArray()).withName(TENANTS_REPARTITION))
                .process(() -> new TenantBudgetGuard(TENANTS_STORE, monthlyBudget), Named.as("tenant-budget-guard"),
                        TENANTS_STORE)
                .to(Topics.CONTROL, toControl);
        return builder.build();
    }

    /** The changelog topic of the tenants' ledgers, which Kafka Streams names after the application id and the store. */
    static String tenantsChangelog(String applicationId) {
        return applicationId + "-" + TENANTS_STORE + "-changelog";
    }

    private static byte[] json(TenantSpend spend) {
        try {
            return KilnJson.MAPPER.writeValueAsBytes(spend);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
