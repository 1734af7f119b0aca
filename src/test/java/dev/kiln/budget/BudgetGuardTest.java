package dev.kiln.budget;

import dev.kiln.job.BatchCommand;
import dev.kiln.job.BatchCreated;
import dev.kiln.job.CancelRequested;
import dev.kiln.job.EventTypes;
import dev.kiln.job.JobState;
import dev.kiln.job.JobStatusChanged;
import dev.kiln.job.Usage;
import dev.kiln.messaging.KilnJson;
import dev.kiln.messaging.Topics;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.test.TestRecord;
import dev.kiln.tenant.TenantUsage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;

/** The budget guard's decisions on its real topology, with {@code kiln.status} events under the test's control. */
class BudgetGuardTest {

    private static final double JOB = 0.006;
    private static final Instant T = Instant.parse("2026-11-30T04:00:00Z");

    @TempDir
    Path state;

    private TopologyTestDriver driver;
    private TestInputTopic<String, byte[]> status;
    private TestOutputTopic<String, byte[]> control;
    private final Map<String, BigDecimal> monthly = new HashMap<>();

    @BeforeEach
    void start() {
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "kiln-budget-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
        driver = new TopologyTestDriver(BudgetTopology.build(monthly::get), props);
        status = driver.createInputTopic(Topics.STATUS, Serdes.String().serializer(), Serdes.ByteArray().serializer());
        control = driver.createOutputTopic(Topics.CONTROL, Serdes.String().deserializer(), Serdes.ByteArray().deserializer());
    }

    @AfterEach
    void close() {
        driver.close();
    }

