package dev.kiln.testing;

import org.testcontainers.containers.MinIOContainer;
import org.testcontainers.kafka.KafkaContainer;

/**
 * The stack's Kafka and S3 as Testcontainers, where a Docker engine answers ({@link StackChoice}):
 * Apache Kafka in KRaft mode and MinIO, pinned to the images {@code docker-compose.yml} runs, so
 * the tests meet the same servers as a Compose user. The simulator stays a process of the test
 * JVM either way: it is Kiln's own code, not an image.
 */
final class ContainerStack implements AutoCloseable {

    /** The image docker-compose.yml runs for Kafka. */
    static final String KAFKA_IMAGE = "apache/kafka:4.1.1";
    /** The image docker-compose.yml runs for MinIO. */
    static final String MINIO_IMAGE = "quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z";

    private final KafkaContainer kafka;
    private final MinIOContainer minio;

    private ContainerStack(KafkaContainer kafka, MinIOContainer minio) {
        this.kafka = kafka;
        this.minio = minio;
    }

    /** Starts both containers; MinIO takes the stack's S3 credentials. */
    static ContainerStack start(String accessKey, String secretKey) {
        KafkaContainer kafka = new KafkaContainer(KAFKA_IMAGE);
        MinIOContainer minio = new MinIOContainer(MINIO_IMAGE).withUserName(accessKey).withPassword(secretKey);
        try {
            kafka.start();
            minio.start();
        } catch (RuntimeException e) {
            minio.stop();
            kafka.stop();
            throw e;
        }
        return new ContainerStack(kafka, minio);
    }

    String bootstrapServers() {
        return kafka.getBootstrapServers();
    }

    String s3Endpoint() {
        return minio.getS3URL();
    }

    @Override
    public void close() {
        minio.stop();
        kafka.stop();
    }
}
