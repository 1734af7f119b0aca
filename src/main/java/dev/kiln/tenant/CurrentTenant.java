package dev.kiln.tenant;

import jakarta.enterprise.context.RequestScoped;

import java.util.Optional;

/**
 * Who is calling, for the length of one request. The authentication filter binds it before any
 * resource runs; features inject it and scope everything they read or write by {@link #id()},
 * never by an id taken from the request. Reading it on a request that was not authenticated
 * fails rather than falling back to a tenant.
 */
@RequestScoped
public class CurrentTenant {

    private final TenantDirectory directory;
    private Caller caller;

    public CurrentTenant(TenantDirectory directory) {
        this.directory = directory;
    }

    /** Binds the caller; once per request. */
    public void bind(Caller caller) {
        if (this.caller != null) {
            throw new IllegalStateException("the caller of this request is already known");
        }
        this.caller = caller;
    }

    /** Whether the request was authenticated. */
    public boolean isBound() {
        return caller != null;
    }

    /** The calling tenant's id. */
    public String id() {
        return caller().tenant();
    }

    /** The calling tenant's settings, as the directory knows them now. */
    public Tenant tenant() {
        return directory.tenant(id());
    }

    /** The public id of the key used; empty when authentication is off. */
    public Optional<String> keyId() {
        return Optional.ofNullable(caller().keyId());
    }

    private Caller caller() {
        if (caller == null) {
            throw new IllegalStateException("no tenant is bound to this request: is the path outside the authenticated API?");
        }
        return caller;
    }
}
