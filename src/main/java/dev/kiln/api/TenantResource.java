package dev.kiln.api;

import dev.kiln.tenant.CurrentTenant;
import dev.kiln.tenant.TenantAdmin;
import dev.kiln.tenant.TenantUsageSource;
import io.smallrye.common.annotation.Blocking;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import java.time.Clock;

/** {@code GET /v1/tenant} and {@code POST /v1/tenant/webhook-secret}: the calling tenant itself. */
@Path("/v1")
@Produces({MediaType.APPLICATION_JSON, Problem.MEDIA_TYPE})
@Blocking
public class TenantResource {

    private final CurrentTenant current;
    private final TenantAdmin admin;
    private final TenantUsageSource usage;
    private final Clock clock = Clock.systemUTC();

    public TenantResource(CurrentTenant current, TenantAdmin admin, TenantUsageSource usage) {
        this.current = current;
        this.admin = admin;
        this.usage = usage;
    }

    /** Who the key is: id, weight, quotas, usage and the webhook signing secrets. */
    @GET
    @Path("/tenant")
    public Response tenant() {
        return secret(TenantView.of(current.tenant(), usage.usage(current.id()), clock.instant()));
    }

    /** A new webhook signing secret; the previous one keeps signing for a day. */
    @POST
    @Path("/tenant/webhook-secret")
    public Response rotateWebhookSecret() {
        return secret(TenantView.of(admin.rotateWebhookSecret(current.id()), usage.usage(current.id()), clock.instant()));
    }

    /** Answers that hold a secret are never cached on the way. */
    static Response secret(Object body) {
        return Response.ok(body).header("Cache-Control", "no-store").build();
    }
}
