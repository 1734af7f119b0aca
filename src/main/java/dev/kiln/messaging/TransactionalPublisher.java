package dev.kiln.messaging;

import dev.kiln.job.EventTypes;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.BlockingDeque;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Writes several records to several topics as one Kafka transaction: all of them become visible to
 * read_committed consumers together, or none does. Intake writes an accepted batch with it (its
 * {@code kiln.batch.created} event, its jobs' {@code queued} events and its staged jobs on
 * {@code kiln.items}).
 *
 * <p>A small pool of producers, each with {@code transactional.id} {@code kiln-intake-<instance>-<n>},
 * acks=all and idempotence. A producer whose transaction failed is aborted and reused; one that
 * cannot abort (fenced by another process with the same transactional id, or in a fatal state) is
 * closed and replaced by a fresh one, whose {@code initTransactions} fences the other in turn.
 */
@ApplicationScoped
public class TransactionalPublisher {

    private static final String PREFIX = "kiln-intake-";

    private final Map<String, Object> connection;
    private final TransactionsConfig config;
    private final String instance;
    private final BlockingDeque<Slot> idle;
    private volatile Consumer<String> beforeCommit = id -> { };
    private volatile boolean closed;

    public TransactionalPublisher(@Identifier("default-kafka-broker") Map<String, Object> shared, TransactionsConfig config) {
        this.connection = new HashMap<>();
        shared.forEach((name, value) -> {
            if (AdminClientConfig.configNames().contains(name) && !name.equals(AdminClientConfig.CLIENT_ID_CONFIG)) {
                connection.put(name, value);
            }
        });
        this.config = config;
        this.instance = config.instanceId().filter(s -> !s.isBlank())
                .orElseGet(() -> UUID.randomUUID().toString().substring(0, 8));
        this.idle = new LinkedBlockingDeque<>(config.producers());
        for (int n = 0; n < config.producers(); n++) {
            idle.add(new Slot(PREFIX + instance + "-" + n));
        }
    }

    /** The records of one transaction. */
    public interface Transaction {

        /**
         * Adds a JSON record of CloudEvents {@code type} about {@code subject}, keyed by {@code key}.
         * Sending is asynchronous; a failure surfaces when the transaction commits.
         */
        void send(String topic, String key, Object value, String type, String subject);

        /**
         * Adds a record whose value is {@code json}, already written (intake writes its many
         * {@code queued} events itself, faster than the mapper); otherwise as {@link #send}.
         */
        void sendJson(String topic, String key, byte[] json, String type, String subject);
    }

    /** The transaction could not be committed; nothing of it is visible to read_committed consumers. */
    public static class TransactionFailedException extends RuntimeException {
        TransactionFailedException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * Runs {@code work} in a transaction and commits it; returns only once Kafka committed it.
     *
     * @throws TransactionFailedException when no producer was free in time, or the transaction was
     *                                    aborted (then nothing of it is visible)
     * @throws RuntimeException           what {@code work} itself threw, other than a Kafka failure
     *                                    (such as a bad item found late), after the transaction was aborted
     */
    public void inTransaction(Consumer<Transaction> work) {
        Slot slot = acquire();
        boolean healthy = false;
        boolean working = false;
        try {
            KafkaProducer<String, byte[]> producer = slot.producer();
            producer.beginTransaction();
            working = true;
            work.accept(new Records(producer));
            working = false;
            beforeCommit.accept(slot.transactionalId);
            producer.commitTransaction();
            healthy = true;
        } catch (RuntimeException e) {
            healthy = abort(slot, e);
            if (working && !(e instanceof KafkaException)) {
                throw e; // the work refused to go on: aborted, and its own reason stands
            }
            throw e instanceof TransactionFailedException tf ? tf
                    : new TransactionFailedException("transaction of " + slot.transactionalId + " aborted: " + e, e);
        } finally {
            release(slot, healthy);
        }
    }

    /** The transactional ids of the pool (tests fence them). */
    public java.util.List<String> transactionalIds() {
        return java.util.stream.IntStream.range(0, config.producers()).mapToObj(n -> PREFIX + instance + "-" + n).toList();
    }

    /** Tests only: runs {@code hook} with the producer's transactional id after the records are sent, before the commit. */
    public void beforeCommit(Consumer<String> hook) {
        this.beforeCommit = hook == null ? id -> { } : hook;
    }

    void close(@Observes ShutdownEvent event) {
        closed = true;
        Slot slot;
        while ((slot = idle.poll()) != null) {
            slot.close();
        }
    }

    private Slot acquire() {
        try {
            Slot slot = idle.poll(config.acquireTimeout().toMillis(), TimeUnit.MILLISECONDS);
            if (slot == null) {
                throw new TransactionFailedException("no transactional producer was free within " + config.acquireTimeout(), null);
            }
            return slot;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TransactionFailedException("interrupted while waiting for a producer", e);
        }
    }

