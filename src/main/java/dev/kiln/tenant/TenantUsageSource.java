package dev.kiln.tenant;

/**
 * Where {@code GET /v1/tenant} reads a tenant's usage. The default knows nothing; the feature
 * that measures usage (dispatcher backlog, costs) provides its own bean of this type, which
 * replaces {@link UnknownTenantUsage}.
 */
public interface TenantUsageSource {

    /** The tenant's usage now. */
    TenantUsage usage(String tenant);
}
