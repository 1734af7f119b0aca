package dev.kiln.status;

import dev.kiln.job.InvalidRequestException;
import dev.kiln.job.JobState;
import dev.kiln.job.NotFoundException;
import dev.kiln.storage.ObjectStore;
import io.smallrye.common.annotation.Blocking;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Optional;

/** Batch and job status, read from the local status view. */
@Path("/v1")
@Produces(MediaType.APPLICATION_JSON)
@Blocking
public class StatusResource {

    private final StatusView view;
    private final ObjectStore store;
    private final StatusViewConfig config;

    public StatusResource(StatusView view, ObjectStore store, StatusViewConfig config) {
        this.view = view;
        this.store = store;
        this.config = config;
    }

    /** A batch's state, counts, usage and times. */
    @GET
    @Path("/batches/{id}")
    public BatchStatus batch(@PathParam("id") String id) {
        return BatchStatus.of(view.batch(id).orElseThrow(() -> notFound("batch", id)));
    }

    /** One page of a batch's items, in submission order. */
    @GET
    @Path("/batches/{id}/items")
    public ItemsResponse items(@PathParam("id") String id, @QueryParam("state") String state,
                               @QueryParam("cursor") String cursor, @QueryParam("limit") Integer limit) {
        view.batch(id).orElseThrow(() -> notFound("batch", id));
        int pageSize = limit == null ? 100 : limit;
        if (pageSize < 1 || pageSize > config.maxPageSize()) {
            throw invalid("limit", "must be between 1 and " + config.maxPageSize());
        }
        StatusView.ItemsPage page = view.items(id, parseState(state), decodeCursor(cursor), pageSize);
        List<JobStatus> items = page.jobs().stream().map(job -> JobStatus.of(job, store)).toList();
        return new ItemsResponse(items, page.lastIndex().map(StatusResource::encodeCursor).orElse(null));
    }

    /** One job. */
    @GET
    @Path("/jobs/{id}")
    public JobStatus job(@PathParam("id") String id) {
        return JobStatus.of(view.job(id).orElseThrow(() -> notFound("job", id)), store);
    }

    /**
     * A page of items.
     *
     * @param items      the jobs on this page
     * @param nextCursor pass as {@code cursor} for the next page; absent on the last page
     */
    public record ItemsResponse(List<JobStatus> items, String nextCursor) {
    }

    private static Optional<JobState> parseState(String state) {
        if (state == null || state.isBlank()) {
            return Optional.empty();
        }
        try {
            return Optional.of(JobState.fromWire(state));
        } catch (IllegalArgumentException e) {
            throw invalid("state", "must be one of queued, running, succeeded, failed, cancelled");
        }
    }

    private static int decodeCursor(String cursor) {
        if (cursor == null || cursor.isBlank()) {
            return -1;
        }
        try {
            String text = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
            if (!text.startsWith("i:")) {
                throw new IllegalArgumentException(text);
            }
            return Integer.parseInt(text.substring(2));
        } catch (IllegalArgumentException e) {
            throw invalid("cursor", "is not a cursor this API returned");
        }
    }

    private static String encodeCursor(int lastIndex) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(("i:" + lastIndex).getBytes(StandardCharsets.UTF_8));
    }

    private static NotFoundException notFound(String what, String id) {
        return new NotFoundException(what, id);
    }

    private static InvalidRequestException invalid(String field, String reason) {
        return InvalidRequestException.of(field, reason);
    }
}
