package dev.kiln.simulator;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Kiln's stand-in for the OpenAI Images API: a real HTTP server on OpenAI's wire format, run in
 * the test's own JVM ({@link #start(SimulatorSettings)}) or as a process ({@link SimulatorMain}).
 * Besides the API it keeps, for tests, a log of every request received, the requests in progress,
 * how many images it rendered and how many 429s it answered.
 *
 * <p>Routes: {@code POST /v1/images/generations}, {@code POST /v1/images/edits}, the Files API
 * ({@code POST /v1/files}, {@code GET /v1/files/{id}}, {@code GET /v1/files/{id}/content}), the
 * Batch API ({@code POST /v1/batches}, {@code GET /v1/batches}, {@code GET /v1/batches/{id}},
 * {@code POST /v1/batches/{id}/cancel}), {@code GET /health}, and for tests in other processes
 * {@code GET|POST /simulator/settings}, {@code GET /simulator/received},
 * {@code GET /simulator/batch-requests}, {@code GET /simulator/stats} and {@code POST /simulator/reset}.
 */
public final class SimulatorServer implements AutoCloseable {

    /** Connections the kernel queues before the server accepts them (capped by {@code somaxconn}). */
    static final int ACCEPT_BACKLOG = 4096;

    private final HttpServer http;
    private final ExecutorService executor;
    private final OrganisationRateLimiter rateLimiter;
    private final Random random;
    private final List<ReceivedRequest> received = new ArrayList<>();
    private final AtomicLong renders = new AtomicLong();
    private final AtomicLong rateLimited = new AtomicLong();
    private final Set<RequestContext> inProgress = ConcurrentHashMap.newKeySet();
    private final FileStore files = new FileStore();
    private final BatchLimits batchLimits;
    private final Map<String, ProviderBatch> batches = new LinkedHashMap<>();
    private final List<ReceivedBatchRequest> batchRequests = new ArrayList<>();
    private final AtomicLong batchesCreated = new AtomicLong();
    private final AtomicLong batchRenders = new AtomicLong();
    private final BatchLineProcessor batchLines;
    private final ObjectMapper json = new ObjectMapper();
    private volatile SimulatorSettings settings;

    private SimulatorServer(SimulatorSettings settings, BatchLimits batchLimits) throws IOException {
        this.settings = settings;
        this.batchLimits = batchLimits;
        this.random = new Random(settings.seed());
        this.rateLimiter = new OrganisationRateLimiter(settings, System::nanoTime);
        ResponseWriter writer = new ResponseWriter(json);
        RenderRequestReader reader = new RenderRequestReader(json);
        this.batchLines = new BatchLineProcessor(this, reader, json);
        // A load test opens hundreds of connections at once; the JDK's default backlog of 50 would
        // drop the surplus SYNs, and their retransmission a second later would look like latency.
        this.http = HttpServer.create(new InetSocketAddress(settings.host(), settings.port()), ACCEPT_BACKLOG);
        // One virtual thread a request, never a bounded pool: hangs and latency sleeps park the
        // virtual thread and free its carrier, so hundreds of slow renders are in flight at once.
        this.executor = Executors.newVirtualThreadPerTaskExecutor();
        http.setExecutor(executor);
        http.createContext("/v1/images/generations", new ImagesHandler("generations", this, reader, writer));
        http.createContext("/v1/images/edits", new ImagesHandler("edits", this, reader, writer));
        http.createContext("/v1/files", new FilesHandler(this, writer));
        http.createContext("/v1/batches", new BatchApiHandler(this, json, writer));
        http.createContext("/health", exchange -> {
            writer.json(exchange, 200, Map.of("status", "UP"), Map.of());
            exchange.close();
        });
        http.createContext("/simulator/", new AdminHandler(this, json, writer));
        http.createContext("/", exchange -> {
            writer.error(exchange, new ApiError(404, "invalid_request_error", null, "unknown_url",
                    "Unrecognized request URL (" + exchange.getRequestMethod() + ": " + exchange.getRequestURI().getPath()
                            + ").", Map.of()), Map.of());
            exchange.close();
        });
        http.start();
    }

    /** Starts a simulator; port 0 picks a free port. */
    public static SimulatorServer start(SimulatorSettings settings) {
        return start(settings, BatchLimits.OPENAI);
    }

    /** Starts a simulator with other Batch API limits than OpenAI's, for tests that reach them. */
    static SimulatorServer start(SimulatorSettings settings, BatchLimits batchLimits) {
        try {
            return new SimulatorServer(settings, batchLimits);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot bind the simulator to " + settings.host() + ":" + settings.port(), e);
        }
    }

