package dev.kiln.batch;

import dev.kiln.image.Dimensions;
import dev.kiln.image.ImageFormat;
import dev.kiln.job.FieldError;
import dev.kiln.job.ServiceUnavailableException;
import dev.kiln.storage.ImageMetadata;
import dev.kiln.storage.ObjectKeys;
import dev.kiln.storage.ObjectStore;
import dev.kiln.storage.ObjectStore.StoredObject;
import dev.kiln.storage.StorageException;
import dev.kiln.reference.ReferenceFetchConfig;
import io.quarkus.logging.Log;
import jakarta.enterprise.context.ApplicationScoped;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.stream.Stream;

/**
 * Resolves a batch's references against the bucket before anything is published: an upload id
 * becomes its object key, every key must exist and be an image, and a mask must be a PNG of the
 * first reference's dimensions whenever both are stored objects whose size Kiln recorded. URLs
 * pass as they are; the worker checks their address and content when it fetches them.
 */
@ApplicationScoped
public class ReferenceResolver {

    /** An S3 outage is rarely over in less. */
    private static final Duration STORAGE_RETRY_AFTER = Duration.ofSeconds(5);

    private static final Set<String> IMAGE_TYPES = Set.of(
            ImageFormat.PNG.contentType(), ImageFormat.JPEG.contentType(), ImageFormat.WEBP.contentType());

    private final ObjectStore store;
    private final ReferenceFetchConfig config;
    private final IntakeConfig intake;

    public ReferenceResolver(ObjectStore store, ReferenceFetchConfig config, IntakeConfig intake) {
        this.store = store;
        this.config = config;
        this.intake = intake;
    }

    /**
     * The outcome of a resolution.
     *
     * @param items  each item's resolved references, in item order; meaningful only without errors
     * @param errors every reference that cannot be used, named by its field
     */
    public record Resolution(List<ResolvedReferences> items, List<FieldError> errors) {
    }

    /**
     * Resolves every reference of {@code request} for {@code tenant}. Each distinct reference is
     * looked up once, however many items share it (series consistency repeats the defaults').
     *
     * @throws ServiceUnavailableException when the bucket cannot be reached
     */
    public Resolution resolve(BatchRequest request, String tenant) {
        BatchDefaults defaults = BatchValidator.defaultsOf(request);
        List<BatchItem> items = request.items() == null ? List.of() : request.items();
        Map<String, Reference> forms = new HashMap<>();
        Stream.concat(referencesOf(defaults.referenceImages(), defaults.mask()),
                        items.stream().filter(i -> i != null).flatMap(i -> referencesOf(i.referenceImages(), i.mask())))
                .distinct()
                .forEach(text -> forms.put(text, owned(Reference.classify(text, tenant, config), tenant)));
        Lookup lookup = new Lookup(forms, lookUp(forms.values().stream().map(Reference::storedKey)
                .filter(k -> k != null).distinct().toList()));

        Set<FieldError> errors = new LinkedHashSet<>();
        List<ResolvedReference> shared = lookup.list("defaults", defaults.referenceImages(), errors);
        ResolvedReference sharedMask = lookup.mask("defaults", defaults.mask(), errors);
        List<ResolvedReferences> resolved = new ArrayList<>(items.size());
        for (int i = 0; i < items.size(); i++) {
            BatchItem item = items.get(i);
            if (item == null) {
                resolved.add(ResolvedReferences.NONE);
                continue;
            }
            String path = "items[" + i + "]";
            List<ResolvedReference> images = new ArrayList<>(shared);
            images.addAll(lookup.list(path, item.referenceImages(), errors));
            boolean ownMask = item.mask() != null;
            ResolvedReference mask = ownMask ? lookup.mask(path, item.mask(), errors) : sharedMask;
            if (mask != null && !images.isEmpty()) {
                checkMaskSize(ownMask ? path : "defaults", mask, images.getFirst(), errors);
            }
            resolved.add(new ResolvedReferences(List.copyOf(images), mask));
        }
        return new Resolution(resolved, List.copyOf(errors));
    }

    /**
     * The tenant rule, checked once more on the classified form: an upload id resolves under the
     * caller's prefix only, and an object key must lie under it ({@link ObjectKeys#isOwnedBy}).
     * Another tenant's key is refused with the same words as any key outside the prefix, naming
     * only the caller's own prefix, so nothing of the other tenant shows in the answer.
     */
    private static Reference owned(Reference form, String tenant) {
        String key = form.storedKey();
        if (key != null && !ObjectKeys.isOwnedBy(tenant, key)) {
            return new Reference.Invalid("must be an upload id, an https URL or an object key of this tenant, starting with "
                    + ObjectKeys.tenantPrefix(tenant));
        }
        return form;
    }

