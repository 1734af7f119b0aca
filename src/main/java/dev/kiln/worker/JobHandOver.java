package dev.kiln.worker;

import dev.kiln.messaging.Topics;
import io.smallrye.mutiny.Multi;
import io.smallrye.reactive.messaging.PublisherDecorator;
import io.smallrye.reactive.messaging.kafka.api.IncomingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.reactive.messaging.Message;

import java.util.List;

/**
 * Counts each {@code kiln.jobs} record the moment the Kafka connector hands it over, on the
 * connector's own thread, before SmallRye starts the virtual thread that runs
 * {@link RenderWorker#render}. Counting in the job's thread instead left the fetch gate blind to
 * every record handed over but not started yet: on a busy machine a new virtual thread waits
 * behind the running ones while the consumer polls a batch every few milliseconds, and one run
 * held 177 jobs without a slot against a bound of 29 that way. The record also leaves
 * {@link PolledJobs}' count of records polled and not handed over yet.
 */
@ApplicationScoped
public class JobHandOver implements PublisherDecorator {

    private final InFlightJobs jobs;
    private final PolledJobs polled;

    public JobHandOver(InFlightJobs jobs, PolledJobs polled) {
        this.jobs = jobs;
        this.polled = polled;
    }

    @Override
    public Multi<? extends Message<?>> decorate(Multi<? extends Message<?>> publisher, List<String> channelName,
                                                boolean isConnector) {
        if (!isConnector || channelName == null || !channelName.contains(Topics.JOBS_IN)) {
            return publisher;
        }
        return publisher.invoke(message -> {
            message.getMetadata(IncomingKafkaRecordMetadata.class)
                    .ifPresent(record -> polled.handedOver(record.getTopic(), record.getPartition()));
            jobs.arrived();
        });
    }
}