    @Test
    void aBatchsOwnBudgetIsLeftToTheDispatcherWhileItsSpendAndReservationsStillReachItsTenantsMonth() throws Exception {
        // The dispatcher holds budget_usd before release (dispatch.DispatchBudgetTest); the guard never stops on it.
        created("b1", 30, 1.5 * JOB);
        for (int i = 0; i < 3; i++) {
            job("b1", i, JobState.RUNNING, null);
            job("b1", i, JobState.SUCCEEDED, JOB);
        }
        job("b1", 3, JobState.RUNNING, null);
        job("b1", 4, JobState.RUNNING, null);
        // A 5xx: the job goes back to queued at attempt 2 and gives its reservation back.
        job("b1", 4, JobState.QUEUED, null, 2);
        assertThat(control.isEmpty()).isTrue();

        TenantMonth acme = KilnJson.MAPPER.readValue(
                driver.<String, byte[]>getKeyValueStore(BudgetTopology.TENANTS_STORE).get("acme"), TenantMonth.class);
        assertThat(acme.spent()).isCloseTo(3 * JOB, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(acme.images()).isEqualTo(3);
        assertThat(acme.reserved()).as("one job running").isCloseTo(JOB, org.assertj.core.data.Offset.offset(1e-9));
    }

    @Test
    void aTenantsMonthlyBudgetStopsEveryBatchOfItsWhoseNextJobWouldPassItAndABatchCreatedAfterwards() throws Exception {
        monthly.put("thrifty", BigDecimal.valueOf(4.5 * JOB));
        createdFor("thrifty", "m1", 3, T);
        createdFor("thrifty", "m2", 5, T);
        for (int i = 0; i < 3; i++) {
            jobOf("thrifty", "m1", i, JobState.RUNNING, null, T);
            jobOf("thrifty", "m1", i, JobState.SUCCEEDED, JOB, T);
        }
        assertThat(control.isEmpty()).as("3 spent + the next = 4 jobs <= 4.5").isTrue();
        // m2's first start: 3 spent + 1 reserved + the next = 5 jobs > 4.5. m1 has nothing left to start.
        jobOf("thrifty", "m2", 0, JobState.RUNNING, null, T);
        List<CancelRequested> stops = stops();
        assertThat(stops).extracting(CancelRequested::batchId).containsExactly("m2");
        assertThat(stops.get(0).reason()).isEqualTo("budget_exceeded");
        assertThat(stops.get(0).tenant()).isEqualTo("thrifty");

        // The job in flight finishes and is paid; a batch created now is stopped at once, and only once.
        jobOf("thrifty", "m2", 0, JobState.SUCCEEDED, JOB, T);
        createdFor("thrifty", "m3", 2, T);
        assertThat(stops()).extracting(CancelRequested::batchId).containsExactly("m3");
        for (int i = 1; i < 5; i++) {
            jobOf("thrifty", "m2", i, JobState.CANCELLED, null, T);
        }
        assertThat(control.isEmpty()).isTrue();

        // The month's figures, as GET /v1/tenant reads them back from the ledger.
        KeyValueStore<String, byte[]> ledgers = driver.getKeyValueStore(BudgetTopology.TENANTS_STORE);
        MonthSpendReader reader = new MonthSpendReader(tenant -> 0, Map.of(), "unused", false, Clock.fixed(T, ZoneOffset.UTC));
        reader.apply("thrifty", ledgers.get("thrifty"));
        reader.markCaughtUp();
        TenantUsage usage = reader.usage("thrifty");
        assertThat(usage.monthImages()).isEqualTo(4);
        assertThat(usage.monthCostUsd()).isEqualByComparingTo(BigDecimal.valueOf(4 * JOB));
        assertThat(reader.usage("acme").monthCostUsd()).isEqualByComparingTo(BigDecimal.ZERO);
    }

    @Test
    void aNewMonthStartsFromZeroAndAnotherTenantsSpendIsItsOwn() throws Exception {
        monthly.put("thrifty", BigDecimal.valueOf(2.5 * JOB));
        createdFor("thrifty", "n1", 2, T);
        createdFor("acme", "n2", 5, T);
        for (int i = 0; i < 2; i++) {
            jobOf("thrifty", "n1", i, JobState.RUNNING, null, T);
            jobOf("thrifty", "n1", i, JobState.SUCCEEDED, JOB, T);
        }
        for (int i = 0; i < 5; i++) {
            jobOf("acme", "n2", i, JobState.RUNNING, null, T);
            jobOf("acme", "n2", i, JobState.SUCCEEDED, JOB, T);
        }
        assertThat(control.isEmpty()).as("acme has no monthly budget; thrifty spent 2 jobs of 2.5").isTrue();
        Instant december = Instant.parse("2026-12-01T00:00:01Z");
        createdFor("thrifty", "n3", 3, december);
        jobOf("thrifty", "n3", 0, JobState.RUNNING, null, december);
        assertThat(control.isEmpty()).as("December: 0 spent + 1 reserved + the next = 2 jobs <= 2.5").isTrue();
        jobOf("thrifty", "n3", 1, JobState.RUNNING, null, december);
        assertThat(stops()).extracting(CancelRequested::batchId).containsExactly("n3");

        MonthSpendReader reader = new MonthSpendReader(tenant -> 0, Map.of(), "unused", false, Clock.fixed(december, ZoneOffset.UTC));
        reader.apply("thrifty", driver.<String, byte[]>getKeyValueStore(BudgetTopology.TENANTS_STORE).get("thrifty"));
        reader.markCaughtUp();
        assertThat(reader.usage("thrifty").monthCostUsd()).isEqualByComparingTo(BigDecimal.ZERO);
    }

    @Test
    void rendersThatEndAfterTheirBatchWasDeletedStillCountInTheMonth() throws Exception {
        monthly.put("thrifty", BigDecimal.valueOf(3 * JOB));
        createdFor("thrifty", "d1", 5, T);
        jobOf("thrifty", "d1", 0, JobState.RUNNING, null, T);
        jobOf("thrifty", "d1", 1, JobState.RUNNING, null, T);
        // Deleted while two renders run: they finish and are paid, after the batch's ledger went.
        send("d1", EventTypes.BATCH_DELETED, new dev.kiln.job.BatchDeleted("d1", "thrifty", "deleted", T), T);
        jobOf("thrifty", "d1", 0, JobState.SUCCEEDED, JOB, T);
        jobOf("thrifty", "d1", 1, JobState.SUCCEEDED, JOB, T);
        assertThat(control.isEmpty()).isTrue();
        // 2 spent + 1 reserved + the next = 4 jobs > 3: a batch deleted mid-render does not free its spend.
        createdFor("thrifty", "d2", 5, T);
        jobOf("thrifty", "d2", 0, JobState.RUNNING, null, T);
        assertThat(stops()).extracting(CancelRequested::batchId).containsExactly("d2");

        // A tenant without a monthly budget keeps a ledger of a few numbers, however many batches it runs.
        for (int b = 0; b < 20; b++) {
            createdFor("acme", "open-" + b, 3, T);
        }
        TenantMonth acme = KilnJson.MAPPER.readValue(
                driver.<String, byte[]>getKeyValueStore(BudgetTopology.TENANTS_STORE).get("acme"), TenantMonth.class);
        assertThat(acme.open()).isEmpty();
    }

    private List<CancelRequested> stops() throws Exception {
        List<CancelRequested> stops = new java.util.ArrayList<>();
        for (TestRecord<String, byte[]> record : control.readRecordsToList()) {
            stops.add((CancelRequested) KilnJson.MAPPER.readValue(record.value(), BatchCommand.class));
        }
        return stops;
    }

    private void createdFor(String tenant, String batch, int items, Instant at) {
        send(batch, EventTypes.BATCH_CREATED, new BatchCreated(batch, tenant, null, items, items, "sha", null, at, null, JOB), at);
    }

    private void jobOf(String tenant, String batch, int index, JobState state, Double cost, Instant at) {
        Usage usage = cost == null ? null : new Usage(1, 10, 0, 196, cost);
        send(batch, EventTypes.job(state), new JobStatusChanged(batch + "-" + index, batch, tenant, "SKU-" + index, index,
                state, 1, null, null, usage, at), at);
    }

    private void created(String batch, int items, double budget) {
        send(batch, EventTypes.BATCH_CREATED,
                new BatchCreated(batch, "acme", null, items, items, "sha", null, T, budget, JOB));
    }

    private void job(String batch, int index, JobState state, Double cost) {
        job(batch, index, state, cost, 1);
    }

    private void job(String batch, int index, JobState state, Double cost, int attempt) {
        Usage usage = cost == null ? null : new Usage(1, 10, 0, 196, cost);
        send(batch, EventTypes.job(state), new JobStatusChanged(batch + "-" + index, batch, "acme", "SKU-" + index, index,
                state, attempt, null, null, usage, T));
    }

    private void send(String batch, String type, Object value) {
        send(batch, type, value, T);
    }

    private void send(String batch, String type, Object value, Instant at) {
        try {
            byte[] bytes = value instanceof byte[] b ? b : KilnJson.MAPPER.writeValueAsBytes(value);
            RecordHeaders headers = new RecordHeaders();
            headers.add("ce_type", type.getBytes(StandardCharsets.UTF_8));
            status.pipeInput(new TestRecord<>(batch, bytes, headers, at));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