    private void release(Slot slot, boolean healthy) {
        if (closed) {
            slot.close();
        }
        if (healthy) {
            idle.addLast(slot);
            return;
        }
        // The next use makes a fresh producer, whose initTransactions fences any other holder and
        // aborts what the failed one left open on the broker (it could not abort while the broker
        // was down). Until then that open transaction holds back every read_committed reader of
        // its partitions, so this slot goes first in line rather than wait behind the others.
        slot.close();
        idle.addFirst(slot);
    }

    /** Aborts the open transaction; false when the producer cannot go on and must be replaced. */
    private static boolean abort(Slot slot, RuntimeException cause) {
        if (slot.producer == null) {
            return true; // no producer was made: nothing is open
        }
        try {
            slot.producer.abortTransaction();
            Log.warnf("transaction of %s aborted: %s", slot.transactionalId, cause.getMessage());
            return true;
        } catch (KafkaException | IllegalStateException e) {
            // Fenced (another producer took the id), or a fatal error: this producer is done.
            Log.warnf("transaction of %s failed (%s) and the producer cannot abort it (%s); replacing the producer",
                    slot.transactionalId, cause.getMessage(), e.getMessage());
            return false;
        }
    }

    private static byte[] json(Object value) {
        try {
            return KilnJson.MAPPER.writeValueAsBytes(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static final byte[] SPEC_VERSION = utf8("1.0");
    private static final byte[] SOURCE = utf8(EventTypes.SOURCE);
    private static final byte[] CONTENT_TYPE = utf8("application/json");

    /**
     * The records of one transaction, with the CloudEvents binary-mode headers SmallRye writes for
     * the emitters. What is the same for every record of the transaction (the time, the POST's
     * trace context) is made once, and each {@code ce_id} is a random UUID made once plus the
     * record's number: a batch of 100,000 items writes 100,000 events, and a random UUID, a
     * formatted time and a trace injection each were a measurable share of intake's time.
     */
    private static final class Records implements Transaction {
        private final KafkaProducer<String, byte[]> producer;
        private final String idPrefix = UUID.randomUUID() + "-";
        private final byte[] time = utf8(Instant.now().toString());
        /* The POST's trace goes on through the dispatcher to the worker (none with tracing off). */
        private final org.apache.kafka.common.header.Header[] trace = TraceHeaders.inject(new RecordHeaders()).toArray();
        private long count;
        /* Nearly every record of a batch is of one type (its jobs' queued events): its bytes are made once, not once a record. */
        private String lastType;
        private byte[] lastTypeBytes;

        Records(KafkaProducer<String, byte[]> producer) {
            this.producer = producer;
        }

        @Override
        public void send(String topic, String key, Object value, String type, String subject) {
            sendJson(topic, key, json(value), type, subject);
        }

        @Override
        public void sendJson(String topic, String key, byte[] json, String type, String subject) {
            RecordHeaders headers = new RecordHeaders();
            headers.add("ce_specversion", SPEC_VERSION);
            headers.add("ce_id", utf8(idPrefix + count++));
            headers.add("ce_source", SOURCE);
            if (!type.equals(lastType)) {
                lastType = type;
                lastTypeBytes = utf8(type);
            }
            headers.add("ce_type", lastTypeBytes);
            headers.add("ce_subject", utf8(subject));
            headers.add("ce_time", time);
            headers.add("content-type", CONTENT_TYPE);
            for (org.apache.kafka.common.header.Header header : trace) {
                headers.add(header);
            }
            producer.send(new ProducerRecord<>(topic, null, key, json, headers));
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** One pooled producer, made on first use and after a fatal error. */
    private final class Slot {
        final String transactionalId;
        KafkaProducer<String, byte[]> producer;

        Slot(String transactionalId) {
            this.transactionalId = transactionalId;
        }

        KafkaProducer<String, byte[]> producer() {
            if (producer == null) {
                Map<String, Object> props = new HashMap<>(connection);
                props.put(ProducerConfig.CLIENT_ID_CONFIG, transactionalId);
                props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
                props.put(ProducerConfig.ACKS_CONFIG, "all");
                props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
                props.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, (int) config.timeout().toMillis());
                props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
                props.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
                props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 30_000);
                KafkaProducer<String, byte[]> made = new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer());
                try {
                    made.initTransactions();
                } catch (RuntimeException e) {
                    made.close(Duration.ZERO);
                    throw e;
                }
                producer = made;
            }
            return producer;
        }

        void close() {
            if (producer != null) {
                try {
                    producer.close(Duration.ofSeconds(2));
                } catch (RuntimeException e) {
                    Log.debugf("closing %s: %s", transactionalId, e.getMessage());
                }
                producer = null;
            }
        }
    }
}
