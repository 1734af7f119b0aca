package dev.kiln.status;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.job.BatchDeleted;
import dev.kiln.job.BatchLookup;
import dev.kiln.job.BatchState;
import dev.kiln.job.JobIds;
import dev.kiln.job.JobState;
import dev.kiln.job.ServiceUnavailableException;
import dev.kiln.messaging.KilnJson;
import io.quarkus.logging.Log;
import jakarta.enterprise.context.ApplicationScoped;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Reads batches and jobs from the local copy of the status view. It is also intake's
 * {@link BatchLookup}: a replay and the wait for a new batch read the same view a GET does.
 *
 * <p>{@link #batch(String)} and {@link #job(String)} know no tenant: REST paths never call them
 * but go through {@link OwnedStatus}, which answers another tenant's batch as missing
 * (ArchitectureTest holds that). Every other read takes a batch already found that way, or a
 * tenant.
 */
@ApplicationScoped
public class StatusView implements BatchLookup {

    private static final ObjectMapper JSON = KilnJson.MAPPER;
    /** How long a client waits before retrying while the view loads: it loads in seconds. */
    private static final Duration STARTING_RETRY_AFTER = Duration.ofSeconds(2);
    private final StatusViewStreams streams;
    private final StatusViewConfig config;
    /** Serialises the opening and closing of range iterators: see {@link #openRange}. */
    private final ReentrantLock iteratorLock = new ReentrantLock();

    public StatusView(StatusViewStreams streams, StatusViewConfig config) {
        this.streams = streams;
        this.config = config;
    }

    @Override
    public Optional<KnownBatch> find(String batchId) {
        return batch(batchId).map(b -> new KnownBatch(b.id(), b.externalId(), b.state(), b.items(), b.images(),
                b.requestSha256(), b.createdAt(), b.tenant()));
    }

    @Override
    public Optional<KnownJob> findJob(String jobId) {
        return job(jobId).map(j -> new KnownJob(j.id(), j.batchId(), j.state(), j.attempt()));
    }

    @Override
    public List<String> retryableJobIds(String batchId) {
        List<String> ids = new ArrayList<>();
        Optional<BatchView> owned = batch(batchId);
        if (owned.isEmpty()) {
            return ids;
        }
        int after = -1;
        while (true) {
            ItemsPage page = items(owned.get(), Optional.empty(), after, 1000);
            page.jobs().stream().filter(j -> j.state() == JobState.FAILED || j.state() == JobState.EXPIRED)
                    .forEach(j -> ids.add(j.id()));
            if (page.lastIndex().isEmpty()) {
                return ids;
            }
            after = page.lastIndex().get();
        }
    }

    @Override
    public boolean awaitVisible(String batchId) {
        long deadline = System.nanoTime() + config.visibilityTimeout().toNanos();
        while (System.nanoTime() < deadline) {
            try {
                if (batch(batchId).isPresent()) {
                    return true;
                }
            } catch (ServiceUnavailableException starting) {
                // the view is still loading; keep waiting within the deadline
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        Log.warnf("batch %s is accepted but not yet visible in the status view", batchId);
        return false;
    }

    /**
     * Waits a short, configured while for this replica's view to forget a deleted batch, so that
     * the client's next GET here is a 404; returns whether it did.
     */
    public boolean awaitForgotten(String batchId) {
        long deadline = System.nanoTime() + config.visibilityTimeout().toNanos();
        while (batch(batchId).isPresent()) {
            if (System.nanoTime() > deadline) {
                Log.warnf("batch %s is deleted but still in the status view", batchId);
                return false;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    /** The batch, if the view has it. */
    public Optional<BatchView> batch(String batchId) {
        return read(store().get(StatusStoreKeys.batch(batchId)), BatchView.class);
    }

    /**
     * {@code owned} (a batch already found as the caller's) as the view has it now, if it still
     * has it: an event stream asks while it runs whether a completion it sent is still the last.
     */
    public Optional<BatchView> current(BatchView owned) {
        return batch(owned.id()).filter(b -> b.isOwnedBy(owned.tenant()));
    }

    /** The job, if the view has it. */
    public Optional<JobView> job(String jobId) {
        Optional<String> batchId = JobIds.batchIdOf(jobId);
        if (batchId.isEmpty()) {
            return Optional.empty();
        }
        int index;
        try {
            index = Integer.parseInt(jobId.substring(batchId.get().length() + 1));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
        return Optional.ofNullable(store().get(StatusStoreKeys.job(batchId.get(), index))).map(StoredJob::decode)
                .filter(job -> job.id().equals(jobId));
    }

    /**
     * The stored form ({@link StoredJob}) of job {@code jobId} of {@code owned} (a batch already
     * found as the caller's), if the view has it.
     */
    public Optional<byte[]> storedJob(BatchView owned, String jobId) {
        if (jobId == null || !JobIds.batchIdOf(jobId).filter(owned.id()::equals).isPresent()) {
            return Optional.empty();
        }
        int index;
        try {
            index = Integer.parseInt(jobId.substring(owned.id().length() + 1));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
        byte[] stored = store().get(StatusStoreKeys.job(owned.id(), index));
        // "b_x-7" and "b_x-0007" name the same index; only the job's own id finds it.
        return Optional.ofNullable(stored).filter(bytes -> StoredJob.hasId(bytes, jobId));
    }

    /** The job of the item the client calls {@code itemId} in {@code owned}, if any. */
    public Optional<JobView> item(BatchView owned, String itemId) {
        return storedItem(owned, itemId).map(StoredJob::decode);
    }

    /** The stored form ({@link StoredJob}) of the job of the item {@code itemId} in {@code owned}, if any. */
    public Optional<byte[]> storedItem(BatchView owned, String itemId) {
        if (itemId == null || itemId.isEmpty()) {
            return Optional.empty();
        }
        byte[] index = store().get(StatusStoreKeys.item(owned.id(), itemId));
        if (index == null) {
            return Optional.empty();
        }
        int i = Integer.parseInt(new String(index, StandardCharsets.UTF_8));
        return Optional.ofNullable(store().get(StatusStoreKeys.job(owned.id(), i)));
    }

    /**
     * One page of {@code tenant}'s batches, newest first, after the list position {@code after}
     * (a cursor, empty for the first page), optionally only those in {@code state} or with
     * {@code externalId}.
     */
    public BatchesPage batches(String tenant, Optional<BatchState> state, Optional<String> externalId,
                               Optional<String> after, int limit) {
        String prefix = StatusStoreKeys.tenantBatchesFrom(tenant);
        // The smallest key after the cursor's own entry.
        String from = after.map(position -> prefix + position + "\0").orElse(prefix);
        List<BatchView> page = new ArrayList<>(limit);
        String lastPosition = null;
        boolean more = false;
        try (KeyValueIterator<String, byte[]> it = openRange(from, StatusStoreKeys.tenantBatchesTo(tenant))) {
            while (it.hasNext()) {
                KeyValue<String, byte[]> entry = it.next();
                Optional<BatchView> batch = batch(new String(entry.value, StandardCharsets.UTF_8))
                        .filter(b -> b.isOwnedBy(tenant));
                if (batch.isEmpty()
                        || state.isPresent() && batch.get().state() != state.get()
                        || externalId.isPresent() && !externalId.get().equals(batch.get().externalId())) {
                    continue;
                }
                if (page.size() == limit) {
                    more = true;
                    break;
                }
                page.add(batch.get());
                lastPosition = entry.key.substring(prefix.length());
            }
        }
        return new BatchesPage(page, more ? Optional.of(lastPosition) : Optional.empty());
    }

    /**
     * A page of batches.
     *
     * @param batches      newest first
     * @param lastPosition the list position to continue after, when there are more
     */
    public record BatchesPage(List<BatchView> batches, Optional<String> lastPosition) {
    }

    /**
     * One page of a batch's jobs in item order, after the job at index {@code afterIndex}
     * (-1 for the first page), optionally only those in {@code state}.
     */
    public ItemsPage items(BatchView owned, Optional<JobState> state, int afterIndex, int limit) {
        StoredItemsPage page = storedItems(owned, state, afterIndex, limit);
        return new ItemsPage(page.jobs().stream().map(StoredJob::decode).toList(), page.lastIndex());
    }

    /**
     * A page of jobs.
     *
     * @param jobs      the jobs
     * @param lastIndex the index to continue after, when there are more
     */
    public record ItemsPage(List<JobView> jobs, Optional<Integer> lastIndex) {
    }

    /**
     * {@link #items} as stored ({@link StoredJob}), for answers written without decoding: the
     * state filter and the cursor read the stored form's header.
     *
     * <p>Without a state filter the page is read by index, one point read per job, as long as
     * every index is there; from the first gap (a job not yet folded) or the batch's last index
     * on, a range scan takes over, which sees exactly what a scan from the start would. A page
     * read by index opens no range iterator, and an iterator costs more than its scan: Kafka
     * Streams registers a gauge (and a JMX MBean) for a store's open iterators whenever their
     * count leaves 0 and removes it when it returns, so every page re-registered one, under the
     * metrics registry's lock that the view's own updates share.
     */
    public StoredItemsPage storedItems(BatchView owned, Optional<JobState> state, int afterIndex, int limit) {
        String batchId = owned.id();
        List<byte[]> page = new ArrayList<>(limit);
        int from = afterIndex + 1;
        int lastIndex = afterIndex;
        if (state.isEmpty()) {
            ReadOnlyKeyValueStore<String, byte[]> store = store();
            int end = Math.min(owned.items(), StatusStoreKeys.MAX_INDEX + 1);
            while (from < end) {
                byte[] job = store.get(StatusStoreKeys.job(batchId, from));
                if (job == null) {
                    break;
                }
                if (page.size() == limit) {
                    return new StoredItemsPage(page, Optional.of(lastIndex));
                }
                page.add(job);
                lastIndex = StoredJob.index(job);
                from++;
            }
        }
        boolean more = false;
        try (KeyValueIterator<String, byte[]> it = openRange(StatusStoreKeys.job(batchId, from),
                StatusStoreKeys.job(batchId, StatusStoreKeys.MAX_INDEX))) {
            while (it.hasNext()) {
                byte[] job = it.next().value;
                if (state.isPresent() && StoredJob.state(job) != state.get()) {
                    continue;
                }
                if (page.size() == limit) {
                    more = true;
                    break;
                }
                page.add(job);
                lastIndex = StoredJob.index(job);
            }
        }
        return new StoredItemsPage(page, more ? Optional.of(lastIndex) : Optional.empty());
    }

    /**
     * A page of jobs in their stored form.
     *
     * @param jobs      the jobs ({@link StoredJob})
     * @param lastIndex the index to continue after, when there are more
     */
    public record StoredItemsPage(List<byte[]> jobs, Optional<Integer> lastIndex) {
    }

    /**
     * The images of {@code tenant} accepted and not yet ended: for each batch not yet ended, its
     * images times the share of its jobs queued or running (exact when every item of a batch asks
     * for the same {@code n}, which the view cannot tell apart), rounded up.
     */
    public long pendingImages(String tenant) {
        long pending = 0;
        try (KeyValueIterator<String, byte[]> it = openRange(StatusStoreKeys.openBatchesFrom(tenant),
                StatusStoreKeys.openBatchesTo(tenant))) {
            while (it.hasNext()) {
                String batchId = new String(it.next().value, StandardCharsets.UTF_8);
                Optional<BatchView> batch = batch(batchId).filter(b -> b.isOwnedBy(tenant) && !b.state().isTerminal());
                if (batch.isPresent() && batch.get().items() > 0) {
                    BatchView b = batch.get();
                    long open = b.counts().getOrDefault(JobState.QUEUED, 0) + b.counts().getOrDefault(JobState.RUNNING, 0);
                    pending += (b.images() * open + b.items() - 1) / b.items();
                }
            }
        }
        return pending;
    }

    /** Up to {@code limit} batches of every tenant that ended before {@code before}, oldest first. */
    public List<BatchView> finishedBefore(Instant before, int limit) {
        List<BatchView> found = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = openRange(StatusStoreKeys.finishedFrom(),
                StatusStoreKeys.finishedBefore(before))) {
            while (it.hasNext() && found.size() < limit) {
                batch(new String(it.next().value, StandardCharsets.UTF_8))
                        .filter(b -> b.finishedAt() != null && b.finishedAt().isBefore(before))
                        .ifPresent(found::add);
            }
        }
        return found;
    }

    /** The batches deleted at or after {@code since}, oldest first. */
    public List<BatchDeleted> deletedSince(Instant since) {
        List<BatchDeleted> found = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = openRange(StatusStoreKeys.deletedSince(since), StatusStoreKeys.deletedTo())) {
            while (it.hasNext()) {
                String batchId = new String(it.next().value, StandardCharsets.UTF_8);
                read(store().get(StatusStoreKeys.deleted(batchId)), BatchDeleted.class).ifPresent(found::add);
            }
        }
        return found;
    }

    /**
     * A range iterator whose opening and closing are serialised with every other's. Kafka Streams
     * 4.1.1 counts a store's open iterators in {@code OpenIterators}, which registers a metric
     * when the count goes from 0 to 1 and removes it when it goes back, without a lock: two pages
     * read at once could close an iterator whose metric the other had never registered, a
     * NullPointerException in {@code OpenIterators.remove} (KAFKA-19678, fixed in 4.1.2; see
     * the pom for why Kiln is not on it yet). Only the opening and closing wait; the scans still
     * run side by side. The status view's own writer only gets and puts, never iterates.
     */
    private KeyValueIterator<String, byte[]> openRange(String from, String to) {
        ReadOnlyKeyValueStore<String, byte[]> store = store();
        KeyValueIterator<String, byte[]> range;
        iteratorLock.lock();
        try {
            range = store.range(from, to);
        } finally {
            iteratorLock.unlock();
        }
        return new SerialisedClose(range);
    }

    /** Closes its iterator under {@link #iteratorLock}. */
    private final class SerialisedClose implements KeyValueIterator<String, byte[]> {
        private final KeyValueIterator<String, byte[]> iterator;

        SerialisedClose(KeyValueIterator<String, byte[]> iterator) {
            this.iterator = iterator;
        }

        @Override
        public boolean hasNext() {
            return iterator.hasNext();
        }

        @Override
        public KeyValue<String, byte[]> next() {
            return iterator.next();
        }

        @Override
        public String peekNextKey() {
            return iterator.peekNextKey();
        }

        @Override
        public void close() {
            iteratorLock.lock();
            try {
                iterator.close();
            } finally {
                iteratorLock.unlock();
            }
        }
    }

    private ReadOnlyKeyValueStore<String, byte[]> store() {
        return streams.store().orElseThrow(() -> new ServiceUnavailableException("view-starting",
                "Status view starting", "the status view is still loading; try again shortly", STARTING_RETRY_AFTER));
    }

    private static <T> Optional<T> read(byte[] bytes, Class<T> type) {
        if (bytes == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(JSON.readValue(bytes, type));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