    /** Starts a simulator with {@link SimulatorSettings#defaults()}. */
    public static SimulatorServer start() {
        return start(SimulatorSettings.defaults());
    }

    /** The port bound. */
    public int port() {
        return http.getAddress().getPort();
    }

    /** The API base URL, as {@code OPENAI_BASE_URL} takes it: {@code http://127.0.0.1:<port>/v1}. */
    public String baseUrl() {
        return rootUrl() + "/v1";
    }

    /** The server root, for {@code /health} and {@code /simulator/*}. */
    public String rootUrl() {
        String host = settings.host().contains(":") ? "[" + settings.host() + "]" : settings.host();
        return "http://" + ("0.0.0.0".equals(host) ? "127.0.0.1" : host) + ":" + port();
    }

    /** The settings in force. */
    public SimulatorSettings settings() {
        return settings;
    }

    /**
     * New settings from now on, for requests not yet answered too. The rate-limit buckets start
     * full again and the random draws restart from the seed; host and port cannot change.
     */
    public void update(SimulatorSettings newSettings) {
        synchronized (random) {
            settings = newSettings;
            random.setSeed(newSettings.seed());
        }
        rateLimiter.reconfigure(newSettings);
    }

    /** Every request received on the images endpoints so far, oldest first. */
    public List<ReceivedRequest> received() {
        synchronized (received) {
            return List.copyOf(received);
        }
    }

    /** Images rendered so far: what a real provider would have billed. */
    public long renderCount() {
        return renders.get();
    }

    /** 429 answers so far, from the limits and from the injected fault. */
    public long rateLimitedCount() {
        return rateLimited.get();
    }

    /**
     * Requests that passed the rate limits and are not answered yet: the renders a client has in
     * flight right now (status 0). Tests use it to act while calls are in progress.
     */
    public List<ReceivedRequest> inProgress() {
        return inProgress.stream().map(context -> context.toRecord(0)).toList();
    }

    /**
     * Every line of every batch run so far, in the order run. A line is listed once it has its
     * result, so a test can wait for a batch to complete and then assert what it was sent.
     */
    public List<ReceivedBatchRequest> receivedBatchRequests() {
        synchronized (batchRequests) {
            return List.copyOf(batchRequests);
        }
    }

    /** Batches created through {@code POST /v1/batches} so far. */
    public long batchCount() {
        return batchesCreated.get();
    }

    /** Images rendered for batch lines so far; also counted in {@link #renderCount()}. */
    public long batchRenderCount() {
        return batchRenders.get();
    }

    /**
     * Forgets the received requests and batch lines and zeroes the counters; refills the
     * rate-limit buckets. Files and batches stay, as they would at OpenAI.
     */
    public void reset() {
        synchronized (received) {
            received.clear();
        }
        synchronized (batchRequests) {
            batchRequests.clear();
        }
        renders.set(0);
        rateLimited.set(0);
        batchesCreated.set(0);
        batchRenders.set(0);
        rateLimiter.reconfigure(settings);
    }

    /** Stops listening, ends requests and batches still in progress, hung ones included, and deletes the files. */
    @Override
    public void close() {
        http.stop(0);
        executor.shutdownNow();
        try {
            executor.awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        files.close();
    }

    FileStore files() {
        return files;
    }

    BatchLimits batchLimits() {
        return batchLimits;
    }

    ProviderBatch batch(String id) {
        synchronized (batches) {
            return batches.get(id);
        }
    }

    /** Every batch, oldest first. */
    List<ProviderBatch> batches() {
        synchronized (batches) {
            return List.copyOf(batches.values());
        }
    }

    /** Registers a new batch and runs it on a virtual thread of its own. */
    void startBatch(ProviderBatch batch) {
        synchronized (batches) {
            batches.put(batch.id(), batch);
        }
        batchesCreated.incrementAndGet();
        executor.execute(new BatchRunner(batch, this, batchLines, json));
    }

    void recordBatchRequest(ReceivedBatchRequest request) {
        synchronized (batchRequests) {
            batchRequests.add(request);
        }
    }

    void countBatchRenders(int images) {
        batchRenders.addAndGet(images);
    }

    Random random() {
        return random;
    }

    OrganisationRateLimiter rateLimiter() {
        return rateLimiter;
    }

    void record(ReceivedRequest request) {
        synchronized (received) {
            received.add(request);
        }
    }

    void began(RequestContext context) {
        inProgress.add(context);
    }

    void ended(RequestContext context) {
        inProgress.remove(context);
    }

    void countRender() {
        renders.incrementAndGet();
    }

    void countRateLimited() {
        rateLimited.incrementAndGet();
    }
}