    private static Stream<String> referencesOf(List<String> images, String mask) {
        Stream<String> refs = images == null ? Stream.empty() : images.stream();
        return Stream.concat(refs, Stream.ofNullable(mask)).filter(r -> r != null);
    }

    private static void checkMaskSize(String path, ResolvedReference mask, ResolvedReference first, Set<FieldError> errors) {
        if (mask.dimensions() != null && first.dimensions() != null && !mask.dimensions().equals(first.dimensions())) {
            errors.add(new FieldError(path + ".mask", "must have the first reference image's dimensions, "
                    + first.dimensions() + ", but is " + mask.dimensions()));
        }
    }

    /** Stats every key, a few at a time; S3 answers each in milliseconds but a batch may name thousands. */
    private Map<String, Optional<StoredObject>> lookUp(List<String> keys) {
        Map<String, Optional<StoredObject>> found = new HashMap<>();
        try {
            if (keys.size() == 1) {
                found.put(keys.getFirst(), store.stat(keys.getFirst()));
                return found;
            }
            Semaphore permits = new Semaphore(Math.max(1, intake.referenceLookupConcurrency()));
            Map<String, Future<Optional<StoredObject>>> pending = new HashMap<>();
            try (ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
                for (String key : keys) {
                    pending.put(key, executor.submit(() -> {
                        permits.acquire();
                        try {
                            return store.stat(key);
                        } finally {
                            permits.release();
                        }
                    }));
                }
                for (Map.Entry<String, Future<Optional<StoredObject>>> entry : pending.entrySet()) {
                    found.put(entry.getKey(), entry.getValue().get());
                }
            }
            return found;
        } catch (StorageException e) {
            throw unavailable(e);
        } catch (ExecutionException e) {
            throw unavailable(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw unavailable(e);
        }
    }

    private static ServiceUnavailableException unavailable(Throwable cause) {
        Log.errorf("reference look-up failed: %s", String.valueOf(cause));
        return new ServiceUnavailableException("storage-unavailable", "Storage unavailable",
                "the bucket could not be reached to check the reference images; nothing was accepted. Retry later.",
                STORAGE_RETRY_AFTER);
    }

    /** The forms and the stat results of one batch's references. */
    private record Lookup(Map<String, Reference> forms, Map<String, Optional<StoredObject>> objects) {

        List<ResolvedReference> list(String path, List<String> texts, Set<FieldError> errors) {
            if (texts == null) {
                return List.of();
            }
            List<ResolvedReference> out = new ArrayList<>(texts.size());
            for (int j = 0; j < texts.size(); j++) {
                String field = path + ".reference_images[" + j + "]";
                ResolvedReference r = one(field, texts.get(j), false, errors);
                if (r != null) {
                    out.add(r);
                }
            }
            return out;
        }

        ResolvedReference mask(String path, String text, Set<FieldError> errors) {
            return text == null ? null : one(path + ".mask", text, true, errors);
        }

        private ResolvedReference one(String field, String text, boolean isMask, Set<FieldError> errors) {
            Reference form = text == null ? new Reference.Invalid("must not be null") : forms.get(text);
            switch (form) {
                case Reference.Invalid invalid -> {
                    errors.add(new FieldError(field, invalid.reason()));
                    return null;
                }
                case Reference.Url url -> {
                    return new ResolvedReference(url.url(), null);
                }
                default -> {
                    return stored(field, form, isMask, errors);
                }
            }
        }

        private ResolvedReference stored(String field, Reference form, boolean isMask, Set<FieldError> errors) {
            Optional<StoredObject> object = objects.get(form.storedKey());
            if (object == null || object.isEmpty()) {
                errors.add(new FieldError(field, form instanceof Reference.Upload
                        ? "names no upload of this tenant; upload the image with POST /v1/uploads first"
                        : "names no object in the bucket"));
                return null;
            }
            String type = object.get().contentType();
            if (isMask && !ImageFormat.PNG.contentType().equals(type)) {
                errors.add(new FieldError(field, "must be a PNG image, but is " + type));
                return null;
            }
            if (!IMAGE_TYPES.contains(type)) {
                errors.add(new FieldError(field, "must be a png, jpeg or webp image, but is " + type));
                return null;
            }
            return new ResolvedReference(object.get().key(), dimensionsOf(object.get()));
        }

        private static Dimensions dimensionsOf(StoredObject object) {
            try {
                String w = object.metadata().get(ImageMetadata.WIDTH);
                String h = object.metadata().get(ImageMetadata.HEIGHT);
                return w == null || h == null ? null : new Dimensions(Integer.parseInt(w), Integer.parseInt(h));
            } catch (NumberFormatException e) {
                return null; // written by someone else: the worker checks the size after fetching
            }
        }
    }
}
