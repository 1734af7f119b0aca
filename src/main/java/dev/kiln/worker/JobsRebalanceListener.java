package dev.kiln.worker;

import dev.kiln.job.Topics;
import dev.kiln.worker.ratelimit.RenderPermits;
import io.quarkus.logging.Log;
import io.smallrye.common.annotation.Identifier;
import io.smallrye.reactive.messaging.kafka.KafkaConsumerRebalanceListener;
import jakarta.enterprise.context.ApplicationScoped;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.TopicPartition;

import java.util.Collection;

/**
 * Re-divides the organisation's rate limit whenever Kafka re-divides {@code kiln.jobs}: this
 * worker's share is the fraction of the topic's partitions it owns.
 */
@ApplicationScoped
@Identifier(JobsRebalanceListener.NAME)
public class JobsRebalanceListener implements KafkaConsumerRebalanceListener {

    /** The name the channel configuration refers to. */
    public static final String NAME = "kiln-jobs-rebalance";

    private final RenderPermits permits;

    public JobsRebalanceListener(RenderPermits permits) {
        this.permits = permits;
    }

    @Override
    public void onPartitionsAssigned(Consumer<?, ?> consumer, Collection<TopicPartition> partitions) {
        update(consumer);
    }

    @Override
    public void onPartitionsRevoked(Consumer<?, ?> consumer, Collection<TopicPartition> partitions) {
        update(consumer);
    }

    @Override
    public void onPartitionsLost(Consumer<?, ?> consumer, Collection<TopicPartition> partitions) {
        update(consumer);
    }

    private void update(Consumer<?, ?> consumer) {
        // SmallRye's delayed-retry consumer shares this listener; only the main consumer's
        // partitions of kiln.jobs decide the share.
        if (!consumer.subscription().contains(Topics.JOBS)) {
            return;
        }
        int total = consumer.partitionsFor(Topics.JOBS).size();
        long owned = consumer.assignment().stream().filter(tp -> tp.topic().equals(Topics.JOBS)).count();
        Log.infof("this worker owns %d of %d %s partitions", owned, total, Topics.JOBS);
        permits.setShare(total == 0 ? 0 : (double) owned / total);
    }
}
