package dev.kiln.status;

import dev.kiln.job.EventTypes;
import dev.kiln.job.ServiceUnavailableException;
import dev.kiln.messaging.Topics;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.sse.Sse;
import jakarta.ws.rs.sse.SseEventSink;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.utils.Utils;
import org.eclipse.microprofile.config.inject.ConfigProperty;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * {@code GET /v1/batches/{id}/events}: each stream reads the batch's own partition of
 * {@code kiln.status} with a consumer of its own (no group, read committed), so any api replica
 * serves any batch. The partition is the producer's (murmur2 of the batch id), the first offset
 * the batch's {@code kiln.batch.created} event as the status view recorded it, or the event
 * after {@code Last-Event-ID}; the event id is the record's offset on that partition. Records of
 * other batches on the partition are skipped by key. A comment line goes out when nothing else
 * did for {@link StatusViewConfig#sseHeartbeat()}. The stream ends after the batch's final event
 * as of now ({@link BatchView#finalEventOffset()}): a {@code kiln.batch.completed} that a retry
 * has reopened since is sent like any other event and the stream goes on to the next completion.
 */
@ApplicationScoped
public class BatchEventStream {

    private static final Duration POLL = Duration.ofMillis(250);
    private static final Duration SEND_TIMEOUT = Duration.ofSeconds(30);

    /** How often a stream asks the view again while the view has not yet folded a completion it sent. */
    private static final Duration VIEW_LAG_CHECK = Duration.ofMillis(50);

    private final StatusViewConfig config;
    private final StatusView view;
    private final String bootstrapServers;
    private final Semaphore streams;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();

    public BatchEventStream(StatusViewConfig config, StatusView view,
                            @ConfigProperty(name = "kafka.bootstrap.servers") String bootstrapServers) {
        this.config = config;
        this.view = view;
        this.bootstrapServers = bootstrapServers;
        this.streams = new Semaphore(config.sseMaxStreams());
    }

    void stop(@Observes ShutdownEvent event) {
        executor.shutdownNow();
    }

    /**
     * Starts streaming {@code batch} (already checked to be the caller's) into {@code sink}.
     *
     * @throws ServiceUnavailableException when this replica serves as many streams as it may
     */
    public void stream(BatchView batch, Optional<Long> lastEventId, SseEventSink sink, Sse sse) {
        if (!streams.tryAcquire()) {
            throw new ServiceUnavailableException("too-many-streams", "Too many event streams",
                    "this replica serves as many event streams as it may; retry shortly", Duration.ofSeconds(5));
        }
        try {
            executor.submit(() -> {
                try {
                    run(batch, lastEventId, sink, sse);
                } catch (RuntimeException e) {
                    Log.warnf("event stream of batch %s ended: %s", batch.id(), e.toString());
                } finally {
                    streams.release();
                    closeQuietly(sink);
                }
            });
        } catch (RuntimeException e) {
            streams.release();
            throw e;
        }
    }

    private void run(BatchView batch, Optional<Long> lastEventId, SseEventSink sink, Sse sse) {
        long first = batch.createdOffset() == null ? 0 : batch.createdOffset();
        // Never before the batch's first event, whatever the client sent.
        long start = Math.max(first, lastEventId.map(id -> id + 1).orElse(first));
        Optional<Long> finalEvent = batch.finalEventOffset();
        if (finalEvent.isPresent() && start > finalEvent.get()) {
            // The client has seen the final event already. A comment first, so that the response
            // has started before the sink closes: closing an untouched sink races the resource
            // method's own completion ("Response has already been written").
            send(sink, sse.newEventBuilder().comment("the batch's final event was sent already").build());
            return;
        }
        byte[] key = batch.id().getBytes(StandardCharsets.UTF_8);
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(properties())) {
            List<PartitionInfo> partitions = consumer.partitionsFor(Topics.STATUS);
            TopicPartition partition = new TopicPartition(Topics.STATUS,
                    Utils.toPositive(Utils.murmur2(key)) % partitions.size());
            consumer.assign(List.of(partition));
            consumer.seek(partition, start);
            long quietSince = System.nanoTime();
            while (!sink.isClosed() && !Thread.currentThread().isInterrupted()) {
                // The events of one poll go out back to back and are awaited together: awaiting
                // each write alone costs an event-loop round trip per event, which on a busy
                // machine held a 300-item batch's stream half a minute behind its events.
                List<CompletionStage<?>> writes = new ArrayList<>();
                long completed = -1;
                for (ConsumerRecord<String, byte[]> record : consumer.poll(POLL)) {
                    if (!batch.id().equals(record.key()) || record.value() == null) {
                        continue;
                    }
                    String type = header(record, "ce_type");
                    if (type == null) {
                        continue;
                    }
                    writes.add(sink.send(sse.newEventBuilder()
                            .id(Long.toString(record.offset()))
                            .name(type)
                            .mediaType(MediaType.APPLICATION_JSON_TYPE)
                            .data(String.class, new String(record.value(), StandardCharsets.UTF_8))
                            .build()));
                    if (type.equals(EventTypes.BATCH_COMPLETED)) {
                        completed = record.offset();
                        break;
                    }
                }
                if (!writes.isEmpty()) {
                    await(writes);
                    quietSince = System.nanoTime();
                }
                if (completed >= 0) {
                    if (isFinal(batch, completed, sink)) {
                        return;
                    }
                    // Reopened since: go on after the completion (the rest of its poll included).
                    consumer.seek(partition, completed + 1);
                }
                if (System.nanoTime() - quietSince >= config.sseHeartbeat().toNanos()) {
                    send(sink, sse.newEventBuilder().comment("heartbeat").build());
                    quietSince = System.nanoTime();
                }
            }
        }
    }

    /**
     * Whether the completion at {@code offset} is the batch's final event as of now. The view on
     * this replica folds the same partition a little behind this stream, so it is asked again
     * until it has folded that completion; a view that has not within
     * {@link StatusViewConfig#visibilityTimeout()}, or no longer has the batch (deleted), ends
     * the stream as a completion always did.
     */
    private boolean isFinal(BatchView batch, long offset, SseEventSink sink) {
        long deadline = System.nanoTime() + config.visibilityTimeout().toNanos();
        while (!sink.isClosed()) {
            Optional<BatchView> now;
            try {
                now = view.current(batch);
            } catch (ServiceUnavailableException starting) {
                now = null;
            }
            if (now != null) {
                if (now.isEmpty()) {
                    return true;
                }
                Long folded = now.get().completedOffset();
                if (folded != null && folded >= offset) {
                    return now.get().finalEventOffset().filter(f -> f == offset).isPresent();
                }
            }
            if (System.nanoTime() > deadline) {
                Log.warnf("event stream of batch %s: the status view has not folded its completion at %d; ending",
                        batch.id(), offset);
                return true;
            }
            try {
                Thread.sleep(VIEW_LAG_CHECK.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return true;
            }
        }
        return true;
    }

    private static void send(SseEventSink sink, jakarta.ws.rs.sse.OutboundSseEvent event) {
        await(List.of(sink.send(event)));
    }

    /** Waits for the writes, in order; a client that is gone or stalls past the timeout ends the stream. */
    private static void await(List<? extends CompletionStage<?>> writes) {
        try {
            CompletableFuture.allOf(writes.stream().map(CompletionStage::toCompletableFuture).toArray(CompletableFuture[]::new))
                    .get(SEND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (Exception e) {
            throw new IllegalStateException("the client is gone: " + e.getClass().getSimpleName(), e);
        }
    }

    private Properties properties() {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 100);
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, "kiln-sse");
        return props;
    }

    private static String header(ConsumerRecord<String, byte[]> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }

    private static void closeQuietly(SseEventSink sink) {
        try {
            sink.close();
        } catch (RuntimeException e) {
            // already closed by the client
        }
    }
}
