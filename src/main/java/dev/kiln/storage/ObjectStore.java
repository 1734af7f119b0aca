package dev.kiln.storage;

import io.minio.BucketExistsArgs;
import io.minio.ListObjectsArgs;
import io.minio.RemoveObjectArgs;
import io.minio.RemoveObjectsArgs;
import io.minio.Result;
import io.minio.messages.DeleteRequest;
import io.minio.messages.DeleteResult;
import io.minio.messages.Item;
import io.minio.GetObjectArgs;
import io.minio.GetPresignedObjectUrlArgs;
import io.minio.MakeBucketArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.StatObjectArgs;
import io.minio.StatObjectResponse;
import io.minio.errors.ErrorResponseException;
import io.minio.Http;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Kiln's bucket: the only class that talks to S3. Every call is bounded by the timeouts of
 * {@link S3Config} and reports to {@link StorageHealth}, whose state readiness and intake read.
 */
@ApplicationScoped
public class ObjectStore {

    private final MinioClient client;
    private final MinioClient presigner;
    /** Signs most URLs without the SDK's per-call cost; null where the URLs' shape was not recognised. */
    private final SigV4Presigner fastPresigner;
    private final S3Config config;
    private final StorageHealth health;

    @Inject
    public ObjectStore(MinioClient client, S3Config config, StorageHealth health) {
        this(client, config, health, Clock.systemUTC());
    }

    ObjectStore(MinioClient client, S3Config config, StorageHealth health, Clock clock) {
        this.client = client;
        this.presigner = presignerFor(client, config);
        this.config = config;
        this.health = health;
        this.fastPresigner = fastPresignerFor(presigner, config, clock).orElse(null);
    }

    /**
     * The presigner of {@link SigV4Presigner}, told where URLs point by one URL the SDK presigns
     * here, locally. Any surprise leaves it out, and every URL is then presigned by the SDK.
     */
    static Optional<SigV4Presigner> fastPresignerFor(MinioClient presigner, S3Config config, Clock clock) {
        try {
            int expiry = (int) config.presignExpiry().toSeconds();
            String probe = presigner.getPresignedObjectUrl(GetPresignedObjectUrlArgs.builder()
                    .method(Http.Method.GET)
                    .bucket(config.bucket())
                    .object(SigV4Presigner.PROBE_KEY)
                    .expiry(expiry)
                    .build());
            Optional<SigV4Presigner> fast = SigV4Presigner.from(probe, config.accessKey(), config.secretKey(), expiry, clock);
            if (fast.isEmpty()) {
                io.quarkus.logging.Log.info("presigned URLs come from the MinIO SDK: the endpoint's URL shape is not one Kiln's own presigner knows");
            }
            return fast;
        } catch (Exception e) {
            // The class only: a message could quote the URL, and the URL its signature.
            io.quarkus.logging.Log.infof("presigned URLs come from the MinIO SDK: Kiln's own presigner could not start (%s)",
                    e.getClass().getSimpleName());
            return Optional.empty();
        }
    }

    /**
     * The client that signs presigned URLs. A SigV4 signature covers the {@code Host} header, so a
     * URL for clients outside the cluster must be signed for the public host, not rewritten after
     * signing. Presigning is computed locally (the region is configured), so this client never
     * opens a connection; it only names the public endpoint.
     */
    static MinioClient presignerFor(MinioClient client, S3Config config) {
        return config.publicEndpoint().filter(endpoint -> !endpoint.isBlank())
                .map(endpoint -> MinioClient.builder()
                        .endpoint(endpoint)
                        .credentials(config.accessKey(), config.secretKey())
                        .region(config.region())
                        .build())
                .orElse(client);
    }

    /** One cheap call to tell whether S3 answers; the result goes to {@link StorageHealth}. */
    void probe() {
        try {
            client.bucketExists(BucketExistsArgs.builder().bucket(config.bucket()).build());
            health.succeeded();
        } catch (Exception e) {
            health.failed("probe", e);
        }
    }

