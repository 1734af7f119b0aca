package dev.kiln.localstack;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;

/**
 * A real S3 API server (s3proxy over a local directory) running as a child process of this JVM.
 *
 * <p>s3proxy runs from its own jar, never on Kiln's classpath: its jclouds and Jetty would clash
 * with Quarkus. The build copies that jar to {@code target/local-stack/s3proxy.jar}. The child is
 * destroyed on {@link #close()} and by a shutdown hook, so it never outlives this JVM's orderly
 * exit. It listens on {@code 127.0.0.1} only and accepts AWS signature v2 and v4.
 */
public final class S3ProxyServer implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(S3ProxyServer.class);

    /** Where the build puts the s3proxy jar, relative to the project root. */
    public static final Path DEFAULT_JAR = Path.of("target", "local-stack", "s3proxy.jar");

    /** s3proxy answers in about a second; half a minute covers a slow CI machine. */
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(30);

    /** Time s3proxy gets to exit on SIGTERM before it is killed. */
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(5);

    private final Process process;
    private final Thread shutdownHook;
    private final int port;
    private final Path dataDir;
    private final String accessKey;
    private final String secretKey;

    private S3ProxyServer(Process process, Thread shutdownHook, int port, Path dataDir,
            String accessKey, String secretKey) {
        this.process = process;
        this.shutdownHook = shutdownHook;
        this.port = port;
        this.dataDir = dataDir;
        this.accessKey = accessKey;
        this.secretKey = secretKey;
    }

    /**
     * The s3proxy jar that the build copied under the working directory, which is the project
     * root for {@code mvn quarkus:dev} and for Surefire.
     *
     * @throws IllegalStateException when the jar is missing, with a hint to build first
     */
    public static Path defaultJar() {
        Path jar = DEFAULT_JAR.toAbsolutePath();
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException("s3proxy jar not found at " + jar
                    + ": run the build from the project root (mvn generate-resources copies it there)");
        }
        return jar;
    }

    /**
     * Starts s3proxy and returns once it answers HTTP.
     *
     * @param jar       the s3proxy jar-with-dependencies
     * @param dataDir   holds the buckets (under {@code buckets/}), the settings and the log
     * @param port      the port on 127.0.0.1, or 0 for a free one
     * @param accessKey the access key clients sign with
     * @param secretKey the secret key clients sign with
     */
    public static S3ProxyServer start(Path jar, Path dataDir, int port, String accessKey, String secretKey) {
        return start(jar, dataDir, port, accessKey, secretKey, false);
    }

    /**
     * Starts s3proxy as {@link #start(Path, Path, int, String, String)} does; with
     * {@code logRequests} its log ({@link #log()}) names every request it receives, so that a test
     * can count the uploads of each key across restarts (the log is appended to, never replaced).
     */
    public static S3ProxyServer start(Path jar, Path dataDir, int port, String accessKey, String secretKey,
                                      boolean logRequests) {
        int httpPort = Ports.orFree(port);
        Path log = dataDir.resolve("s3proxy.log");
        Process process;
        try {
            Path buckets = Files.createDirectories(dataDir.resolve("buckets"));
            Path settings = writeSettings(dataDir, buckets, httpPort, accessKey, secretKey);
            ProcessBuilder builder = new ProcessBuilder(command(jar, settings))
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
            if (logRequests) {
                // s3proxy's logback configuration reads these; at debug it logs one line per request.
                builder.environment().put("LOG_LEVEL", "debug");
                builder.environment().put("JETTY_LOG_LEVEL", "info");
            }
            process = builder.start();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot start s3proxy from " + jar, e);
        }
        Thread hook = new Thread(() -> destroy(process), "s3proxy-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        S3ProxyServer server = new S3ProxyServer(process, hook, httpPort, dataDir, accessKey, secretKey);
        try {
            server.awaitReady(log);
        } catch (RuntimeException e) {
            server.close();
            throw e;
        }
        LOG.infof("S3 API server (s3proxy) ready on %s, data in %s", server.endpoint(), dataDir);
        return server;
    }

    /** The S3 endpoint, such as {@code http://127.0.0.1:9000}. */
    public String endpoint() {
        return "http://" + Ports.LOOPBACK + ":" + port;
    }

    /** The HTTP port. */
    public int port() {
        return port;
    }

    /** The access key clients sign with. */
    public String accessKey() {
        return accessKey;
    }

    /** The secret key clients sign with. */
    public String secretKey() {
        return secretKey;
    }

    /** The directory that holds the buckets, the settings and the log. */
    public Path dataDir() {
        return dataDir;
    }

    /** The log file s3proxy writes to. */
    public Path log() {
        return dataDir.resolve("s3proxy.log");
    }

    /** Whether the child process runs (a suspended one counts as running). */
    public boolean isAlive() {
        return process.isAlive();
    }

    /** SIGKILL: the server is gone at once, mid-request, as in a crash. */
    public void kill() {
        process.destroyForcibly();
        try {
            process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** SIGSTOP: the server hangs; its port still accepts connections, nothing answers them. */
    public void suspend() {
        signal("STOP");
    }

    /** SIGCONT after {@link #suspend()}. */
    public void resume() {
        signal("CONT");
    }

    private void signal(String name) {
        try {
            Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
            if (kill.waitFor() != 0) {
                throw new IllegalStateException("kill -" + name + " " + process.pid() + " failed");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Stops the child process and waits for it. Calling it twice is harmless. */
    @Override
    public void close() {
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // The JVM is already exiting and the hook destroys the process itself.
        }
        if (process.isAlive()) {
            destroy(process);
            LOG.infof("S3 API server on %s stopped", endpoint());
        }
    }

    private static Path writeSettings(Path dataDir, Path buckets, int port, String accessKey,
            String secretKey) throws IOException {
        Properties settings = new Properties();
        settings.setProperty("jclouds.provider", "filesystem");
        settings.setProperty("jclouds.filesystem.basedir", buckets.toAbsolutePath().toString());
        // MinIO's SDK signs with v4; v2 is accepted too so that any S3 tool works.
        settings.setProperty("s3proxy.authorization", "aws-v2-or-v4");
        settings.setProperty("s3proxy.identity", accessKey);
        settings.setProperty("s3proxy.credential", secretKey);
        settings.setProperty("s3proxy.endpoint", "http://" + Ports.LOOPBACK + ":" + port);
        Path file = dataDir.resolve("s3proxy.properties");
        try (OutputStream out = Files.newOutputStream(file)) {
            settings.store(out, "Kiln local stack: s3proxy over the local file system");
        }
        return file;
    }

    /** The java launcher of this JVM, so the child runs on the same, known-good runtime. */
    private static String javaBinary() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /**
     * Options for the child JVM: a small heap, and the quick-start compiler and collector, which
     * halve s3proxy's start (about 1 s instead of 2) at a throughput a local run never misses.
     */
    private static List<String> command(Path jar, Path settings) {
        return List.of(javaBinary(), "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "-jar", jar.toString(), "--properties", settings.toString());
    }

    private static void destroy(Process process) {
        process.destroy();
        try {
            if (!process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly().waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    /** Any HTTP answer, even 403 for the unsigned request, means s3proxy serves requests. */
    private void awaitReady(Path log) {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        HttpRequest probe = HttpRequest.newBuilder(URI.create(endpoint() + "/"))
                .timeout(Duration.ofSeconds(2)).GET().build();
        Instant deadline = Instant.now().plus(READY_TIMEOUT);
        while (Instant.now().isBefore(deadline)) {
            if (!process.isAlive()) {
                throw new IllegalStateException("s3proxy exited with code " + process.exitValue()
                        + " before answering on " + endpoint() + " (port in use?); see " + log
                        + ":\n" + tail(log));
            }
            try {
                http.send(probe, HttpResponse.BodyHandlers.discarding());
                return;
            } catch (IOException e) {
                sleep();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("Interrupted while waiting for s3proxy", e);
            }
        }
        throw new IllegalStateException("s3proxy did not answer on " + endpoint() + " within "
                + READY_TIMEOUT + "; see " + log + ":\n" + tail(log));
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException | UncheckedIOException e) {
            return "(log unreadable: " + e.getMessage() + ")";
        }
    }

    private static void sleep() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while waiting for s3proxy", e);
        }
    }
}
