package dev.kiln.upload;

import dev.kiln.job.NotFoundException;
import dev.kiln.tenant.CurrentTenant;
import io.smallrye.common.annotation.Blocking;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.RestForm;
import org.jboss.resteasy.reactive.multipart.FileUpload;

import java.net.URI;
import java.util.List;

/** {@code POST /v1/uploads} and {@code GET /v1/uploads/{id}}: reference images for edits. */
/*
 * At /v1 like every resource: JAX-RS picks a class by its longest matching path first, so a class
 * at /v1/uploads would hide the sub-paths of the others.
 */
@Path("/v1")
@Produces({MediaType.APPLICATION_JSON, "application/problem+json"})
@Blocking
public class UploadResource {

    private final UploadIntake intake;
    private final CurrentTenant caller;

    public UploadResource(UploadIntake intake, CurrentTenant caller) {
        this.intake = intake;
        this.caller = caller;
    }

    /**
     * Stores one png, jpeg or webp image sent as the multipart part {@code file}; 201 with its id.
     * Every part is taken, so that a request with two {@code file} parts is refused rather than
     * half read.
     */
    @POST
    @Path("/uploads")
    @Consumes(MediaType.MULTIPART_FORM_DATA)
    public Response upload(@RestForm(FileUpload.ALL) List<FileUpload> parts) {
        List<FileUpload> files = parts == null ? List.of()
                : parts.stream().filter(p -> UploadIntake.FIELD.equals(p.name())).toList();
        if (files.isEmpty() || files.getFirst().uploadedFile() == null) {
            throw UploadIntake.invalid("is required: send the image as a multipart/form-data file part named file");
        }
        if (files.size() > 1) {
            throw UploadIntake.invalid("must be sent once: one upload is one image");
        }
        Upload upload = intake.accept(caller.id(), files.getFirst().uploadedFile());
        // JAX-RS makes the Location absolute against the request's base URI.
        return Response.created(URI.create("/v1/uploads/" + upload.id())).entity(upload).build();
    }

    /**
     * The upload {@code id} of the caller's tenant: the same body as its 201. Another tenant's
     * upload is looked up under the caller's prefix, where it does not exist: 404, as for an
     * unknown id.
     */
    @GET
    @Path("/uploads/{id}")
    public Upload get(@PathParam("id") String id) {
        return intake.find(caller.id(), id).orElseThrow(() -> new NotFoundException("upload", id));
    }
}
