package dev.kiln.localstack;

import java.nio.file.Path;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/**
 * The local stack that {@code mvn quarkus:dev} starts: a Kafka broker, an S3 API server and the
 * gpt-image-2 simulator, all on 127.0.0.1. The defaults are the ports that the dev profile's
 * Kafka, S3 and provider settings point at.
 */
@ConfigMapping(prefix = "kiln.local-stack")
public interface LocalStackConfig {

    /** Whether dev mode starts the local stack; turn it off to use servers of your own. */
    @WithDefault("true")
    boolean enabled();

    /** Port of the Kafka broker's client listener. */
    @WithDefault("9092")
    int kafkaPort();

    /** Port of the S3 API server. */
    @WithDefault("9000")
    int s3Port();

    /** Port of the gpt-image-2 simulator. */
    @WithDefault("8090")
    int simulatorPort();

    /**
     * Folder that keeps the stack's data between runs ({@code kafka/} and {@code s3/} under it),
     * relative to the project root; git ignores it. Delete it to start from scratch.
     */
    @WithDefault(".kiln")
    Path dataDir();
}
