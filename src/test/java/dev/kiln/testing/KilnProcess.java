package dev.kiln.testing;

import dev.kiln.localstack.Ports;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Kiln as it ships, the fast-jar that {@code mvn package} builds, run as a child process in one
 * role: for tests (failsafe {@code *IT}) that need several real worker processes, kill one, or
 * send it SIGTERM. Each process gets its own free HTTP port, a log and a GC log under
 * {@code target/kiln-processes/}, and is killed by {@link #close()} or, failing that, when the
 * test JVM exits.
 */
public final class KilnProcess implements AutoCloseable {

    /** Where {@code mvn package} puts the runnable application. */
    public static final Path APPLICATION = Path.of("target", "quarkus-app", "quarkus-run.jar");

    private static final Path LOG_DIR = Path.of("target", "kiln-processes");
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);
    /** G1 and serial collectors both log pauses as {@code 123M->45M(256M)}. */
    private static final Pattern GC_PAUSE = Pattern.compile("(\\d+)M->(\\d+)M\\((\\d+)M\\)");

    private final String name;
    private final Process process;
    private final Thread shutdownHook;
    private final int httpPort;
    private final Path log;
    private final Path gcLog;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private KilnProcess(String name, Process process, Thread shutdownHook, int httpPort, Path log, Path gcLog) {
        this.name = name;
        this.process = process;
        this.shutdownHook = shutdownHook;
        this.httpPort = httpPort;
        this.log = log;
        this.gcLog = gcLog;
    }

    /**
     * Starts Kiln and returns without waiting for it; see {@link #awaitReady(Duration)}.
     *
     * @param name       names the log files, e.g. {@code worker-a}; unique within a test run
     * @param role       {@code api}, {@code worker} or {@code all}
     * @param properties configuration passed as system properties ({@code -Dkey=value})
     * @param jvmOptions further JVM options, e.g. {@code -Xmx1g}
     */
    public static KilnProcess start(String name, String role, Map<String, String> properties, List<String> jvmOptions) {
        Path jar = APPLICATION.toAbsolutePath();
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " is missing: these tests run after `mvn package` (use mvn verify)");
        }
        int port = Ports.freePort();
        try {
            Files.createDirectories(LOG_DIR);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Path log = LOG_DIR.resolve(name + ".log").toAbsolutePath();
        Path gcLog = LOG_DIR.resolve(name + "-gc.log").toAbsolutePath();
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmOptions);
        command.add("-Xlog:gc:file=" + gcLog);
        Map<String, String> all = new LinkedHashMap<>(properties);
        all.put("kiln.role", role);
        all.put("quarkus.http.port", Integer.toString(port));
        all.forEach((key, value) -> command.add("-D" + key + "=" + value));
        command.add("-jar");
        command.add(jar.toString());
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.to(log.toFile()));
        // Only the given configuration counts, not whatever the developer's shell exports.
        builder.environment().keySet().removeIf(key -> key.startsWith("KILN_") || key.startsWith("OPENAI_")
                || key.startsWith("KAFKA_") || key.startsWith("QUARKUS_") || key.startsWith("MP_MESSAGING_"));
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + name, e);
        }
        Thread hook = new Thread(process::destroyForcibly, "kill-" + name);
        Runtime.getRuntime().addShutdownHook(hook);
        return new KilnProcess(name, process, hook, port, log, gcLog);
    }

    /** The name given at start. */
    public String name() {
        return name;
    }

    /** The HTTP root, e.g. {@code http://127.0.0.1:41234}. */
    public String url() {
        return "http://" + Ports.LOOPBACK + ":" + httpPort;
    }

    /** The process's combined stdout and stderr. */
    public Path log() {
        return log;
    }

    /** Waits until {@code /q/health/ready} answers 200. */
    public KilnProcess awaitReady(Duration timeout) {
        HttpRequest ready = HttpRequest.newBuilder(URI.create(url() + "/q/health/ready")).timeout(Duration.ofSeconds(2)).build();
        Instant deadline = Instant.now().plus(timeout);
        while (Instant.now().isBefore(deadline)) {
            requireAlive();
            try {
                if (http.send(ready, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return this;
                }
            } catch (IOException e) {
                // not listening yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            pause();
        }
        throw new IllegalStateException(name + " was not ready within " + timeout + "; log " + log + ":\n" + tail());
    }

    /** Waits until a line of the log matches {@code regex}. */
    public KilnProcess awaitLog(String regex, Duration timeout) {
        Pattern pattern = Pattern.compile(regex);
        Instant deadline = Instant.now().plus(timeout);
        while (Instant.now().isBefore(deadline)) {
            if (pattern.matcher(logText()).find()) {
                return this;
            }
            pause();
        }
        throw new IllegalStateException(name + " never logged /" + regex + "/ within " + timeout + "; log " + log + ":\n" + tail());
    }

    /** The whole log so far. */
    public String logText() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "";
        }
    }

    /** Sends SIGTERM: Quarkus shuts down gracefully. */
    public void terminate() {
        process.destroy();
    }

    /** Sends SIGKILL: the process ends at once, as in a crash. */
    public void kill() {
        process.destroyForcibly();
        awaitExit(STOP_TIMEOUT);
    }

    /** Waits for the process to end; returns whether it did. */
    public boolean awaitExit(Duration timeout) {
        try {
            return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Whether the process is running. */
    public boolean isAlive() {
        return process.isAlive();
    }

    /**
     * Heap figures from the GC log (the JVM writes it as it goes, so this also works after a kill).
     * Heap use only grows between collections, so the largest "before" figure of any pause is the
     * peak the heap reached up to the last collection; the largest "after" figure bounds the live
     * data. Empty when no collection happened.
     */
    public HeapFigures heap() {
        long peakBefore = 0;
        long peakAfter = 0;
        long committed = 0;
        int collections = 0;
        try {
            for (String line : Files.readAllLines(gcLog)) {
                Matcher m = GC_PAUSE.matcher(line);
                if (m.find()) {
                    collections++;
                    peakBefore = Math.max(peakBefore, Long.parseLong(m.group(1)));
                    peakAfter = Math.max(peakAfter, Long.parseLong(m.group(2)));
                    committed = Math.max(committed, Long.parseLong(m.group(3)));
                }
            }
        } catch (IOException e) {
            return new HeapFigures(0, OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty());
        }
        return collections == 0 ? new HeapFigures(0, OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty())
                : new HeapFigures(collections, OptionalLong.of(peakBefore), OptionalLong.of(peakAfter), OptionalLong.of(committed));
    }

    /**
     * What the GC log says of one process's heap, in MiB.
     *
     * @param collections  pauses logged
     * @param peakUsedMib  the most heap in use when a collection started
     * @param peakLiveMib  the most heap still in use after a collection
     * @param committedMib the largest heap size the JVM had reserved
     */
    public record HeapFigures(int collections, OptionalLong peakUsedMib, OptionalLong peakLiveMib, OptionalLong committedMib) {
    }

    /** Kills the process if it still runs. */
    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
            awaitExit(STOP_TIMEOUT);
        }
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // the JVM is exiting; the hook kills the process itself
        }
    }

    private void requireAlive() {
        if (!process.isAlive()) {
            throw new IllegalStateException(name + " exited with code " + process.exitValue() + "; log " + log + ":\n" + tail());
        }
    }

    private String tail() {
        String[] lines = logText().split("\n");
        return String.join("\n", java.util.Arrays.copyOfRange(lines, Math.max(0, lines.length - 30), lines.length));
    }

    private static void pause() {
        try {
            Thread.sleep(200);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
