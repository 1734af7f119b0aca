package dev.kiln.dispatch;

import dev.kiln.config.KilnConfig;
import dev.kiln.tenant.AuthConfig;
import dev.kiln.tenant.TenantDirectory;
import dev.kiln.tenant.TenantTopicReader;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.common.annotation.Identifier;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import java.time.Duration;
import java.util.Map;

/**
 * Each tenant's weight as the tenant directory knows it: the weight the admin API set
 * ({@code PATCH /v1/admin/tenants/{id}}), else the configured default ({@code kiln.auth.quotas.weight}, 1).
 * The directory follows {@code kiln.tenants}, so a changed weight applies to the backlog at the
 * next release. A weight of w gives the tenant w / Σw of the images while every tenant has work. The api role feeds the directory already; a process that runs the dispatcher
 * without the api starts its own reader of {@code kiln.tenants} here.
 */
@ApplicationScoped
public class DirectoryTenantWeights implements TenantWeights {

    /** After topic set-up, before the dispatcher's Streams instance starts releasing. */
    static final int PRIORITY = 20;

    private final TenantDirectory directory;
    private final TenantTopicReader reader;
    private final Duration startupTimeout;

    @Inject
    public DirectoryTenantWeights(TenantDirectory directory, KilnConfig kiln, AuthConfig auth, DispatcherConfig config,
                                  @Identifier("default-kafka-broker") Map<String, Object> kafka) {
        this(directory, kiln.parsedRole().runsDispatcher() && !kiln.parsedRole().runsApi() && config.enabled()
                ? new TenantTopicReader(kafka, directory, true, auth.directoryStartupTimeout()) : null,
                auth.directoryStartupTimeout());
    }

    /** Weights of {@code directory}, which something else keeps current (tests). */
    public DirectoryTenantWeights(TenantDirectory directory) {
        this(directory, null, Duration.ZERO);
    }

    private DirectoryTenantWeights(TenantDirectory directory, TenantTopicReader reader, Duration startupTimeout) {
        this.directory = directory;
        this.reader = reader;
        this.startupTimeout = startupTimeout;
    }

    void onStart(@Observes @Priority(PRIORITY) StartupEvent event) throws InterruptedException {
        if (reader == null) {
            return;
        }
        reader.start();
        // Not fatal: until the topic is read every tenant weighs the default, which is fair, only not weighted.
        if (!reader.awaitCaughtUp(startupTimeout)) {
            Log.warnf("kiln.tenants was not read to its end within %s: every tenant weighs the default until it is", startupTimeout);
        }
    }

    void onStop(@Observes ShutdownEvent event) {
        if (reader != null) {
            reader.close();
        }
    }

    @Override
    public double weight(String tenant) {
        return directory.tenant(tenant).weight();
    }

    /** The budget the admin API set, else {@code kiln.auth.quotas.monthly-budget-usd}; null when none. */
    @Override
    public Double monthlyBudgetUsd(String tenant) {
        java.math.BigDecimal budget = directory.tenant(tenant).quotas().monthlyBudgetUsd();
        return budget == null ? null : budget.doubleValue();
    }

    /** The cap the admin API set, else {@code kiln.auth.quotas.ipm-share-cap} (1). */
    @Override
    public double ipmShareCap(String tenant) {
        return directory.ipmShareCap(tenant);
    }
}
