package dev.kiln.tenant;

import dev.kiln.job.ServiceUnavailableException;
import io.quarkus.arc.DefaultBean;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * The usage source when no other is deployed: the pending images from {@link PendingImages}, the
 * month's figures unknown. {@code budget.MonthSpendReader} replaces it and fills them from the dispatcher's ledgers.
 */
@DefaultBean
@ApplicationScoped
public class UnknownTenantUsage implements TenantUsageSource {

    private final PendingImages pending;

    public UnknownTenantUsage(PendingImages pending) {
        this.pending = pending;
    }

    @Override
    public TenantUsage usage(String tenant) {
        Long images;
        try {
            images = pending.pendingImages(tenant);
        } catch (ServiceUnavailableException loading) {
            // The view is still loading: say "not known" rather than fail the whole answer.
            images = null;
        }
        return new TenantUsage(images, null, null);
    }
}
