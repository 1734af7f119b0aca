package dev.kiln.dispatch;

/**
 * A tenant's weight in the fair share: a tenant of weight 2 gets twice the images of a tenant of
 * weight 1 while both have work pending. The dispatcher reads them from the tenant directory
 * ({@link DirectoryTenantWeights}); tests use {@link #EQUAL} or a lambda.
 */
@FunctionalInterface
public interface TenantWeights {

    /** The weight of {@code tenant}; positive. */
    double weight(String tenant);

    /** Every tenant weighs 1. */
    TenantWeights EQUAL = tenant -> 1.0;
}
