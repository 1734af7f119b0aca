package dev.kiln.api;

import dev.kiln.job.FieldError;
import dev.kiln.tenant.InvalidTenantChangeException;
import dev.kiln.tenant.QuotaExceededException;
import dev.kiln.tenant.TenantNotFoundException;
import dev.kiln.tenant.TenantStoreUnavailableException;
import io.quarkus.logging.Log;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

import java.util.List;

/** The tenant package's exceptions as problem+json. */
public class TenantProblemMappers {

    @ServerExceptionMapper
    public Response notFound(TenantNotFoundException e) {
        return Problems.response(Problem.of(404, "not-found", "Not found", e.getMessage())).build();
    }

    @ServerExceptionMapper
    public Response invalid(InvalidTenantChangeException e) {
        return Problems.response(Problem.invalid(List.of(new FieldError(e.field(), e.getMessage())))).build();
    }

    /** Over a quota for now: 429, naming the quota, with how long to wait. */
    @ServerExceptionMapper
    public Response quotaExceeded(QuotaExceededException e) {
        return Problems.response(new Problem("urn:kiln:problem:quota-exceeded", "Quota exceeded", 429, e.getMessage(),
                        List.of(new FieldError(e.quota(), "is " + e.shownLimit() + " for this tenant"))))
                .header(HttpHeaders.RETRY_AFTER, Math.max(1, e.retryAfter().toSeconds())).build();
    }

    @ServerExceptionMapper
    public Response unavailable(TenantStoreUnavailableException e) {
        Log.warnf("tenant change not confirmed: %s", e.getMessage());
        return Problems.response(Problem.of(503, "unavailable", "Service unavailable",
                        e.getMessage() + "; read the tenant back before retrying"))
                .header(HttpHeaders.RETRY_AFTER, 5).build();
    }
}
