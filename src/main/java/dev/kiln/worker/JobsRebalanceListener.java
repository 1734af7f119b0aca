package dev.kiln.worker;

import dev.kiln.provider.RateShare;
import dev.kiln.messaging.Topics;
import io.smallrye.common.annotation.Identifier;
import io.smallrye.reactive.messaging.kafka.KafkaConsumerRebalanceListener;
import jakarta.enterprise.context.ApplicationScoped;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.TopicPartition;

import java.util.Collection;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Re-divides the organisation's rate limit whenever Kafka re-divides {@code kiln.jobs}: see
 * {@link RateShare}. Also forgets the records counted as polled ({@link PolledJobs}) of the
 * partitions a worker gives up, as SmallRye forgets them.
 */
@ApplicationScoped
@Identifier(JobsRebalanceListener.NAME)
public class JobsRebalanceListener implements KafkaConsumerRebalanceListener {

    /** The name the channel configuration refers to. */
    public static final String NAME = "kiln-jobs-rebalance";

    private final RateShare share;
    private final PolledJobs polled;

    public JobsRebalanceListener(RateShare share, PolledJobs polled) {
        this.share = share;
        this.polled = polled;
    }

    @Override
    public void onPartitionsAssigned(Consumer<?, ?> consumer, Collection<TopicPartition> partitions) {
        update(consumer);
    }

    @Override
    public void onPartitionsRevoked(Consumer<?, ?> consumer, Collection<TopicPartition> partitions) {
        // SmallRye has dropped the queued records of these partitions just before calling this.
        polled.dropped(partitions);
        update(consumer);
    }

    @Override
    public void onPartitionsLost(Consumer<?, ?> consumer, Collection<TopicPartition> partitions) {
        polled.dropped(partitions);
        update(consumer);
    }

    private void update(Consumer<?, ?> consumer) {
        // SmallRye's delayed-retry consumer shares this listener; only the main consumer's
        // partitions of kiln.jobs decide the share.
        if (!consumer.subscription().contains(Topics.JOBS)) {
            return;
        }
        Set<TopicPartition> all = consumer.partitionsFor(Topics.JOBS).stream()
                .map(info -> new TopicPartition(info.topic(), info.partition())).collect(Collectors.toSet());
        Set<TopicPartition> owned = consumer.assignment().stream().filter(tp -> tp.topic().equals(Topics.JOBS))
                .collect(Collectors.toSet());
        share.assigned(owned, all);
    }
}