    /** Creates the bucket if it does not exist yet. */
    public void ensureBucket() {
        try {
            if (!client.bucketExists(BucketExistsArgs.builder().bucket(config.bucket()).build())) {
                client.makeBucket(MakeBucketArgs.builder().bucket(config.bucket()).build());
            }
            health.succeeded();
        } catch (Exception e) {
            health.failed("bucket", e);
            throw new StorageException("cannot reach bucket " + config.bucket() + " at " + config.endpoint(), e);
        }
    }

    /** Uploads a file with its content type and user metadata (S3 {@code x-amz-meta-*}). */
    public void put(String key, Path file, String contentType, Map<String, String> metadata) {
        try (InputStream in = Files.newInputStream(file)) {
            client.putObject(PutObjectArgs.builder()
                    .bucket(config.bucket())
                    .object(key)
                    .stream(in, Files.size(file), -1L)
                    .contentType(contentType)
                    .userMetadata(metadata)
                    .build());
            health.succeeded();
        } catch (Exception e) {
            health.failed("put", e);
            throw new StorageException("cannot store " + key, e);
        }
    }

    /** Uploads small bytes (an index entry) with their content type. */
    public void putBytes(String key, byte[] bytes, String contentType) {
        try {
            client.putObject(PutObjectArgs.builder()
                    .bucket(config.bucket())
                    .object(key)
                    .stream(new java.io.ByteArrayInputStream(bytes), (long) bytes.length, -1L)
                    .contentType(contentType)
                    .build());
            health.succeeded();
        } catch (Exception e) {
            health.failed("put", e);
            throw new StorageException("cannot store " + key, e);
        }
    }

    /**
     * Copies {@code source} to {@code target} inside the bucket, server-side (S3 CopyObject: no
     * byte passes through Kiln), replacing the user metadata with {@code metadata}.
     *
     * @return false when {@code source} does not exist (any more)
     */
    public boolean copy(String source, String target, String contentType, Map<String, String> metadata) {
        return copy(source, target, copyArgs(source, target)
                .metadataDirective(io.minio.Directive.REPLACE)
                .headers(Map.of("Content-Type", contentType))
                .userMetadata(metadata));
    }

    /**
     * Copies {@code source} to {@code target} inside the bucket, server-side, with its content type
     * and user metadata as they are.
     *
     * @return false when {@code source} does not exist
     */
    public boolean copyAsIs(String source, String target) {
        return copy(source, target, copyArgs(source, target));
    }

    private io.minio.CopyObjectArgs.Builder copyArgs(String source, String target) {
        return io.minio.CopyObjectArgs.builder()
                .bucket(config.bucket())
                .object(target)
                .source(io.minio.SourceObject.builder().bucket(config.bucket()).object(source).build());
    }

    /** Runs a server-side copy; false when {@code source} does not exist (any more). */
    private boolean copy(String source, String target, io.minio.CopyObjectArgs.Builder args) {
        try {
            client.copyObject(args.build());
            health.succeeded();
            return true;
        } catch (ErrorResponseException e) {
            if (isMissing(e)) {
                health.succeeded();
                return false;
            }
            health.failed("copy", e);
            throw new StorageException("cannot copy " + source + " to " + target, e);
        } catch (Exception e) {
            health.failed("copy", e);
            throw new StorageException("cannot copy " + source + " to " + target, e);
        }
    }

    /** The object's size, type and user metadata, or empty when it does not exist. */
    public Optional<StoredObject> stat(String key) {
        try {
            StatObjectResponse stat = client.statObject(StatObjectArgs.builder().bucket(config.bucket()).object(key).build());
            health.succeeded();
            return Optional.of(new StoredObject(key, stat.size(), stat.contentType(), lowerCaseKeys(stat.userMetadata())));
        } catch (ErrorResponseException e) {
            if (isMissing(e)) {
                health.succeeded();
                return Optional.empty();
            }
            health.failed("stat", e);
            throw new StorageException("cannot stat " + key, e);
        } catch (Exception e) {
            health.failed("stat", e);
            throw new StorageException("cannot stat " + key, e);
        }
    }

