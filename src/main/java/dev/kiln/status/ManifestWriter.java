package dev.kiln.status;

import dev.kiln.job.Sha256;
import dev.kiln.messaging.KilnJson;
import dev.kiln.storage.ObjectKeys;
import dev.kiln.storage.ObjectStore;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The results manifest: one JSON line per item, in item order, with the items endpoint's field
 * names. {@code GET /v1/batches/{id}/manifest} streams it with presigned URLs; when a batch ends
 * (its {@code kiln.batch.completed} is folded into the view) the copy without URLs is stored at
 * {@code {tenant}/manifests/{batch id}.jsonl}. Every api replica folds the event, so each may
 * write: the content is the same, the put idempotent, and a replica skips the put when the stored
 * copy already has the same SHA-256 (a view rebuilt after a restart rewrites nothing).
 */
@ApplicationScoped
public class ManifestWriter {

    /** Content type of the manifest. */
    public static final String NDJSON = "application/x-ndjson";
    private static final String SHA256 = "sha256";
    private static final int PAGE = 500;

    private final StatusView view;
    private final ObjectStore store;
    /** One writer thread: S3 puts must not hold up the view's own thread. */
    private final ExecutorService executor = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().name("kiln-manifests").daemon().factory());

    public ManifestWriter(StatusView view, ObjectStore store) {
        this.view = view;
        this.store = store;
    }

    void stop(@Observes ShutdownEvent event) {
        executor.shutdownNow();
    }

    /** Writes the lines of {@code batch} to {@code out}; with a store, each output gets a presigned URL. */
    public void writeLines(BatchView batch, OutputStream out, ObjectStore presignWith) throws IOException {
        int after = -1;
        while (true) {
            StatusView.ItemsPage page = view.items(batch, Optional.empty(), after, PAGE);
            for (JobView job : page.jobs()) {
                JobStatus line = presignWith == null ? JobStatus.keysOnly(job) : JobStatus.of(job, presignWith, batch.tenant());
                out.write(KilnJson.MAPPER.writeValueAsBytes(line));
                out.write('\n');
            }
            if (page.lastIndex().isEmpty()) {
                return;
            }
            after = page.lastIndex().get();
        }
    }

    /** Called from the view's thread when {@code batchId} completed: stores its manifest soon after. */
    void completed(String batchId) {
        executor.submit(() -> {
            try {
                store(batchId);
            } catch (RuntimeException e) {
                Log.warnf("results manifest of batch %s not stored: %s", batchId, e.toString());
            }
        });
    }

    /** Stores the manifest of {@code batchId} unless the stored one is the same. */
    void store(String batchId) {
        // Keyed by the batch's own tenant, never a caller's: no REST path reaches here.
        BatchView batch = view.batch(batchId).orElse(null);
        if (batch == null || batch.tenant() == null) {
            return;
        }
        // A 100,000-item manifest is tens of megabytes: it is spooled to a file, hashed on the way,
        // so that a batch ending never costs its size in heap on every api replica.
        Path file = null;
        try {
            file = Files.createTempFile("kiln-manifest-", ".jsonl");
            MessageDigest digest = sha256();
            try (OutputStream out = new DigestOutputStream(new BufferedOutputStream(Files.newOutputStream(file), 1 << 16), digest)) {
                writeLines(batch, out, null);
            }
            String sha = HexFormat.of().formatHex(digest.digest());
            String key = ObjectKeys.manifest(batch.tenant(), batch.id());
            boolean same = store.stat(key).map(o -> sha.equals(o.metadata().get(SHA256))).orElse(false);
            if (!same) {
                store.put(key, file, NDJSON, Map.of(SHA256, sha));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            deleteQuietly(file);
        }
    }

    private static void deleteQuietly(Path file) {
        if (file == null) {
            return;
        }
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            Log.warnf("spooled manifest %s not deleted: %s", file, e.getMessage());
        }
    }

    private static MessageDigest sha256() {
        return Sha256.digest();
    }
}
