package dev.kiln.status;

import dev.kiln.job.BatchCommand;
import dev.kiln.job.BatchDeleted;
import dev.kiln.job.CancelRequested;
import dev.kiln.job.EventTypes;
import dev.kiln.job.ServiceUnavailableException;
import dev.kiln.messaging.BrokerHealth;
import dev.kiln.messaging.Topics;
import dev.kiln.messaging.TransactionalPublisher;
import dev.kiln.storage.ObjectKeys;
import dev.kiln.storage.ObjectStore;
import dev.kiln.storage.StorageException;
import dev.kiln.storage.StorageHealth;
import io.quarkus.logging.Log;
import jakarta.enterprise.context.ApplicationScoped;

import java.time.Clock;
import java.time.Duration;

/**
 * Deletes a batch: what the tenant asks with {@code DELETE /v1/batches/{id}}, and what the
 * retention does to a batch that ended long ago. In one Kafka transaction, a cancel on
 * {@code kiln.control} (for a batch not yet ended: the dispatcher drops what is pending, workers
 * skip what they have not started) and {@code kiln.batch.deleted} on {@code kiln.status} (every
 * api replica's view forgets the batch and ignores its later events); then the batch's objects
 * ({@code {tenant}/{batch id}/}: outputs and thumbnails) and its manifest are deleted from S3:
 * before the event for a batch that has ended (so a 404 means the images are gone too), after it
 * for one still running (so no render of it starts in between). A render in flight at that moment is stored when it ends; {@link RetentionSweeper} deletes the
 * batch's objects once more while the delete is recent.
 */
@ApplicationScoped
public class BatchDeletion {

    /** Why the cancelled jobs of a deleted batch were cancelled. */
    static final String CANCEL_REASON = "batch_deleted";
    private static final Duration RETRY_AFTER = Duration.ofSeconds(5);

    private final TransactionalPublisher transactions;
    private final ObjectStore store;
    private final StorageHealth storage;
    private final BrokerHealth broker;
    private final Clock clock;

    public BatchDeletion(TransactionalPublisher transactions, ObjectStore store, StorageHealth storage,
                         BrokerHealth broker) {
        this.transactions = transactions;
        this.store = store;
        this.storage = storage;
        this.broker = broker;
        this.clock = Clock.systemUTC();
    }

    /**
     * Deletes {@code batch} for the {@code reason} ({@link BatchDeleted#BY_TENANT} or
     * {@link BatchDeleted#BY_RETENTION}); returns once Kafka committed the delete and the objects are gone.
     *
     * @throws ServiceUnavailableException when Kafka or S3 is down, or Kafka did not commit (nothing changed then)
     */
    public void delete(BatchView batch, String reason) {
        if (!broker.isAvailable() || !storage.isAvailable()) {
            throw new ServiceUnavailableException("dependency-unavailable", "Service unavailable",
                    "Kafka or S3 is unreachable; nothing was deleted. Retry later.", RETRY_AFTER);
        }
        boolean ended = batch.state().isTerminal();
        if (ended) {
            // Nothing renders into an ended batch any more: its objects go first, so that once any
            // replica answers 404 for the batch, its images are gone too. A batch still running is
            // cancelled first (below), or a render ending now would store objects after the delete.
            deleteObjects(batch.tenant(), batch.id());
        }
        BatchDeleted deleted = new BatchDeleted(batch.id(), batch.tenant(), reason, clock.instant());
        try {
            transactions.inTransaction(tx -> {
                if (!ended) {
                    CancelRequested cancel = new CancelRequested(batch.id(), batch.tenant(), null, CANCEL_REASON,
                            deleted.deletedAt());
                    tx.send(Topics.CONTROL, batch.id(), cancel, BatchCommand.CANCEL_TYPE, batch.id());
                }
                tx.send(Topics.STATUS, batch.id(), deleted, EventTypes.BATCH_DELETED, batch.id());
            });
        } catch (TransactionalPublisher.TransactionFailedException e) {
            // An ended batch's objects were deleted before the transaction: say so, rather than
            // that nothing changed. Trying again finishes the delete.
            throw new ServiceUnavailableException("not-deleted", "Batch not deleted",
                    ended ? "Kafka did not commit the delete; the batch is still listed, but its images and manifest"
                            + " may already be deleted. Try again."
                            : "Kafka did not commit the delete; nothing changed. Try again.", RETRY_AFTER);
        }
        if (!ended) {
            deleteObjects(batch.tenant(), batch.id());
        }
        Log.infof("batch %s of tenant %s deleted (%s)", batch.id(), batch.tenant(), reason);
    }

    /**
     * Deletes the objects of a batch: under {@code {tenant}/{batch id}/}, and its manifest. A failure
     * is logged and left to the sweep, which deletes them again while the delete is recent.
     *
     * @return how many objects were deleted
     */
    int deleteObjects(String tenant, String batchId) {
        try {
            int deleted = store.deletePrefix(ObjectKeys.tenantPrefix(tenant) + ObjectKeys.segment(batchId) + "/");
            store.delete(ObjectKeys.manifest(tenant, batchId));
            return deleted;
        } catch (StorageException e) {
            Log.warnf("objects of deleted batch %s not all deleted yet, the retention sweep will try again: %s",
                    batchId, e.getMessage());
            return 0;
        }
    }
}
