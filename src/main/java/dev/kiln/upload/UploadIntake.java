package dev.kiln.upload;

import dev.kiln.job.Sha256;
import dev.kiln.storage.StorageHealth;
import dev.kiln.job.ServiceUnavailableException;

import dev.kiln.image.ImageDecoder;
import dev.kiln.image.ImageInfo;
import dev.kiln.image.UndecodableImageException;
import dev.kiln.job.InvalidRequestException;
import dev.kiln.job.JobIds;
import dev.kiln.storage.ObjectKeys;
import dev.kiln.storage.ImageMetadata;
import dev.kiln.storage.ObjectStore;
import jakarta.enterprise.context.ApplicationScoped;

import java.io.InputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * Accepts reference images: checks size, decodes the whole image, and stores it under the
 * tenant's {@code uploads/} prefix with its type, size and digest as metadata. The content type
 * comes from the decoded bytes, never from what the client declared.
 */
@ApplicationScoped
public class UploadIntake {

    /** The multipart part that carries the image. */
    public static final String FIELD = "file";

    private final ObjectStore store;
    private final UploadConfig config;

    private final StorageHealth storage;

    public UploadIntake(ObjectStore store, UploadConfig config, StorageHealth storage) {
        this.store = store;
        this.config = config;
        this.storage = storage;
    }

    /** Validates and stores the image in {@code file} for {@code tenant}. */
    public Upload accept(String tenant, Path file) {
        if (!storage.isAvailable()) {
            // Nothing could be stored: 503 with Retry-After, never a generic 500.
            throw new ServiceUnavailableException("storage-unavailable", "Storage unavailable",
                    "S3 storage is unreachable; the upload was not stored. Retry later.", storage.retryAfter());
        }
        long bytes = size(file);
        if (bytes > config.maxBytes()) {
            throw new UploadTooLargeException(bytes, config.maxBytes());
        }
        if (bytes == 0) {
            throw invalid("must not be empty");
        }
        ImageInfo image;
        try {
            image = ImageDecoder.decode(file, config.maxPixels());
        } catch (UndecodableImageException e) {
            throw invalid(e.getMessage());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String id = JobIds.newUploadId();
        String key = ObjectKeys.upload(tenant, id);
        String sha256 = sha256(file);
        store.put(key, file, image.format().contentType(), Map.of(
                ImageMetadata.SHA256, sha256,
                ImageMetadata.WIDTH, Integer.toString(image.width()),
                ImageMetadata.HEIGHT, Integer.toString(image.height())));
        return new Upload(id, key, image.format().contentType(), bytes, image.width(), image.height(), sha256);
    }

    /** The upload {@code id} of {@code tenant}, if it exists. */
    public Optional<Upload> find(String tenant, String id) {
        if (!JobIds.isUploadId(id)) {
            return Optional.empty();
        }
        return store.stat(ObjectKeys.upload(tenant, id)).map(o -> new Upload(id, o.key(), o.contentType(), o.bytes(),
                intOf(o.metadata().get(ImageMetadata.WIDTH)), intOf(o.metadata().get(ImageMetadata.HEIGHT)),
                o.metadata().get(ImageMetadata.SHA256)));
    }

    /** A refusal naming the file part. */
    static InvalidRequestException invalid(String reason) {
        return InvalidRequestException.of(FIELD, reason);
    }

    private static int intOf(String text) {
        try {
            return text == null ? 0 : Integer.parseInt(text);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return Sha256.hexOf(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
