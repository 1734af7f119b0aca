package dev.kiln.api;

import dev.kiln.tenant.InvalidTenantChangeException;
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
        return Problems.response(Problem.invalid(List.of(new dev.kiln.job.FieldError(e.field(), e.getMessage())))).build();
    }

    @ServerExceptionMapper
    public Response unavailable(TenantStoreUnavailableException e) {
        Log.warnf("tenant change not confirmed: %s", e.getMessage());
        return Problems.response(Problem.of(503, "unavailable", "Service unavailable",
                        e.getMessage() + "; read the tenant back before retrying"))
                .header(HttpHeaders.RETRY_AFTER, 5).build();
    }
}
