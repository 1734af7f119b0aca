package dev.kiln.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.tenant.CreatedKey;
import dev.kiln.tenant.Tenant;
import dev.kiln.tenant.TenantAdmin;
import dev.kiln.tenant.TenantDirectory;
import dev.kiln.tenant.TenantKey;
import dev.kiln.tenant.TenantNotFoundException;
import dev.kiln.tenant.TenantSettings;
import io.smallrye.common.annotation.Blocking;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.PATCH;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import java.io.IOException;
import java.net.URI;
import java.util.List;

/**
 * The admin API ({@code KILN_ADMIN_API_KEY}): tenants, their keys, weight and quotas. Changes go
 * to {@code kiln.tenants} and reach every api replica within a second.
 */
@AdminApi
@Path("/v1")
@Produces({MediaType.APPLICATION_JSON, Problem.MEDIA_TYPE})
@Blocking
public class AdminTenantResource {

    private final TenantDirectory directory;
    private final TenantAdmin admin;
    private final ObjectMapper json;

    public AdminTenantResource(TenantDirectory directory, TenantAdmin admin, ObjectMapper json) {
        this.directory = directory;
        this.admin = admin;
        this.json = json;
    }

    /**
     * A tenant as the admin sees it: no webhook secret.
     *
     * @param id     the tenant id
     * @param weight its weight in the fair share
     * @param quotas what it may use
     * @param keys   its valid keys, by id
     */
    public record AdminTenantView(String id, int weight, TenantView.Quotas quotas, List<TenantKey> keys) {
        static AdminTenantView of(Tenant tenant, List<TenantKey> keys) {
            return new AdminTenantView(tenant.id(), tenant.weight(), TenantView.Quotas.of(tenant.quotas()), keys);
        }
    }

    /**
     * The body of a key creation; optional.
     *
     * @param label what to call the key, such as the client that will use it
     */
    public record CreateKeyRequest(String label) {
    }

    /** Every tenant known from configuration or the admin API. */
    @GET
    @Path("/admin/tenants")
    public List<AdminTenantView> tenants() {
        return directory.tenantIds().stream().map(id -> AdminTenantView.of(directory.tenant(id), directory.keys(id))).toList();
    }

    /** One tenant; 404 when nothing is known of it. */
    @GET
    @Path("/admin/tenants/{tenant}")
    public AdminTenantView tenant(@PathParam("tenant") String tenant) {
        requireKnown(tenant);
        return AdminTenantView.of(directory.tenant(tenant), directory.keys(tenant));
    }

    /** Sets weight and quotas (fields left out are unchanged); creates the tenant if new. */
    @PATCH
    @Path("/admin/tenants/{tenant}")
    public AdminTenantView configure(@PathParam("tenant") String tenant, TenantSettings settings) {
        Tenant changed = admin.configure(tenant, settings == null ? new TenantSettings(null, null, null, null, null) : settings);
        return AdminTenantView.of(changed, directory.keys(tenant));
    }

    /** The tenant's keys, by id: never a key. */
    @GET
    @Path("/admin/tenants/{tenant}/keys")
    public List<TenantKey> keys(@PathParam("tenant") String tenant) {
        requireKnown(tenant);
        return directory.keys(tenant);
    }

    /**
     * A new key for the tenant (created if new): 201, with the key shown this once. The body
     * ({@link CreateKeyRequest}) is optional, so a bare POST without a content type works too.
     */
    @POST
    @Path("/admin/tenants/{tenant}/keys")
    @Consumes(MediaType.WILDCARD)
    public Response createKey(@PathParam("tenant") String tenant, @jakarta.ws.rs.HeaderParam("Content-Type") String contentType,
                              byte[] body) throws IOException {
        // Optional JSON: a body of any other type is refused, never read as if it were JSON.
        if (body != null && body.length > 0 && !isJson(contentType)) {
            return Problems.response(Problem.of(415, "unsupported-media-type", "Unsupported media type",
                    "a key request body is application/json")).build();
        }
        CreateKeyRequest request = body == null || body.length == 0 ? null : json.readValue(body, CreateKeyRequest.class);
        CreatedKey created = admin.createKey(tenant, request == null ? null : request.label());
        return Response.created(URI.create("/v1/admin/tenants/" + tenant + "/keys/" + created.id()))
                .entity(created).header("Cache-Control", "no-store").build();
    }

    private static boolean isJson(String contentType) {
        try {
            return contentType != null && MediaType.APPLICATION_JSON_TYPE.isCompatible(MediaType.valueOf(contentType));
        } catch (IllegalArgumentException malformed) {
            return false;
        }
    }

    /** Revokes a key: every replica refuses it within a second. */
    @DELETE
    @Path("/admin/tenants/{tenant}/keys/{key}")
    public Response revokeKey(@PathParam("tenant") String tenant, @PathParam("key") String key) {
        admin.revokeKey(tenant, key);
        return Response.noContent().build();
    }

    private void requireKnown(String tenant) {
        if (!directory.knows(tenant)) {
            throw new TenantNotFoundException("no tenant " + tenant);
        }
    }
}
