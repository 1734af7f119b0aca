package dev.kiln.localstack;

import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import jakarta.annotation.PreDestroy;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.interceptor.Interceptor;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import io.quarkus.arc.profile.IfBuildProfile;
import io.quarkus.runtime.StartupEvent;

/**
 * Runs the local stack in dev mode ({@code mvn quarkus:dev}): a Kafka broker, an S3 API server
 * and, unless a provider is configured, the simulator on 127.0.0.1, with their data under {@link LocalStackConfig#dataDir()}.
 *
 * <p>It starts on the earliest startup observer ({@code PLATFORM_BEFORE}), ahead of SmallRye
 * Reactive Messaging, which connects the Kafka channels from its own startup observer at
 * {@code LIBRARY_BEFORE}. It stops in {@code @PreDestroy}, which runs when the application
 * context is destroyed: after the Kafka connector has closed its clients on
 * {@code @BeforeDestroyed(ApplicationScoped.class)}, so no client outlives the broker.
 */
@IfBuildProfile("dev")
@ApplicationScoped
public class LocalStack {

    /** The S3 access key of the local run; the dev profile's {@code kiln.s3.access-key}. */
    public static final String S3_ACCESS_KEY = "kiln";

    /** The S3 secret key of the local run; the dev profile's {@code kiln.s3.secret-key}. */
    public static final String S3_SECRET_KEY = "kiln-local-secret";

    private static final Logger LOG = Logger.getLogger(LocalStack.class);

    private final LocalStackConfig config;
    /**
     * Whether Kiln will call the simulator: only when no provider is configured. The provider
     * package reads the same two settings (a real key alone means api.openai.com).
     */
    private final boolean simulatorUsed;

    /** What is running, to be stopped last-started first. */
    private final Deque<AutoCloseable> running = new ArrayDeque<>();

    LocalStack(LocalStackConfig config,
               @ConfigProperty(name = "kiln.provider.base-url") Optional<String> providerBaseUrl,
               @ConfigProperty(name = "kiln.provider.api-key") Optional<String> providerApiKey) {
        this.config = config;
        this.simulatorUsed = providerBaseUrl.filter(u -> !u.isBlank()).isEmpty()
                && providerApiKey.filter(k -> !k.isBlank()).isEmpty();
    }

    void start(@Observes @Priority(Interceptor.Priority.PLATFORM_BEFORE) StartupEvent event) {
        if (!config.enabled()) {
            LOG.info("Local stack disabled (kiln.local-stack.enabled=false): using the configured servers");
            return;
        }
        // Checked up front so that a stack left over from another run fails with a clear message
        // instead of a bind error deep inside Kafka.
        Ports.requireFree(config.kafkaPort(), "The local Kafka broker");
        Ports.requireFree(config.s3Port(), "The local S3 API server");
        if (simulatorUsed) {
            Ports.requireFree(config.simulatorPort(), "The local simulator");
        }

        Path root = config.dataDir().toAbsolutePath();
        // s3proxy is a separate process, so it boots while the broker starts in this thread.
        CompletableFuture<S3ProxyServer> s3 = CompletableFuture.supplyAsync(() -> S3ProxyServer.start(
                S3ProxyServer.defaultJar(), root.resolve("s3"), config.s3Port(), S3_ACCESS_KEY, S3_SECRET_KEY));
        RuntimeException failure = null;
        try {
            running.push(EmbeddedKafkaBroker.start(root.resolve("kafka"), config.kafkaPort()));
        } catch (RuntimeException e) {
            failure = e;
        }
        try {
            running.push(s3.join());
        } catch (CompletionException e) {
            RuntimeException cause = e.getCause() instanceof RuntimeException r ? r : e;
            if (failure == null) {
                failure = cause;
            } else {
                failure.addSuppressed(cause);
            }
        }
        if (failure == null && simulatorUsed) {
            try {
                running.push(SimulatorLauncher.startSimulator(config.simulatorPort()));
            } catch (RuntimeException e) {
                failure = e;
            }
        }
        if (failure != null) {
            stop();
            throw failure;
        }
        LOG.infof("Local stack up, data in %s: Kafka 127.0.0.1:%d, S3 http://127.0.0.1:%d, %s",
                root, config.kafkaPort(), config.s3Port(), simulatorUsed
                        ? "simulator port " + config.simulatorPort()
                        : "no simulator (OPENAI_BASE_URL or OPENAI_API_KEY names the provider)");
    }

    @PreDestroy
    void stop() {
        while (!running.isEmpty()) {
            AutoCloseable server = running.pop();
            try {
                server.close();
            } catch (Exception e) {
                // Keep stopping the others: a half-stopped stack would block the next run's ports.
                LOG.warnf(e, "Stopping %s failed", server);
            }
        }
    }
}
