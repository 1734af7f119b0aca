package dev.kiln.storage;

import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

/** Creates the bucket at start-up when it is missing, so a fresh S3 server works at once. */
@ApplicationScoped
public class BucketSetup {

    private final ObjectStore store;
    private final S3Config config;

    public BucketSetup(ObjectStore store, S3Config config) {
        this.store = store;
        this.config = config;
    }

    void create(@Observes @Priority(20) StartupEvent event) {
        if (config.createBucket()) {
            store.ensureBucket();
        }
    }
}
