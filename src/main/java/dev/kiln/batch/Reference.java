package dev.kiln.batch;

import dev.kiln.job.JobIds;
import dev.kiln.storage.ObjectKeys;
import dev.kiln.reference.ReferenceFetchConfig;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;

/**
 * One entry of {@code reference_images} (or a {@code mask}), classified by its form alone:
 * an upload id, an object key of the tenant, or an allow-listed {@code https://} URL. Whether the
 * object exists is the business of {@link ReferenceResolver}. The allow-list is the worker's own
 * ({@link ReferenceFetchConfig#allowsHost(String)}), so intake and fetch can never disagree on a host.
 */
sealed interface Reference {

    /** Longest object key S3 allows, in UTF-8 bytes. */
    int MAX_KEY_BYTES = 1024;

    /** An upload made with {@code POST /v1/uploads}. */
    record Upload(String id, String key) implements Reference {
    }

    /** An object already in Kiln's bucket, under the tenant's prefix. */
    record StoredKey(String key) implements Reference {
    }

    /** An https URL on the allow-list; the worker fetches it with its own guards. */
    record Url(String url) implements Reference {
    }

    /** Anything else, with the reason to show. */
    record Invalid(String reason) implements Reference {
    }

    /** The key in the bucket, for upload and object-key references; null otherwise. */
    default String storedKey() {
        return switch (this) {
            case Upload u -> u.key();
            case StoredKey k -> k.key();
            default -> null;
        };
    }

    /** Classifies {@code text} for {@code tenant}. */
    static Reference classify(String text, String tenant, ReferenceFetchConfig config) {
        if (text == null || text.isBlank()) {
            return new Invalid("must be an upload id, an object key or an https URL");
        }
        if (text.startsWith(JobIds.UPLOAD_PREFIX) && text.indexOf('/') < 0) {
            return JobIds.isUploadId(text)
                    ? new Upload(text, ObjectKeys.upload(tenant, text))
                    : new Invalid("is not an upload id: upload ids are upl_ and 26 letters and digits, as POST /v1/uploads returns them");
        }
        if (text.contains("://")) {
            return url(text, config);
        }
        return key(text, tenant);
    }

    private static Reference url(String text, ReferenceFetchConfig config) {
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            return new Invalid("is not a valid URL");
        }
        if (!"https".equalsIgnoreCase(uri.getScheme())) {
            return new Invalid("must be an https URL");
        }
        if (uri.getRawUserInfo() != null) {
            return new Invalid("must not carry credentials in the URL");
        }
        if (uri.getHost() == null) {
            return new Invalid("is not a valid URL: it has no host");
        }
        if (!config.allowsHost(uri.getHost())) {
            return new Invalid("has host " + uri.getHost() + ", which is not on the allow-list of reference hosts (kiln.references.allowed-hosts)");
        }
        return new Url(text);
    }

    private static Reference key(String text, String tenant) {
        String prefix = ObjectKeys.tenantPrefix(tenant);
        if (!text.startsWith(prefix)) {
            return new Invalid("must be an upload id, an https URL or an object key of this tenant, starting with " + prefix);
        }
        if (text.getBytes(StandardCharsets.UTF_8).length > MAX_KEY_BYTES || text.endsWith("/") || text.contains("//")
                || text.chars().anyMatch(Character::isISOControl)
                || ("/" + text + "/").contains("/../") || ("/" + text + "/").contains("/./")) {
            return new Invalid("is not a valid object key");
        }
        return new StoredKey(text);
    }
}
