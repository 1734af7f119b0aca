package dev.kiln.tenant;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** Tenant directories for tests of other packages, changed as {@code kiln.tenants} would change them. */
public final class TenantDirectories {

    private TenantDirectories() {
    }

    /** An open directory (no keys) whose tenants weigh {@code defaultWeight} until set otherwise. */
    public static TenantDirectory open(int defaultWeight) {
        return new TenantDirectory(AuthMode.OFF, ApiKeys.parse(Optional.empty()), Optional.empty(),
                new TenantQuotas(1000, 5000, 1.0, null), defaultWeight, SecretBox.of(Optional.empty(), Optional.empty()),
                "default");
    }

    /** Sets {@code tenant}'s weight, as a record of the admin API read from {@code kiln.tenants} does. */
    public static void setWeight(TenantDirectory directory, String tenant, int weight) {
        directory.apply(java.util.Map.of(tenant, new TenantRecord(tenant, weight, null, List.of(), List.of(), List.of(),
                Instant.now())));
    }

    /** Sets {@code tenant}'s {@code ipm_share_cap}, as a record of the admin API read from {@code kiln.tenants} does. */
    public static void setIpmShareCap(TenantDirectory directory, String tenant, double cap) {
        directory.apply(java.util.Map.of(tenant, new TenantRecord(tenant, null,
                new TenantRecord.QuotaOverrides(null, null, cap, null), List.of(), List.of(), List.of(), Instant.now())));
    }
}
