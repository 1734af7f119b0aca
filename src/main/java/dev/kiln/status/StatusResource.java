package dev.kiln.status;

import dev.kiln.job.BatchState;
import dev.kiln.job.InvalidRequestException;
import dev.kiln.job.JobState;
import dev.kiln.job.WebhookDeliveryLog;
import dev.kiln.storage.ObjectStore;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.common.annotation.NonBlocking;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.StreamingOutput;
import jakarta.ws.rs.sse.Sse;
import jakarta.ws.rs.sse.SseEventSink;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Batch and job status, read from the local status view. Every path finds its batch or job
 * through {@link OwnedStatus}: another tenant's id is 404, exactly like a missing one.
 */
@Path("/v1")
@Produces(MediaType.APPLICATION_JSON)
@Blocking
public class StatusResource {

    /** What a list cursor holds: a list position ({@link StatusStoreKeys#listPosition}). */
    private static final Pattern LIST_POSITION = Pattern.compile("[0-9]{19}\\|b_[0-9a-z]{1,64}");
    private static final int MAX_EXTERNAL_ID = 1024;

    private final OwnedStatus owned;
    private final StatusView view;
    private final ObjectStore store;
    private final StatusViewConfig config;
    private final BatchEventStream events;
    private final ManifestWriter manifests;
    private final WebhookDeliveryLog webhooks;

    public StatusResource(OwnedStatus owned, StatusView view, ObjectStore store, StatusViewConfig config,
                          BatchEventStream events, ManifestWriter manifests, WebhookDeliveryLog webhooks) {
        this.webhooks = webhooks;
        this.manifests = manifests;
        this.owned = owned;
        this.view = view;
        this.store = store;
        this.config = config;
        this.events = events;
    }

    /** The caller's batches, newest first. */
    @GET
    @Path("/batches")
    public BatchesResponse batches(@QueryParam("state") String state, @QueryParam("external_id") String externalId,
                                   @QueryParam("cursor") String cursor, @QueryParam("limit") Integer limit) {
        int pageSize = pageSize(limit);
        if (externalId != null && externalId.length() > MAX_EXTERNAL_ID) {
            throw invalid("external_id", "must be at most " + MAX_EXTERNAL_ID + " characters");
        }
        StatusView.BatchesPage page = view.batches(owned.tenant(), parseBatchState(state),
                Optional.ofNullable(externalId).filter(s -> !s.isEmpty()), decodeListCursor(cursor), pageSize);
        List<BatchStatus> batches = page.batches().stream().map(BatchStatus::of).toList();
        return new BatchesResponse(batches, page.lastPosition().map(p -> encode("l:" + p)).orElse(null));
    }

    /** A batch's state, counts, usage, times and webhook deliveries. */
    @GET
    @Path("/batches/{id}")
    public BatchStatus batch(@PathParam("id") String id) {
        return BatchStatus.of(owned.requireOwnedBatch(id), webhooks);
    }

