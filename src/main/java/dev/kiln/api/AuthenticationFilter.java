package dev.kiln.api;

import dev.kiln.tenant.AuthConfig;
import dev.kiln.tenant.Caller;
import dev.kiln.tenant.CurrentTenant;
import dev.kiln.tenant.RequestRateLimiter;
import dev.kiln.tenant.TenantDirectory;
import jakarta.ws.rs.HttpMethod;
import jakarta.ws.rs.Priorities;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;
import org.jboss.resteasy.reactive.server.SimpleResourceInfo;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Who is calling, for every REST path but the public ones ({@code kiln.auth.public-paths}):
 * deny by default, so a new resource cannot forget it. {@code /q/*} (health, metrics) is served
 * outside REST and never reaches it.
 *
 * <ol>
 *   <li>Before matching: the {@code Authorization: Bearer} key is the admin key, a tenant's key
 *       (bound to {@link CurrentTenant}), or 401. With no key configured anywhere, every caller
 *       is the default tenant.</li>
 *   <li>After matching: an {@link AdminApi} resource takes the admin key only, every other
 *       resource a tenant's key only; writes are rate-limited per key (429).</li>
 * </ol>
 * A 401 never echoes what was sent.
 */
public class AuthenticationFilter {

    /** Request property set when the admin key was presented. */
    static final String ADMIN = "dev.kiln.api.admin";

    private static final Pattern BEARER = Pattern.compile("(?i)bearer ([A-Za-z0-9._~+/-]+=*)");
    private static final int MAX_HEADER_LENGTH = 512;
    private static final Set<String> WRITES = Set.of(HttpMethod.POST, HttpMethod.PUT, HttpMethod.PATCH, HttpMethod.DELETE);

    private final TenantDirectory directory;
    private final CurrentTenant current;
    private final RequestRateLimiter limiter;
    private final List<String> publicPaths;

    public AuthenticationFilter(TenantDirectory directory, CurrentTenant current, RequestRateLimiter limiter,
                                AuthConfig config) {
        this.directory = directory;
        this.current = current;
        this.limiter = limiter;
        this.publicPaths = config.publicPaths();
    }

    @ServerRequestFilter(preMatching = true, priority = Priorities.AUTHENTICATION)
    public Optional<Response> authenticate(ContainerRequestContext request) {
        if (publicPaths.contains(request.getUriInfo().getPath())) {
            return Optional.empty();
        }
        if (directory.isOpen()) {
            current.bind(new Caller(directory.defaultTenant(), null));
            return Optional.empty();
        }
        List<String> headers = request.getHeaders().get(HttpHeaders.AUTHORIZATION);
        if (headers == null || headers.isEmpty()) {
            return Optional.of(unauthorized("send a key as Authorization: Bearer <key>", false));
        }
        String header = headers.getFirst();
        var bearer = BEARER.matcher(header);
        if (headers.size() > 1 || header.length() > MAX_HEADER_LENGTH || !bearer.matches()) {
            return Optional.of(unauthorized("the Authorization header is not of the form Bearer <key>", true));
        }
        String key = bearer.group(1);
        if (directory.isAdminKey(key)) {
            request.setProperty(ADMIN, Boolean.TRUE);
            return Optional.empty();
        }
        Optional<Caller> caller = directory.authenticate(key);
        if (caller.isEmpty()) {
            return Optional.of(unauthorized("the key is not valid (unknown or revoked)", true));
        }
        current.bind(caller.get());
        return Optional.empty();
    }

    @ServerRequestFilter(priority = Priorities.AUTHORIZATION)
    public Optional<Response> authorise(ContainerRequestContext request, SimpleResourceInfo resource) {
        if (publicPaths.contains(request.getUriInfo().getPath())) {
            return Optional.empty();
        }
        boolean admin = request.getProperty(ADMIN) != null;
        if (resource.getResourceClass().isAnnotationPresent(AdminApi.class)) {
            if (!directory.adminEnabled()) {
                return Optional.of(unauthorized("the admin API is off: KILN_ADMIN_API_KEY is not set", false));
            }
            return admin ? Optional.empty() : Optional.of(unauthorized("this path takes the admin key", true));
        }
        if (admin) {
            return Optional.of(unauthorized("the admin key is not a tenant's key", true));
        }
        if (WRITES.contains(request.getMethod())) {
            String bucket = current.keyId().orElse(current.id());
            Optional<Duration> wait = limiter.acquire(bucket);
            if (wait.isPresent()) {
                long seconds = Math.max(1, (wait.get().toMillis() + 999) / 1000);
                return Optional.of(Problems.response(Problem.of(429, "too-many-requests", "Too many requests",
                                "this key sends more write requests than kiln.auth.rate-limit allows; retry after "
                                        + seconds + " s"))
                        .header(HttpHeaders.RETRY_AFTER, seconds).build());
            }
        }
        return Optional.empty();
    }

    private static Response unauthorized(String detail, boolean invalidToken) {
        return Problems.response(Problem.of(401, "unauthorized", "Unauthorized", detail))
                .header(HttpHeaders.WWW_AUTHENTICATE, invalidToken ? "Bearer realm=\"kiln\", error=\"invalid_token\"" : "Bearer realm=\"kiln\"")
                .build();
    }
}
