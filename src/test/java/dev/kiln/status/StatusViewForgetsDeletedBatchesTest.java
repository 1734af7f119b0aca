package dev.kiln.status;

import dev.kiln.config.KilnConfig;
import dev.kiln.job.BatchCreated;
import dev.kiln.job.BatchDeleted;
import dev.kiln.job.BatchState;
import dev.kiln.job.EventTypes;
import dev.kiln.job.JobState;
import dev.kiln.job.JobStatusChanged;
import dev.kiln.messaging.KilnJson;
import dev.kiln.messaging.Topics;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The status view's fold of what quotas and deletes need, without a broker: the tenant's pending
 * images from its open batches, finished batches by time for the retention, and a deleted batch
 * forgotten with every index entry, its late events ignored, its id usable again; and the final
 * event an event stream ends at, which a retry's reopen takes back until the batch completes again.
 */
class StatusViewForgetsDeletedBatchesTest {

    private static final Instant T0 = Instant.parse("2026-11-30T04:00:00Z");

    @TempDir
    Path stateDir;
    private TopologyTestDriver driver;
    private TestInputTopic<String, byte[]> status;
    private KeyValueStore<String, byte[]> store;
    private StatusView view;

    @BeforeEach
    void start() {
        StreamsBuilder builder = new StreamsBuilder();
        builder.addGlobalStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(StatusViewStreams.STORE),
                        Serdes.String(), Serdes.ByteArray()).withLoggingDisabled(),
                Topics.STATUS, Consumed.with(Serdes.String(), Serdes.ByteArray()),
                () -> new StatusViewUpdater(StatusViewStreams.STORE));
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "kiln-status-view-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        driver = new TopologyTestDriver(builder.build(), props, T0);
        status = driver.createInputTopic(Topics.STATUS, new StringSerializer(), new ByteArraySerializer());
        store = driver.getKeyValueStore(StatusViewStreams.STORE);
        StatusViewConfig config = new StatusViewConfig() {
            public String stateDir() { return stateDir.toString(); }
            public String applicationId() { return "test"; }
            public Duration visibilityTimeout() { return Duration.ofMillis(100); }
            public int maxPageSize() { return 1000; }
            public Duration sseHeartbeat() { return Duration.ofSeconds(15); }
            public int sseMaxStreams() { return 1; }
        };
        KilnConfig kiln = new KilnConfig() {
            public String role() { return "api"; }
            public String defaultTenant() { return "default"; }
        };
        view = new StatusView(new StatusViewStreams(config, "unused:9092", kiln) {
            @Override
            public boolean isRunning() {
                return true;
            }

            @Override
            Optional<ReadOnlyKeyValueStore<String, byte[]>> store() {
                return Optional.of(store);
            }
        }, config);
    }

    @AfterEach
    void stop() {
        driver.close();
    }

    @Test
    void pendingImagesFollowTheOpenBatchesAndAnEndedBatchIsFoundByWhenItEnded() {
        created("b_one", "acme", 4, 8, T0);
        created("b_other", "globex", 1, 3, T0);
        for (int i = 0; i < 4; i++) {
            job("b_one", "acme", i, JobState.QUEUED, T0);
        }
        assertThat(view.pendingImages("acme")).isEqualTo(8);
        assertThat(view.pendingImages("globex")).isEqualTo(3);
        job("b_one", "acme", 0, JobState.RUNNING, T0.plusSeconds(1));
        job("b_one", "acme", 0, JobState.SUCCEEDED, T0.plusSeconds(2));
        job("b_one", "acme", 1, JobState.FAILED, T0.plusSeconds(2));
        assertThat(view.pendingImages("acme")).as("two of four jobs left: half the images").isEqualTo(4);
        assertThat(view.finishedBefore(T0.plusSeconds(3600), 10)).isEmpty();

        job("b_one", "acme", 2, JobState.SUCCEEDED, T0.plusSeconds(3));
        job("b_one", "acme", 3, JobState.CANCELLED, T0.plusSeconds(4));
        assertThat(view.pendingImages("acme")).isZero();
        assertThat(view.finishedBefore(T0.plusSeconds(4), 10)).as("ended at +4 s, not before").isEmpty();
        assertThat(view.finishedBefore(T0.plusSeconds(5), 10)).extracting(BatchView::id).containsExactly("b_one");

        // A retry reopens the batch: its images count again, and it is no longer a finished one.
        job("b_one", "acme", 1, JobState.QUEUED, T0.plusSeconds(10));
        assertThat(view.batch("b_one").orElseThrow().state()).isEqualTo(BatchState.RUNNING);
        assertThat(view.pendingImages("acme")).isEqualTo(2);
        assertThat(view.finishedBefore(T0.plusSeconds(3600), 10)).isEmpty();
        job("b_one", "acme", 1, JobState.SUCCEEDED, T0.plusSeconds(20));
        assertThat(view.finishedBefore(T0.plusSeconds(21), 10)).extracting(BatchView::id).containsExactly("b_one");
        assertThat(view.finishedBefore(T0.plusSeconds(19), 10)).as("it ended again at +20 s").isEmpty();
    }

    @Test
    void aDeletedBatchIsForgottenWithEveryEntryAndItsLateEventsAreIgnored() {
        created("b_keep", "acme", 1, 1, T0);
        job("b_keep", "acme", 0, JobState.QUEUED, T0);
        created("b_gone", "acme", 3, 3, T0.plusSeconds(1));
        for (int i = 0; i < 3; i++) {
            job("b_gone", "acme", i, JobState.QUEUED, T0.plusSeconds(1));
        }
        job("b_gone", "acme", 0, JobState.SUCCEEDED, T0.plusSeconds(2));
        List<String> before = keysOf("b_gone");
        assertThat(before).hasSizeGreaterThanOrEqualTo(1 + 3 + 3 + 2);
        assertThat(view.pendingImages("acme")).isEqualTo(3);

        pipe("b_gone", EventTypes.BATCH_DELETED, new BatchDeleted("b_gone", "acme", BatchDeleted.BY_TENANT, T0.plusSeconds(5)));
        assertThat(view.batch("b_gone")).isEmpty();
        assertThat(view.job("b_gone-000001")).isEmpty();
        assertThat(keysOf("b_gone")).as("only the deletion's own two entries are left").hasSize(2)
                .allMatch(k -> k.startsWith("d|") || k.startsWith("x|"));
        assertThat(view.pendingImages("acme")).isEqualTo(1);
        assertThat(view.batches("acme", Optional.empty(), Optional.empty(), Optional.empty(), 10).batches())
                .extracting(BatchView::id).containsExactly("b_keep");
        assertThat(view.deletedSince(T0)).extracting(BatchDeleted::batchId).containsExactly("b_gone");
        assertThat(view.deletedSince(T0.plusSeconds(6))).isEmpty();

        // Renders in flight and the dispatcher's cancels end after the delete: nothing comes back.
        job("b_gone", "acme", 1, JobState.SUCCEEDED, T0.plusSeconds(7));
        job("b_gone", "acme", 2, JobState.CANCELLED, T0.plusSeconds(7));
        pipe("b_gone", EventTypes.BATCH_DELETED, new BatchDeleted("b_gone", "acme", BatchDeleted.BY_RETENTION, T0.plusSeconds(8)));
        assertThat(keysOf("b_gone")).hasSize(2);
        assertThat(view.deletedSince(T0)).extracting(BatchDeleted::reason).containsExactly(BatchDeleted.BY_TENANT);

        // The same id accepted again (an Idempotency-Key used anew) is a new batch.
        created("b_gone", "acme", 1, 2, T0.plusSeconds(9));
        assertThat(view.batch("b_gone")).isPresent();
        assertThat(view.deletedSince(T0)).isEmpty();
        assertThat(view.pendingImages("acme")).isEqualTo(1 + 2);
    }

    /** What an event stream ends at: the latest completion, unless a retry has reopened the batch since. */
    @Test
    void aCompletionIsTheFinalEventUntilARetryReopensTheBatch() {
        created("b_re", "acme", 1, 1, T0);
        job("b_re", "acme", 0, JobState.QUEUED, T0);
        job("b_re", "acme", 0, JobState.FAILED, T0.plusSeconds(1));
        assertThat(view.batch("b_re").orElseThrow().finalEventOffset()).as("ended, not yet announced").isEmpty();
        pipe("b_re", EventTypes.BATCH_COMPLETED, java.util.Map.of("batch_id", "b_re", "completion", 1));
        BatchView first = view.batch("b_re").orElseThrow();
        assertThat(first.finalEventOffset()).isPresent().contains(first.completedOffset());

        job("b_re", "acme", 0, JobState.QUEUED, T0.plusSeconds(10));
        BatchView reopened = view.batch("b_re").orElseThrow();
        assertThat(reopened.completedOffset()).isEqualTo(first.completedOffset());
        assertThat(reopened.finalEventOffset()).as("reopened by a retry").isEmpty();
        job("b_re", "acme", 0, JobState.SUCCEEDED, T0.plusSeconds(11));
        assertThat(view.batch("b_re").orElseThrow().finalEventOffset()).as("ended again, not yet announced").isEmpty();
        assertThat(view.job("b_re-000000")).map(JobView::state).contains(JobState.SUCCEEDED);

        pipe("b_re", EventTypes.BATCH_COMPLETED, java.util.Map.of("batch_id", "b_re", "completion", 2));
        BatchView second = view.batch("b_re").orElseThrow();
        assertThat(second.completedOffset()).isGreaterThan(first.completedOffset());
        assertThat(second.finalEventOffset()).contains(second.completedOffset());
    }

    @Test
    void aCompletionWrittenAfterARetryHadReopenedTheBatchIsNotFinal() {
        created("b_race", "acme", 1, 1, T0);
        job("b_race", "acme", 0, JobState.QUEUED, T0);
        job("b_race", "acme", 0, JobState.FAILED, T0.plusSeconds(1));
        // The client's retry is folded before the notifier's completion of the failure lands.
        job("b_race", "acme", 0, JobState.QUEUED, T0.plusSeconds(2));
        pipe("b_race", EventTypes.BATCH_COMPLETED, java.util.Map.of("batch_id", "b_race", "completion", 1));
        BatchView stale = view.batch("b_race").orElseThrow();
        assertThat(stale.completedOffset()).isNotNull();
        assertThat(stale.finalEventOffset()).as("completion behind a retry").isEmpty();

        job("b_race", "acme", 0, JobState.SUCCEEDED, T0.plusSeconds(3));
        pipe("b_race", EventTypes.BATCH_COMPLETED, java.util.Map.of("batch_id", "b_race", "completion", 2));
        BatchView ended = view.batch("b_race").orElseThrow();
        assertThat(ended.finalEventOffset()).contains(ended.completedOffset());
    }

    private void created(String batch, String tenant, int items, long images, Instant at) {
        pipe(batch, EventTypes.BATCH_CREATED, new BatchCreated(batch, tenant, null, items, images, "sha", null, at));
    }

    private void job(String batch, String tenant, int index, JobState state, Instant at) {
        String jobId = batch + "-" + String.format("%06d", index);
        pipe(batch, EventTypes.job(state), new JobStatusChanged(jobId, batch, tenant, "SKU-" + index, index, state,
                1, null, null, null, at, null, null, null));
    }

    private void pipe(String key, String type, Object event) {
        try {
            RecordHeaders headers = new RecordHeaders();
            headers.add("ce_type", type.getBytes(StandardCharsets.UTF_8));
            status.pipeInput(new TestRecord<>(key, KilnJson.MAPPER.writeValueAsBytes(event), headers, T0));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Every key of the store that names {@code batchId}. */
    private List<String> keysOf(String batchId) {
        List<String> keys = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> all = store.all()) {
            all.forEachRemaining(kv -> {
                if (kv.key.contains(batchId) || new String(kv.value, StandardCharsets.UTF_8).equals(batchId)) {
                    keys.add(kv.key);
                }
            });
        }
        return keys;
    }
}
