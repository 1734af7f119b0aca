// A minimal consumer of Kiln's status topic, kiln.status, for an internal service to copy.
// Run it with the Kafka client on the class path (see the README, "The status topic"):
//
//   java -cp "$(cat target/classpath.txt)" examples/StatusTopicConsumer.java localhost:9092
//   java -cp "$(cat target/classpath.txt)" examples/StatusTopicConsumer.java localhost:9092 b_tdrkpybn79e7pjhc4azj3g843x
//
// With a batch id it reads that batch's events from the start and stops after its
// kiln.batch.completed; without one it follows every batch as consumer group
// kiln-status-example, committing what it has handled.

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.utils.Utils;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Properties;

public class StatusTopicConsumer {

    public static void main(String[] args) {
        if (args.length < 1) {
            System.err.println("usage: StatusTopicConsumer <bootstrap servers> [batch id]");
            System.exit(2);
        }
        String batchId = args.length > 1 ? args[1] : null;
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        // Kiln writes kiln.status in transactions: read only what was committed.
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        if (batchId == null) {
            props.put(ConsumerConfig.GROUP_ID_CONFIG, "kiln-status-example");
            props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        }
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
            if (batchId == null) {
                consumer.subscribe(List.of("kiln.status"));
            } else {
                // The topic is keyed by batch id: one batch's events are on one partition, in order.
                int partitions = consumer.partitionsFor("kiln.status").size();
                TopicPartition partition = new TopicPartition("kiln.status",
                        Utils.toPositive(Utils.murmur2(batchId.getBytes(StandardCharsets.UTF_8))) % partitions);
                consumer.assign(List.of(partition));
                consumer.seekToBeginning(List.of(partition));
            }
            while (true) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofSeconds(1))) {
                    if (batchId != null && !batchId.equals(record.key())) {
                        continue; // another batch on the same partition
                    }
                    String type = header(record, "ce_type");
                    handle(type, header(record, "ce_subject"), record.value());
                    if (batchId != null && "kiln.batch.completed".equals(type)) {
                        return; // a batch's last event
                    }
                }
                if (batchId == null) {
                    consumer.commitSync(); // only after handling: at least once, never lost
                }
            }
        }
    }

    /** Where a service does its work. Events of one batch arrive in order; the same event may come twice. */
    static void handle(String type, String subject, String json) {
        switch (type == null ? "" : type) {
            case "kiln.batch.created", "kiln.batch.completed",
                 "kiln.job.queued", "kiln.job.running", "kiln.job.succeeded",
                 "kiln.job.failed", "kiln.job.cancelled", "kiln.job.expired" ->
                    System.out.println(type + " " + subject + " " + json);
            default -> {
                // A type added later: skip it rather than fail.
            }
        }
    }

    private static String header(ConsumerRecord<String, String> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }
}