    /**
     * The object's bytes as a stream straight from S3, or empty when it does not exist. Nothing is
     * buffered beyond the HTTP client's window, so a large object costs no heap; the caller closes
     * the stream, which releases the connection.
     */
    public Optional<InputStream> open(String key) {
        try {
            InputStream in = client.getObject(GetObjectArgs.builder().bucket(config.bucket()).object(key).build());
            health.succeeded();
            return Optional.of(in);
        } catch (ErrorResponseException e) {
            if (isMissing(e)) {
                health.succeeded();
                return Optional.empty();
            }
            health.failed("get", e);
            throw new StorageException("cannot read " + key, e);
        } catch (Exception e) {
            health.failed("get", e);
            throw new StorageException("cannot read " + key, e);
        }
    }

    /**
     * Deletes every object whose key starts with {@code prefix}, listing and deleting a thousand at
     * a time (S3 DeleteObjects takes at most 1,000 keys). Deleting what is already gone is no error.
     *
     * @return how many objects were deleted
     */
    public int deletePrefix(String prefix) {
        if (prefix == null || prefix.isEmpty() || !prefix.endsWith("/")) {
            // A prefix without its slash would also take the batch "b_1x" with "b_1".
            throw new IllegalArgumentException("a deleted prefix must end with a slash");
        }
        int deleted = 0;
        try {
            while (true) {
                List<DeleteRequest.Object> page = new ArrayList<>();
                for (Result<Item> listed : client.listObjects(ListObjectsArgs.builder()
                        .bucket(config.bucket()).prefix(prefix).recursive(true).maxKeys(1000).build())) {
                    page.add(new DeleteRequest.Object(listed.get().objectName()));
                    if (page.size() == 1000) {
                        break;
                    }
                }
                if (page.isEmpty()) {
                    health.succeeded();
                    return deleted;
                }
                removeAll(page);
                deleted += page.size();
            }
        } catch (StorageException e) {
            throw e;
        } catch (Exception e) {
            health.failed("delete", e);
            throw new StorageException("cannot delete under " + prefix, e);
        }
    }

    /** Deletes one object; a missing one is no error. */
    public void delete(String key) {
        try {
            client.removeObject(RemoveObjectArgs.builder().bucket(config.bucket()).object(key).build());
            health.succeeded();
        } catch (ErrorResponseException e) {
            if (!isMissing(e)) {
                health.failed("delete", e);
                throw new StorageException("cannot delete " + key, e);
            }
        } catch (Exception e) {
            health.failed("delete", e);
            throw new StorageException("cannot delete " + key, e);
        }
    }

    private void removeAll(List<DeleteRequest.Object> page) throws Exception {
        // The SDK sends the request only while its answer is iterated; each result is a key it could not delete.
        for (Result<DeleteResult.Error> failed : client.removeObjects(RemoveObjectsArgs.builder()
                .bucket(config.bucket()).objects(page).build())) {
            DeleteResult.Error error = failed.get();
            if (!"NoSuchKey".equals(error.code())) {
                throw new StorageException("cannot delete " + error.objectName() + ": " + error.code(), null);
            }
        }
    }

    /** S3 servers differ in the code they give a missing object; any of them, or a bare 404, means missing. */
    private static boolean isMissing(ErrorResponseException e) {
        String code = e.errorResponse() == null ? "" : e.errorResponse().code();
        return "NoSuchKey".equals(code) || "NoSuchObject".equals(code) || "NotFound".equals(code)
                || e.response() != null && e.response().code() == 404;
    }

    /**
     * A time-limited GET URL for the object {@code key} of {@code tenant}. A URL is a bearer
     * credential for the object, so only keys under the tenant's prefix are signed
     * ({@link ObjectKeys#isOwnedBy}); any other key is refused.
     *
     * @throws IllegalArgumentException when {@code key} is not the tenant's
     */
    public String presignedGet(String tenant, String key) {
        if (!ObjectKeys.isOwnedBy(tenant, key)) {
            throw new IllegalArgumentException("refusing to presign an object outside the caller's prefix");
        }
        String url = fastPresigner == null ? null : fastPresigner.presignGet(key);
        return url != null ? url : sdkPresignedGet(key);
    }