    /**
     * One page of a batch's items, in submission order: an {@link ItemsResponse}, written straight
     * from the stored jobs ({@link JobAnswers}).
     */
    // Page, item and job reads answer on the event loop (@NonBlocking): they only read the local
    // state store and sign URLs in process (a page takes about 0.25 ms of CPU), and the two thread
    // hand-offs a worker thread costs were a large part of their p99 on 2 cores (README "Status reads").
    @GET
    @Path("/batches/{id}/items")
    @NonBlocking
    @APIResponse(responseCode = "200", description = "A page of items",
            content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ItemsResponse.class)))
    public Response items(@PathParam("id") String id, @QueryParam("state") String state,
                          @QueryParam("cursor") String cursor, @QueryParam("limit") Integer limit) {
        BatchView batch = owned.requireOwnedBatch(id);
        int pageSize = pageSize(limit);
        StatusView.StoredItemsPage page = view.storedItems(batch, parseState(state), decodeCursor(cursor), pageSize);
        return json(JobAnswers.page(page.jobs(), page.lastIndex().map(StatusResource::encodeCursor).orElse(null),
                presignedFor(batch)));
    }

    /** One item of a batch by the client's own id (such as a SKU): a {@link JobStatus}. */
    @GET
    @Path("/batches/{id}/items/{item_id}")
    @NonBlocking
    @APIResponse(responseCode = "200", description = "The item's job",
            content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = JobStatus.class)))
    public Response item(@PathParam("id") String id, @PathParam("item_id") String itemId) {
        BatchView batch = owned.requireOwnedBatch(id);
        byte[] job = view.storedItem(batch, itemId).orElseThrow(() -> OwnedStatus.notFound("item", itemId));
        return json(JobAnswers.job(job, presignedFor(batch)));
    }

    /** One job: a {@link JobStatus}. */
    @GET
    @Path("/jobs/{id}")
    @NonBlocking
    @APIResponse(responseCode = "200", description = "The job",
            content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = JobStatus.class)))
    public Response job(@PathParam("id") String id) {
        BatchView batch = owned.requireOwnedBatchOfJob(id);
        byte[] job = view.storedJob(batch, id).orElseThrow(() -> OwnedStatus.notFound("job", id));
        return json(JobAnswers.job(job, presignedFor(batch)));
    }

    /** Presigned URLs of {@code batch}'s objects, under its tenant's prefix. */
    private ObjectUrls presignedFor(BatchView batch) {
        return ObjectUrls.presigned(store, batch.tenant());
    }

    private static Response json(byte[] body) {
        return Response.ok(body, MediaType.APPLICATION_JSON_TYPE).build();
    }

    /**
     * Server-sent events of a batch, one per state change, from its first event or after
     * {@code Last-Event-ID}; ends after the batch's final event as of now (a completion that a
     * retry has reopened since is not final).
     */
    @GET
    @Path("/batches/{id}/events")
    @Produces(MediaType.SERVER_SENT_EVENTS)
    public void events(@PathParam("id") String id, @HeaderParam("Last-Event-ID") String lastEventId,
                       @Context SseEventSink sink, @Context Sse sse) {
        BatchView batch = owned.requireOwnedBatch(id);
        events.stream(batch, parseLastEventId(lastEventId), sink, sse);
    }

    /**
     * The results manifest: one line per item with the items endpoint's field names and
     * presigned URLs, the current state while the batch runs.
     */
    @GET
    @Path("/batches/{id}/manifest")
    @Produces(ManifestWriter.NDJSON)
    public Response manifest(@PathParam("id") String id) {
        BatchView batch = owned.requireOwnedBatch(id);
        StreamingOutput body = out -> manifests.writeLines(batch, out, store);
        return Response.ok(body, ManifestWriter.NDJSON).build();
    }

    /**
     * A page of items.
     *
     * @param items      the jobs on this page
     * @param nextCursor pass as {@code cursor} for the next page; absent on the last page
     */
    public record ItemsResponse(List<JobStatus> items, String nextCursor) {
    }

    /**
     * A page of batches.
     *
     * @param batches    newest first
     * @param nextCursor pass as {@code cursor} for the next page; absent on the last page
     */
    public record BatchesResponse(List<BatchStatus> batches, String nextCursor) {
    }

    private int pageSize(Integer limit) {
        int pageSize = limit == null ? 100 : limit;
        if (pageSize < 1 || pageSize > config.maxPageSize()) {
            throw invalid("limit", "must be between 1 and " + config.maxPageSize());
        }
        return pageSize;
    }

    private static Optional<Long> parseLastEventId(String lastEventId) {
        if (lastEventId == null || lastEventId.isBlank()) {
            return Optional.empty();
        }
        try {
            long id = Long.parseLong(lastEventId.trim());
            if (id < 0) {
                throw new NumberFormatException();
            }
            return Optional.of(id);
        } catch (NumberFormatException e) {
            throw invalid("Last-Event-ID", "is not an event id this stream sent");
        }
    }

    private static Optional<JobState> parseState(String state) {
        if (state == null || state.isBlank()) {
            return Optional.empty();
        }
        try {
            return Optional.of(JobState.fromWire(state));
        } catch (IllegalArgumentException e) {
            throw invalid("state", "must be one of queued, running, succeeded, failed, cancelled, expired");
        }
    }

    private static Optional<BatchState> parseBatchState(String state) {
        if (state == null || state.isBlank()) {
            return Optional.empty();
        }
        for (BatchState s : BatchState.values()) {
            if (s.wireName().equals(state)) {
                return Optional.of(s);
            }
        }
        throw invalid("state", "must be one of queued, running, succeeded, partially_failed, failed, cancelled, expired");
    }

    private static Optional<String> decodeListCursor(String cursor) {
        if (cursor == null || cursor.isBlank()) {
            return Optional.empty();
        }
        String text = decode(cursor);
        if (text == null || !text.startsWith("l:") || !LIST_POSITION.matcher(text.substring(2)).matches()) {
            throw invalid("cursor", "is not a cursor this API returned");
        }
        return Optional.of(text.substring(2));
    }

    private static int decodeCursor(String cursor) {
        if (cursor == null || cursor.isBlank()) {
            return -1;
        }
        String text = decode(cursor);
        try {
            if (text == null || !text.startsWith("i:")) {
                throw new IllegalArgumentException();
            }
            return Integer.parseInt(text.substring(2));
        } catch (IllegalArgumentException e) {
            throw invalid("cursor", "is not a cursor this API returned");
        }
    }

    private static String decode(String cursor) {
        try {
            return new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static String encodeCursor(int lastIndex) {
        return encode("i:" + lastIndex);
    }

    private static String encode(String text) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }

    private static InvalidRequestException invalid(String field, String reason) {
        return InvalidRequestException.of(field, reason);
    }
}
