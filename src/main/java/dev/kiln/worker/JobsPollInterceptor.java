package dev.kiln.worker;

import dev.kiln.messaging.Topics;
import io.smallrye.reactive.messaging.ClientCustomizer;
import jakarta.enterprise.context.ApplicationScoped;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerInterceptor;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.eclipse.microprofile.config.Config;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A Kafka consumer interceptor on the {@code jobs} channel's consumers: it tells
 * {@link PolledJobs} what each poll returned, on the polling thread, before SmallRye queues the
 * records. Kafka creates it by class; {@link Installer} adds it to the consumer's configuration
 * together with the {@link PolledJobs} bean it reports to.
 */
public class JobsPollInterceptor implements ConsumerInterceptor<Object, Object> {

    /** The consumer configuration entry that carries the {@link PolledJobs} bean to the interceptor. */
    static final String COUNTER = "kiln.worker.polled-jobs";

    private PolledJobs counter;

    @Override
    public void configure(Map<String, ?> configs) {
        counter = configs.get(COUNTER) instanceof PolledJobs polled ? polled : null;
    }

    @Override
    public ConsumerRecords<Object, Object> onConsume(ConsumerRecords<Object, Object> records) {
        if (counter != null) {
            counter.polled(records);
        }
        return records;
    }

    @Override
    public void onCommit(Map<TopicPartition, OffsetAndMetadata> offsets) {
        // Nothing to count.
    }

    @Override
    public void close() {
        // Nothing held.
    }

    /** Adds the interceptor to every consumer of the {@code jobs} channel (the delayed-retry one too). */
    @ApplicationScoped
    public static class Installer implements ClientCustomizer<Map<String, Object>> {

        private final PolledJobs polled;

        public Installer(PolledJobs polled) {
            this.polled = polled;
        }

        @Override
        public Map<String, Object> customize(String channel, Config channelConfig, Map<String, Object> config) {
            if (!Topics.JOBS_IN.equals(channel) || !config.containsKey(ConsumerConfig.GROUP_ID_CONFIG)) {
                return config;
            }
            // The class itself rather than its name: Kafka then needs no class loader to find it.
            List<Object> interceptors = new ArrayList<>();
            Object configured = config.get(ConsumerConfig.INTERCEPTOR_CLASSES_CONFIG);
            if (configured instanceof String names && !names.isBlank()) {
                interceptors.addAll(List.of(names.split("\\s*,\\s*")));
            } else if (configured instanceof List<?> list) {
                interceptors.addAll(list);
            }
            interceptors.add(JobsPollInterceptor.class);
            config.put(ConsumerConfig.INTERCEPTOR_CLASSES_CONFIG, interceptors);
            config.put(COUNTER, polled);
            return config;
        }
    }
}
