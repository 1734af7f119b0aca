package dev.kiln.messaging;

import io.quarkus.logging.Log;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Creates Kiln's topics before anything uses them. The status view's global store cannot start
 * on a topic that does not exist, and topics auto-created by a client would get the broker's
 * default partition count rather than ours. {@code kiln.status} keeps time-based retention,
 * never compaction: the view is the fold of every event, so none may be dropped.
 * {@code kiln.tenants} is compacted: only each tenant's latest record matters, kept for ever.
 */
@ApplicationScoped
public class TopicSetup {

    /** Runs before the status view and the consumers start. */
    static final int PRIORITY = 10;

    private final TopicsConfig config;
    private final KafkaAdmins admins;

    public TopicSetup(TopicsConfig config, KafkaAdmins admins) {
        this.config = config;
        this.admins = admins;
    }

    void create(@Observes @Priority(PRIORITY) StartupEvent event) throws InterruptedException {
        if (!config.create()) {
            return;
        }
        List<NewTopic> topics = new ArrayList<>();
        topics.add(topic(Topics.JOBS, config.jobsPartitions()));
        topics.add(topic(Topics.STATUS, config.statusPartitions()));
        topics.add(topic(Topics.ITEMS, config.dispatchPartitions()));
        topics.add(topic(Topics.CONTROL, config.dispatchPartitions()));
        // Co-partitioned with kiln.status: the webhook notifier joins the two in one task.
        topics.add(topic(Topics.WEBHOOKS, config.statusPartitions()));
        // SmallRye writes a retried or dead record to the partition number it came from, so these
        // topics need as many partitions as kiln.jobs.
        topics.add(topic(Topics.JOBS_DLQ, config.jobsPartitions()));
        config.retryTopics().forEach(name -> topics.add(topic(name, config.jobsPartitions())));
        topics.add(topic(Topics.TENANTS, config.tenantsPartitions())
                .configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT)));
        // A handful of records per provider batch; one partition keeps a reattach a single read.
        topics.add(topic(Topics.PROVIDER_BATCHES, 1)
                .configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT)));
        try (Admin admin = admins.create("kiln-topic-setup")) {
            for (NewTopic topic : topics) {
                createOne(admin, topic);
            }
        }
    }

    private static void createOne(Admin admin, NewTopic topic) throws InterruptedException {
        try {
            admin.createTopics(List.of(topic)).all().get(60, TimeUnit.SECONDS);
            Log.infof("created topic %s with %d partitions", topic.name(), topic.numPartitions());
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw new IllegalStateException("cannot create topic " + topic.name() + ": " + e.getCause().getMessage(), e);
            }
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("Kafka at the configured bootstrap servers did not answer within 60 s", e);
        }
    }

    private NewTopic topic(String name, int partitions) {
        return new NewTopic(name, Optional.of(partitions), config.replicationFactor());
    }
}
