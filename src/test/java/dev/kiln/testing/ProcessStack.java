package dev.kiln.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.simulator.SimulatorServer;
import io.minio.ListObjectsArgs;
import io.minio.MinioClient;
import io.minio.Result;
import io.minio.messages.Item;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * The real servers (Kafka, S3, the simulator; see {@link KilnStackResource}) in the test JVM, an
 * api-role Kiln process, and any number of worker processes, all from the packaged application.
 * Tests submit batches over the api process's HTTP API as a client would.
 */
public final class ProcessStack implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration START_TIMEOUT = Duration.ofSeconds(180);

    private final KilnStackResource servers = new KilnStackResource();
    private final Map<String, String> serverProperties;
    private final List<KilnProcess> processes = new ArrayList<>();
    private final HttpClient http = HttpClient.newHttpClient();
    private final MinioClient minio;
    private final String runId = Long.toString(System.currentTimeMillis(), 36);
    private final Map<String, String> common;
    private KilnProcess api;
    private final List<KilnProcess> dispatchers = new ArrayList<>();

    private ProcessStack(Map<String, String> common) {
        this.common = Map.copyOf(common);
        serverProperties = servers.start();
        minio = MinioClient.builder().endpoint(KilnStackResource.s3Endpoint())
                .credentials(KilnStackResource.S3_ACCESS_KEY, KilnStackResource.S3_SECRET_KEY).build();
    }

    /** Starts the servers, the api process and the dispatcher process. */
    public static ProcessStack start() {
        return start(Map.of());
    }

    /**
     * Starts the servers and the api process; {@code common} configures every process of the
     * stack (the retry topics, say, which the api creates and the workers use).
     */
    public static ProcessStack start(Map<String, String> common) {
        ProcessStack stack = new ProcessStack(common);
        try {
            stack.api = stack.startProcess("api", "api", "api", Map.of(), List.of("-Xmx512m"));
            stack.api.awaitReady(START_TIMEOUT);
            // Intake stages batches on kiln.items; only a dispatcher releases them to the workers.
            stack.startDispatcher("dispatcher", Map.of()).awaitReady(START_TIMEOUT);
            return stack;
        } catch (RuntimeException e) {
            stack.close();
            throw e;
        }
    }

    /** The simulator, to configure it and read what it received. */
    public SimulatorServer simulator() {
        return KilnStackResource.simulator();
    }

    /** The api process. */
    public KilnProcess api() {
        return api;
    }

    /** The dispatcher processes started so far, the first one included; some may have been killed. */
    public List<KilnProcess> dispatchers() {
        return List.copyOf(dispatchers);
    }

    /**
     * Starts a dispatcher process named {@code identity} (a second one is a standby; the same
     * identity again is a restart over the same state folder); call {@link KilnProcess#awaitReady(Duration)} on it.
     */
    public KilnProcess startDispatcher(String identity, Map<String, String> properties) {
        KilnProcess started = startProcess(identity, identity + "-" + dispatchers.size(), "dispatcher", properties,
                List.of("-Xmx384m"));
        dispatchers.add(started);
        return started;
    }

    /**
     * Kills the api process (SIGKILL, as a crashed pod dies) and starts it again as the same
     * instance: the same {@code KILN_INSTANCE_ID} and state folders, a new port and a log of its
     * own ({@code name}); returns once it is ready.
     */
    public KilnProcess restartApi(String name) {
        api.kill();
        if (!api.awaitExit(Duration.ofSeconds(30))) {
            throw new AssertionError("the api process did not die");
        }
        api = startProcess("api", name, "api", Map.of(), List.of("-Xmx512m"));
        api.awaitReady(START_TIMEOUT);
        return api;
    }

    /**
     * Starts a worker process; call {@link KilnProcess#awaitReady(Duration)} on it, or use
     * {@link #startWorkers}.
     *
     * @param properties configuration on top of the stack's, e.g. {@code kiln.rate.ipm}
     */
    public KilnProcess startWorker(String name, Map<String, String> properties, List<String> jvmOptions) {
        return startProcess(name, name, "worker", properties, jvmOptions);
    }

    /**
     * Starts a worker as the same instance as an earlier one named {@code identity} (a crashed
     * container coming back): the same {@code KILN_INSTANCE_ID} and work folder, a log of its own.
     */
    public KilnProcess restartWorker(String identity, String name, Map<String, String> properties, List<String> jvmOptions) {
        return startProcess(identity, name, "worker", properties, jvmOptions);
    }

    /** Starts {@code count} workers at once and waits until every one is ready. */
    public List<KilnProcess> startWorkers(int count, IntFunction<String> name, IntFunction<Map<String, String>> properties,
                                          List<String> jvmOptions) {
        List<KilnProcess> started = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            started.add(startWorker(name.apply(i), properties.apply(i), jvmOptions));
        }
        started.forEach(worker -> worker.awaitReady(START_TIMEOUT));
        return started;
    }

    /**
     * Stops every worker with SIGTERM, so that each leaves the consumer group at once rather
     * than after the session timeout, and kills any that do not exit in time.
     */
    public void stopWorkers() {
        List<KilnProcess> workers = processes.stream().filter(p -> p != api && !dispatchers.contains(p) && p.isAlive()).toList();
        workers.forEach(KilnProcess::terminate);
        for (KilnProcess worker : workers) {
            if (!worker.awaitExit(Duration.ofSeconds(30))) {
                worker.close();
            }
        }
    }

    /**
     * Submits a batch of {@code items} items, {@code SKU-000} onwards, each with a prompt that
     * names this run, the tag and the item, so that the simulator's log can be matched to items.
     *
     * @param defaults the batch's {@code defaults}, e.g. {@code {"size": "1024x1024", "quality": "low"}}
     * @return the batch id
     */
    public String submit(String tag, int items, Map<String, Object> defaults) {
        ObjectNode body = JSON.createObjectNode();
        body.set("defaults", JSON.valueToTree(defaults));
        ArrayNode list = body.putArray("items");
        for (int i = 0; i < items; i++) {
            list.addObject().put("id", itemId(i)).put("prompt", prompt(tag, itemId(i)));
        }
        JsonNode accepted = send(HttpRequest.newBuilder(URI.create(api.url() + "/v1/batches"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())), 202);
        return accepted.path("id").asText();
    }

    /** The item id of item {@code index}. */
    public static String itemId(int index) {
        return "SKU-%03d".formatted(index);
    }

    /** The prompt that {@link #submit} sends for {@code itemId}. */
    public String prompt(String tag, String itemId) {
        return "catalogue " + runId + " " + tag + " product " + itemId + ", a ceramic mug on an oak table";
    }

    /** The item a prompt of {@link #submit} was made for, or null for another prompt. */
    public static String itemOfPrompt(String prompt) {
        int at = prompt == null ? -1 : prompt.indexOf(" product SKU-");
        return at < 0 ? null : prompt.substring(at + 9, at + 16);
    }

    /** {@code GET /v1/batches/{id}}. */
    public JsonNode batch(String batchId) {
        return send(HttpRequest.newBuilder(URI.create(api.url() + "/v1/batches/" + batchId)).GET(), 200);
    }

    /** Every item of the batch, from {@code GET /v1/batches/{id}/items}. */
    public List<JsonNode> items(String batchId) {
        List<JsonNode> items = new ArrayList<>();
        String cursor = null;
        do {
            String query = "?limit=1000" + (cursor == null ? "" : "&cursor=" + cursor);
            JsonNode page = send(HttpRequest.newBuilder(URI.create(api.url() + "/v1/batches/" + batchId + "/items" + query)).GET(), 200);
            page.path("items").forEach(items::add);
            cursor = page.hasNonNull("next_cursor") ? page.get("next_cursor").asText() : null;
        } while (cursor != null);
        return items;
    }

    /** Waits until the batch has no job left queued or running; returns when that was seen. */
    public Instant awaitFinished(String batchId, Duration timeout) {
        Instant deadline = Instant.now().plus(timeout);
        while (Instant.now().isBefore(deadline)) {
            JsonNode batch = batch(batchId);
            String state = batch.path("state").asText();
            if (state.equals("succeeded") || state.equals("failed") || state.equals("partially_failed")) {
                return Instant.now();
            }
            sleep(Duration.ofMillis(200));
        }
        throw new AssertionError("batch " + batchId + " did not finish within " + timeout + ": " + batch(batchId));
    }

    /** Output object keys under the batch's prefix, with their sizes; thumbnails ({@code .thumb.}) left out. */
    public Map<String, Long> objects(String batchId) {
        Map<String, Long> keys = new HashMap<>();
        try {
            for (Result<Item> result : minio.listObjects(ListObjectsArgs.builder().bucket("kiln")
                    .prefix("default/" + batchId + "/").recursive(true).build())) {
                if (!result.get().objectName().contains(".thumb.")) {
                    keys.put(result.get().objectName(), result.get().size());
                }
            }
        } catch (Exception e) {
            throw new IllegalStateException("cannot list the bucket", e);
        }
        return keys;
    }

    /** Sleeps without checked exceptions. */
    public static void sleep(Duration duration) {
        try {
            Thread.sleep(duration);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Kills every process and stops the servers. */
    @Override
    public void close() {
        for (KilnProcess process : processes) {
            process.close();
        }
        servers.stop();
    }

    private KilnProcess startProcess(String identity, String name, String role, Map<String, String> properties,
                                     List<String> jvmOptions) {
        Map<String, String> all = new HashMap<>(serverProperties);
        // Each process keeps its own files, and its own instance id for Kafka static membership.
        all.put("kiln.worker.work-dir", serverProperties.get("kiln.worker.work-dir") + "-" + identity);
        all.put("kiln.status-view.state-dir", serverProperties.get("kiln.status-view.state-dir") + "-" + identity);
        all.put("kiln.dispatcher.state-dir", serverProperties.get("kiln.status-view.state-dir") + "-dispatcher-" + identity);
        // The webhook notifier's default folder is shared by every Kiln on the host (and locked by one).
        all.put("kiln.webhooks.state-dir", serverProperties.get("kiln.status-view.state-dir") + "-webhooks-" + identity);
        all.put("kiln.kafka.instance-id", identity + "-" + runId);
        // A killed worker's partitions move after the session timeout: the broker's smallest (6 s)
        // rather than Kafka's default 45 s, so that a crash test takes seconds.
        all.put("mp.messaging.incoming.jobs.session.timeout.ms", "6000");
        all.put("mp.messaging.incoming.jobs.heartbeat.interval.ms", "1000");
        all.put("quarkus.log.category.\"org.apache.kafka\".level", "WARN");
        // The packaged jar runs the prod profile, whose api refuses to start without keys; these
        // processes test the worker, not authentication.
        all.put("kiln.auth.mode", "off");
        all.putAll(common);
        all.putAll(properties);
        KilnProcess process = KilnProcess.start(name + "-" + runId, role, all, jvmOptions);
        processes.add(process);
        return process;
    }

    private JsonNode send(HttpRequest.Builder request, int expectedStatus) {
        try {
            HttpResponse<String> response = http.send(request.timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != expectedStatus) {
                throw new AssertionError(response.request().method() + " " + response.uri() + " answered "
                        + response.statusCode() + ": " + response.body());
            }
            return JSON.readTree(response.body());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
