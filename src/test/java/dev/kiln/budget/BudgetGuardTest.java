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
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
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

    @BeforeEach
    void start() {
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "kiln-budget-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
        driver = new TopologyTestDriver(BudgetTopology.build(), props);
        status = driver.createInputTopic(Topics.STATUS, Serdes.String().serializer(), Serdes.ByteArray().serializer());
        control = driver.createOutputTopic(Topics.CONTROL, Serdes.String().deserializer(), Serdes.ByteArray().deserializer());
    }

    @AfterEach
    void close() {
        driver.close();
    }

    @Test
    void aBudgetOfTenAndAHalfJobsStopsTheBatchWhenTheTenthStartsAndOnlyOnce() throws Exception {
        created("b1", 30, 10.5 * JOB);
        for (int i = 0; i < 9; i++) {
            job("b1", i, JobState.RUNNING, null);
            job("b1", i, JobState.SUCCEEDED, JOB);
            assertThat(control.isEmpty()).as("after job %d", i).isTrue();
        }
        // The tenth start reserves one job: 9 spent + 1 reserved + the next one = 11 jobs > 10.5.
        job("b1", 9, JobState.RUNNING, null);
        List<TestRecord<String, byte[]>> stops = control.readRecordsToList();
        assertThat(stops).hasSize(1);
        CancelRequested stop = (CancelRequested) KilnJson.MAPPER.readValue(stops.get(0).value(), BatchCommand.class);
        assertThat(stop.batchId()).isEqualTo("b1");
        assertThat(stop.jobId()).isNull();
        assertThat(stop.reason()).isEqualTo("budget_exceeded");
        assertThat(new String(stops.get(0).headers().lastHeader("ce_type").value(), StandardCharsets.UTF_8))
                .isEqualTo(BatchCommand.CANCEL_TYPE);

        // The jobs the stop cancels and the one that was running do not stop it again.
        job("b1", 9, JobState.SUCCEEDED, JOB);
        for (int i = 10; i < 30; i++) {
            job("b1", i, JobState.CANCELLED, null);
        }
        assertThat(control.isEmpty()).isTrue();
    }

    @Test
    void reservationsOfConcurrentStartsCountAndARetryReleasesTheReservation() throws Exception {
        created("b2", 10, 3.5 * JOB);
        job("b2", 0, JobState.RUNNING, null);
        job("b2", 1, JobState.RUNNING, null);
        // A 5xx: the job goes back to queued at attempt 2 and gives its reservation back.
        job("b2", 1, JobState.QUEUED, null, 2);
        job("b2", 2, JobState.RUNNING, null);
        assertThat(control.isEmpty()).as("2 reserved + the next = 3 jobs <= 3.5").isTrue();
        job("b2", 1, JobState.RUNNING, null, 2);
        assertThat(control.readRecordsToList()).as("3 reserved + the next = 4 jobs > 3.5").hasSize(1);
    }

    @Test
    void cheaperActualCostsLeaveRoomForMoreJobs() {
        created("b3", 10, 3 * JOB);
        for (int i = 0; i < 3; i++) {
            job("b3", i, JobState.RUNNING, null);
            job("b3", i, JobState.SUCCEEDED, JOB / 2);
        }
        // At full cost the third start would have stopped the batch (2 spent + 1 + 1 > 3); at half
        // cost 3 jobs spent 1.5 jobs' worth, and only the fourth start does (1.5 + 1 + 1 > 3).
        assertThat(control.isEmpty()).isTrue();
        job("b3", 3, JobState.RUNNING, null);
        assertThat(control.readRecordsToList()).hasSize(1);
    }

    @Test
    void aBudgetBelowOneJobStopsTheBatchBeforeAnythingStartsAndABatchWithoutBudgetIsIgnored() {
        created("b4", 5, JOB / 2);
        assertThat(control.readRecordsToList()).hasSize(1);
        send("b5", EventTypes.BATCH_CREATED, new BatchCreated("b5", "acme", null, 5, 5, "sha", null, T));
        for (int i = 0; i < 5; i++) {
            job("b5", i, JobState.RUNNING, null);
        }
        assertThat(control.isEmpty()).isTrue();
    }

    @Test
    void aClientRetryAfterTheBatchEndedIsStillHeldToTheBudget() {
        created("b6", 4, 2.5 * JOB);
        job("b6", 0, JobState.RUNNING, null);
        job("b6", 0, JobState.SUCCEEDED, JOB);
        job("b6", 1, JobState.RUNNING, null);
        assertThat(control.readRecordsToList()).hasSize(1);
        job("b6", 1, JobState.SUCCEEDED, JOB);
        job("b6", 2, JobState.CANCELLED, null);
        job("b6", 3, JobState.CANCELLED, null);
        send("b6", EventTypes.BATCH_COMPLETED, new byte[] {'{', '}'});
        // A client retries the cancelled items: 2 spent + the next = 3 jobs > 2.5, so it stops again.
        job("b6", 2, JobState.QUEUED, null);
        assertThat(control.readRecordsToList()).hasSize(1);
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
        try {
            byte[] bytes = value instanceof byte[] b ? b : KilnJson.MAPPER.writeValueAsBytes(value);
            RecordHeaders headers = new RecordHeaders();
            headers.add("ce_type", type.getBytes(StandardCharsets.UTF_8));
            status.pipeInput(new TestRecord<>(batch, bytes, headers, T));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
