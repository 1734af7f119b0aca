package dev.kiln.testing;

import dev.kiln.job.BatchCreated;
import dev.kiln.job.EventTypes;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.messaging.KilnJson;
import dev.kiln.messaging.Topics;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Puts a job straight on {@code kiln.jobs}, as the dispatcher would release it, after announcing
 * its batch on {@code kiln.status}: the status view answers for a job only through its batch (the
 * batch names the tenant that owns the job), so a worker test that skips intake still announces it.
 */
public final class DirectJobs {

    private DirectJobs() {
    }

    /** Announces {@code job}'s batch (one item) and publishes the job; returns the job id. */
    public static String publish(RenderJobRequested job) throws Exception {
        Map<String, Object> config = Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, KilnStackResource.bootstrapServers());
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(config, new StringSerializer(), new ByteArraySerializer())) {
            BatchCreated created = new BatchCreated(job.batchId(), job.tenant(), null, 1, job.imageCount(), "direct", null,
                    job.requestedAt());
            ProducerRecord<String, byte[]> announce = new ProducerRecord<>(Topics.STATUS, job.batchId(),
                    KilnJson.MAPPER.writeValueAsBytes(created));
            announce.headers().add("ce_type", EventTypes.BATCH_CREATED.getBytes(StandardCharsets.UTF_8));
            producer.send(announce).get();
            producer.send(new ProducerRecord<>(Topics.JOBS, job.jobId(), KilnJson.MAPPER.writeValueAsBytes(job))).get();
        }
        return job.jobId();
    }
}
