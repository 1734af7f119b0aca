package dev.kiln.status;

import dev.kiln.storage.ObjectStore;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The URL an answer gives for an object key: a presigned one in Kiln ({@link #presigned}), any
 * function of the key in tests. {@link StoredJob} hands each key over as the stored UTF-8 bytes
 * ({@link #writeJson}), so that the presigned URLs of a page can be signed straight into its
 * answer without a string made for either.
 */
@FunctionalInterface
interface ObjectUrls {

    /** The URL of the object {@code key}. */
    String url(String key);

    /**
     * Appends the URL of the object whose key is the UTF-8 in {@code key[offset, offset + length)}
     * to {@code out} as the inside of a JSON string (escaped as Jackson escapes it).
     */
    default void writeJson(byte[] key, int offset, int length, ByteArrayOutputStream out) {
        StoredJob.writeJsonString(url(new String(key, offset, length, StandardCharsets.UTF_8)), out);
    }

    /**
     * URLs presigned by {@code store} for objects of {@code tenant} (any other key is refused, as
     * {@link ObjectStore#presignedGet} refuses it). A plain key is signed into the answer in
     * place ({@link ObjectStore#writePresignedGet}); any other is presigned as a string.
     */
    static ObjectUrls presigned(ObjectStore store, String tenant) {
        return new ObjectUrls() {
            @Override
            public String url(String key) {
                return store.presignedGet(tenant, key);
            }

            @Override
            public void writeJson(byte[] key, int offset, int length, ByteArrayOutputStream out) {
                if (!store.writePresignedGet(tenant, key, offset, length, out)) {
                    ObjectUrls.super.writeJson(key, offset, length, out);
                }
            }
        };
    }
}
