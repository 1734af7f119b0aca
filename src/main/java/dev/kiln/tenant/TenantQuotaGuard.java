package dev.kiln.tenant;

import dev.kiln.job.InvalidRequestException;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.config.inject.ConfigProperty;

import java.time.Duration;

/**
 * Intake's quota check, one call before anything is staged: {@code max_items_per_batch} (400, like
 * {@code kiln.intake.max-items}) and {@code max_pending_images} (429 with {@code Retry-After};
 * a batch that alone asks for more than the quota can never pass, so that is a 400).
 *
 * <p>Pending images are read from this replica's status view, so two batches accepted at the same
 * instant (or on two replicas within the view's lag, milliseconds) may together pass the quota
 * once; the next one is refused. A hard cap would need one writer per tenant, which intake does not
 * have.
 */
@ApplicationScoped
public class TenantQuotaGuard {

    /** The field intake's own item limit names, so both limits read alike. */
    static final String ITEMS = "items";
    /** The wait when the organisation's IPM is unknown: long enough not to hammer, short enough to be useful. */
    static final Duration UNKNOWN_RATE_RETRY_AFTER = Duration.ofSeconds(60);
    /** No client needs to be told to wait longer than this for a quota that drains continuously. */
    static final Duration MAX_RETRY_AFTER = Duration.ofHours(1);

    private final TenantDirectory directory;
    private final PendingImages pending;
    private final double organisationIpm;

    @Inject
    public TenantQuotaGuard(TenantDirectory directory, PendingImages pending,
                            @ConfigProperty(name = "kiln.rate.ipm", defaultValue = "0") double organisationIpm) {
        this.directory = directory;
        this.pending = pending;
        this.organisationIpm = organisationIpm;
    }

    /** Checks the items per batch only (a dry run enqueues nothing, so pending images do not apply). */
    public void checkItems(String tenant, int items) {
        TenantQuotas quotas = directory.tenant(tenant).quotas();
        if (items > quotas.maxItemsPerBatch()) {
            throw InvalidRequestException.of(ITEMS, "must hold at most " + quotas.maxItemsPerBatch()
                    + " items, the tenant's max_items_per_batch quota; split the catalogue into several batches");
        }
    }

    /**
     * Checks a batch of {@code items} items asking for {@code images} images before it is staged.
     *
     * @throws InvalidRequestException over {@code max_items_per_batch}, or a batch bigger than {@code max_pending_images}
     * @throws QuotaExceededException  when the tenant's pending images and this batch's would pass {@code max_pending_images}
     */
    public void checkBatch(String tenant, int items, long images) {
        checkItems(tenant, items);
        Tenant settings = directory.tenant(tenant);
        long max = settings.quotas().maxPendingImages();
        if (images > max) {
            throw InvalidRequestException.of(ITEMS, "together ask for " + images + " images, more than the tenant's max_pending_images quota of "
                    + max + "; split the catalogue into batches of at most " + max + " images");
        }
        long now = pending.pendingImages(tenant);
        if (now + images > max) {
            long excess = now + images - max;
            throw new QuotaExceededException("max_pending_images", max, "this batch asks for " + images
                    + " images and " + now + " are pending; the tenant's max_pending_images quota is " + max
                    + ". Nothing was accepted; retry once " + excess + " more have ended",
                    retryAfter(excess, settings.quotas().ipmShareCap()));
        }
    }

    /** About how long the tenant's share of the organisation's rate takes to render {@code excess} images. */
    Duration retryAfter(long excess, double ipmShareCap) {
        if (organisationIpm <= 0) {
            return UNKNOWN_RATE_RETRY_AFTER;
        }
        double seconds = Math.ceil(excess * 60.0 / (organisationIpm * ipmShareCap));
        return Duration.ofSeconds((long) Math.max(1, Math.min(MAX_RETRY_AFTER.toSeconds(), seconds)));
    }
}
