package dev.kiln.dispatch;

import io.quarkus.arc.DefaultBean;
import jakarta.enterprise.context.ApplicationScoped;

/** Every tenant weighs 1, until a bean of the tenant package replaces this one. */
@ApplicationScoped
@DefaultBean
public class EqualTenantWeights implements TenantWeights {

    @Override
    public double weight(String tenant) {
        return 1.0;
    }
}
