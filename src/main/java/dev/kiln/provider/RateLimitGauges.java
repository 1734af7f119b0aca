package dev.kiln.provider;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

/**
 * The organisation's configured rate limits on {@code /q/metrics}, as
 * {@code kiln_rate_limit_per_minute{kind="images"|"requests"}}, so that a dashboard divides the
 * images rendered per minute by the real limit instead of a number typed into it. 0 means no
 * limit, as in {@link RateConfig}; the dashboard filters it out rather than divide by it. Every
 * role exports the same values, so dashboards take the {@code max}.
 */
@ApplicationScoped
public class RateLimitGauges {

    private final RateConfig rates;
    private final MeterRegistry registry;

    public RateLimitGauges(RateConfig rates, MeterRegistry registry) {
        this.rates = rates;
        this.registry = registry;
    }

    void register(@Observes StartupEvent start) {
        Gauge.builder("kiln.rate.limit.per.minute", rates, RateConfig::ipm)
                .description("The configured organisation-wide limit per minute (KILN_RATE_IPM, KILN_RATE_RPM), 0 for none")
                .tag("kind", "images").register(registry);
        Gauge.builder("kiln.rate.limit.per.minute", rates, RateConfig::rpm)
                .description("The configured organisation-wide limit per minute (KILN_RATE_IPM, KILN_RATE_RPM), 0 for none")
                .tag("kind", "requests").register(registry);
    }
}
