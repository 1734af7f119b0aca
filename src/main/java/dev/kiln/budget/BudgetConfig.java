package dev.kiln.budget;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;

/** The budget guard of the monthly tenant budget (runs with the dispatcher: roles {@code dispatcher} and {@code all}); see docs/costs.md. */
@ConfigMapping(prefix = "kiln.budget")
public interface BudgetConfig {

    /**
     * Run the budget guard in the roles that include the dispatcher (and read its tenants' ledgers in
     * the api role); off means {@code monthly_budget_usd} is not enforced. A batch's own
     * {@code budget_usd} is held by the dispatcher before release either way.
     */
    @WithDefault("true")
    boolean enabled();

    /** Kafka Streams application id: the group of every guard instance and the prefix of its changelog. */
    @WithDefault("kiln-budget")
    String applicationId();

    /**
     * How often the guard commits (and so publishes) its decisions. Exactly-once output is seen by
     * read-committed readers only at a commit, so this is part of the delay between the start that
     * exhausts a tenant's monthly budget and the stop, the window in which more jobs can start.
     */
    @WithDefault("PT0.05S")
    Duration commitInterval();
}
