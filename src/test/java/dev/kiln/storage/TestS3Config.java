package dev.kiln.storage;

import java.time.Duration;
import java.util.Optional;

/** {@link S3Config} for tests that build an {@link ObjectStore} by hand against a real S3 server. */
public record TestS3Config(String endpoint, Optional<String> publicEndpoint, String accessKey, String secretKey)
        implements S3Config {

    /**
     * Kiln's defaults for a local S3 server, for tests that presign without the stack: presigning
     * is local, so nothing is contacted.
     */
    public static TestS3Config local() {
        return new TestS3Config("http://127.0.0.1:9000", Optional.empty(), "kiln", "kiln-local-secret");
    }

    public String bucket() { return "kiln"; }
    public String region() { return "us-east-1"; }
    public Duration presignExpiry() { return Duration.ofHours(1); }
    public boolean createBucket() { return true; }
    public Duration connectTimeout() { return Duration.ofSeconds(5); }
    public Duration readTimeout() { return Duration.ofSeconds(5); }
    public Duration writeTimeout() { return Duration.ofSeconds(5); }
    public Duration callTimeout() { return Duration.ofSeconds(10); }
    public Duration healthInterval() { return Duration.ofSeconds(1); }
}
