package dev.kiln.reference;

import dev.kiln.image.ImageFormat;
import dev.kiln.image.ImageInfo;
import dev.kiln.image.ImageProbe;
import dev.kiln.storage.ObjectKeys;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.storage.ObjectStore;
import dev.kiln.storage.StorageException;
import jakarta.enterprise.context.ApplicationScoped;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Brings a job's reference images and mask into its work folder and checks them, before any
 * rate permit is taken or the provider is paid. The job carries resolved references (see the
 * intake): each is either an object key in Kiln's bucket under the job's tenant, or an
 * {@code https://} URL, fetched through {@link UrlFetcher}. Every file must be a PNG, JPEG or
 * WebP image; the mask must be a PNG of the first reference's dimensions, which the provider
 * would otherwise refuse after the upload.
 */
@ApplicationScoped
public class ReferenceFetcher {

    /** The most input images one edit takes. */
    public static final int MAX_REFERENCES = 16;

    private final ObjectStore store;
    private final UrlFetcher urls;
    private final ReferenceFetchConfig config;

    public ReferenceFetcher(ObjectStore store, UrlFetcher urls, ReferenceFetchConfig config) {
        this.store = store;
        this.urls = urls;
        this.config = config;
    }

    /**
     * Fetches and checks the job's references; {@link FetchedReferences#NONE} for a generation.
     *
     * @throws ReferenceException see its {@link ReferenceException#retryable()}
     * @throws StorageException when S3 fails while an object reference is read: a storage fault,
     *                          which the worker waits out, not a fault of the reference
     */
    public FetchedReferences fetch(RenderJobRequested job, Path workDir) {
        List<String> sources = job.referenceImages() == null ? List.of() : job.referenceImages();
        if (sources.isEmpty()) {
            if (job.mask() != null) {
                throw ReferenceException.permanent(ReferenceException.INVALID_MASK, "a mask needs at least one reference image");
            }
            return FetchedReferences.NONE;
        }
        if (sources.size() > MAX_REFERENCES) {
            throw ReferenceException.permanent(ReferenceException.INVALID, "reference_images has " + sources.size()
                    + " entries; an edit takes at most " + MAX_REFERENCES);
        }
        List<ReferenceImage> images = new ArrayList<>();
        for (int i = 0; i < sources.size(); i++) {
            images.add(fetchOne(job, "reference_images[" + i + "]", sources.get(i), workDir.resolve("reference-" + i)));
        }
        ReferenceImage mask = job.mask() == null ? null : fetchOne(job, "mask", job.mask(), workDir.resolve("mask"));
        if (mask != null) {
            checkMask(mask, images.get(0));
        }
        return new FetchedReferences(List.copyOf(images), mask);
    }

    private ReferenceImage fetchOne(RenderJobRequested job, String field, String source, Path target) {
        try {
            if (source.regionMatches(true, 0, "https://", 0, 8)) {
                urls.fetch(source, target);
            } else if (source.contains("://")) {
                throw ReferenceException.permanent(ReferenceException.REFUSED, "only https URLs and object keys are fetched");
            } else {
                copyObject(job, field, source, target);
            }
        } catch (ReferenceException e) {
            throw e.code().equals(ReferenceException.UNAVAILABLE)
                    ? ReferenceException.transientFault(field + ": " + e.getMessage(), e.getCause())
                    : ReferenceException.permanent(e.code(), field + ": " + e.getMessage());
        }
        Optional<ImageInfo> info;
        try {
            info = ImageProbe.probe(target);
        } catch (IOException e) {
            throw ReferenceException.transientFault(field + ": the fetched file could not be read", e);
        }
        if (info.isEmpty()) {
            throw ReferenceException.permanent(ReferenceException.INVALID, field + " is not a PNG, JPEG or WebP image");
        }
        return new ReferenceImage(field, target, info.get());
    }

    /**
     * Copies an object of Kiln's bucket. The intake only lets keys under the batch's tenant through;
     * checking again here keeps a hand-made job on {@code kiln.jobs} from reading another tenant's objects.
     */
    private void copyObject(RenderJobRequested job, String field, String key, Path target) {
        String prefix = ObjectKeys.tenantPrefix(job.tenant());
        if (!key.startsWith(prefix) || key.contains("/../") || key.endsWith("/..")) {
            throw ReferenceException.permanent(ReferenceException.REFUSED, "object key " + key
                    + " is not under the job's tenant (" + prefix + ")");
        }
        Optional<InputStream> object = store.open(key);
        if (object.isEmpty()) {
            throw ReferenceException.permanent(ReferenceException.NOT_FOUND, "no object " + key + " in the bucket");
        }
        try (InputStream in = object.get(); OutputStream out = Files.newOutputStream(target)) {
            byte[] buffer = new byte[64 * 1024];
            long total = 0;
            int read;
            while ((read = in.read(buffer)) >= 0) {
                total += read;
                if (total > config.maxBytes()) {
                    throw ReferenceException.permanent(ReferenceException.TOO_LARGE, "object " + key
                            + " is larger than kiln.references.max-bytes (" + config.maxBytes() + ")");
                }
                out.write(buffer, 0, read);
            }
        } catch (IOException e) {
            throw new StorageException("reading object " + key + " failed: " + e.getClass().getSimpleName(), e);
        }
    }

    private static void checkMask(ReferenceImage mask, ReferenceImage first) {
        if (mask.info().format() != ImageFormat.PNG) {
            throw ReferenceException.permanent(ReferenceException.INVALID_MASK,
                    "mask is " + mask.info().format().extension() + "; a mask must be a PNG");
        }
        if (!mask.info().dimensions().equals(first.info().dimensions())) {
            throw ReferenceException.permanent(ReferenceException.INVALID_MASK, "mask is " + mask.info().size()
                    + " but reference_images[0] is " + first.info().size() + "; they must match");
        }
    }
}