    /**
     * Appends {@link #presignedGet} of the object of {@code tenant} whose key is the UTF-8 in
     * {@code key[offset, offset + length)} to {@code out}, without building a string, and returns
     * true; what it writes is printable ASCII without a quote or a backslash (it goes into JSON as
     * it is). Returns false, writing nothing, for anything but a plain key: a key of characters
     * other than printable ASCII, one not plainly under the tenant's prefix, or one the fast
     * presigner declines. The caller then calls {@link #presignedGet}, which signs it or refuses.
     */
    public boolean writePresignedGet(String tenant, byte[] key, int offset, int length, java.io.ByteArrayOutputStream out) {
        return fastPresigner != null && isPlainKeyOf(tenant, key, offset, length)
                && fastPresigner.writePresignedGet(key, offset, length, out);
    }

    /**
     * Whether the UTF-8 key is printable ASCII and starts with {@code tenant/}, a tenant id that
     * is itself a plain segment: for such a key {@link ObjectKeys#isOwnedBy} is that and its
     * segment rules, which the fast presigner enforces by declining empty, {@code .} and
     * {@code ..} segments.
     */
    private static boolean isPlainKeyOf(String tenant, byte[] key, int offset, int length) {
        int prefix = tenant.length();
        if (prefix == 0 || length <= prefix + 1 || key[offset + prefix] != '/') {
            return false;
        }
        for (int i = 0; i < prefix; i++) {
            char c = tenant.charAt(i);
            // The characters ObjectKeys.segment keeps as they are; "." and ".." are no tenant's.
            boolean plain = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
                    || c == '-' || c == '_' || c == '.' || c == '~';
            if (!plain || key[offset + i] != c) {
                return false;
            }
        }
        if (tenant.equals(".") || tenant.equals("..")) {
            return false;
        }
        for (int i = offset + prefix + 1; i < offset + length; i++) {
            if (key[i] < 0x20 || key[i] > 0x7e) {
                return false;
            }
        }
        return true;
    }

    /** Whether URLs are signed by {@link SigV4Presigner} (keys it declines aside), for tests to check. */
    boolean presignsWithoutTheSdk() {
        return fastPresigner != null;
    }

    /** The MinIO SDK's presigned GET URL of {@code key}: what {@link SigV4Presigner} must equal. */
    String sdkPresignedGet(String key) {
        try {
            return presigner.getPresignedObjectUrl(GetPresignedObjectUrlArgs.builder()
                    .method(Http.Method.GET)
                    .bucket(config.bucket())
                    .object(key)
                    .expiry((int) config.presignExpiry().toSeconds())
                    .build());
        } catch (Exception e) {
            throw new StorageException("cannot presign " + key, e);
        }
    }

    /** Stores {@code bytes} under {@code key}; a second put of the same bytes leaves the same object. */
    public void putBytes(String key, byte[] bytes, String contentType, Map<String, String> metadata) {
        try (InputStream in = new java.io.ByteArrayInputStream(bytes)) {
            client.putObject(PutObjectArgs.builder()
                    .bucket(config.bucket())
                    .object(key)
                    .stream(in, (long) bytes.length, -1L)
                    .contentType(contentType)
                    .userMetadata(metadata)
                    .build());
            health.succeeded();
        } catch (Exception e) {
            health.failed("put", e);
            throw new StorageException("cannot store " + key, e);
        }
    }

    private static Map<String, String> lowerCaseKeys(Iterable<Map.Entry<String, String>> metadata) {
        Map<String, String> out = new java.util.HashMap<>();
        for (Map.Entry<String, String> entry : metadata) {
            out.put(entry.getKey().toLowerCase(java.util.Locale.ROOT), entry.getValue());
        }
        return out;
    }

    /**
     * What S3 knows of one object.
     *
     * @param key         object key
     * @param bytes       size
     * @param contentType content type
     * @param metadata    user metadata with lower-case names
     */
    public record StoredObject(String key, long bytes, String contentType, Map<String, String> metadata) {
    }
}
