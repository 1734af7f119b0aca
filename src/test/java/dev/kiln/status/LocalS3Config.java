package dev.kiln.status;

import dev.kiln.storage.S3Config;

import java.time.Duration;
import java.util.Optional;

/**
 * Kiln's defaults for a local S3 server, for tests that presign without the stack: presigning is
 * local, so nothing is contacted.
 */
final class LocalS3Config implements S3Config {
    public String endpoint() { return "http://127.0.0.1:9000"; }
    public Optional<String> publicEndpoint() { return Optional.empty(); }
    public String accessKey() { return "kiln"; }
    public String secretKey() { return "kiln-local-secret"; }
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
