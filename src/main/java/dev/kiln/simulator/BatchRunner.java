package dev.kiln.simulator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Runs one batch from {@code validating} to its end on a virtual thread of its own. The completion
 * delay (times the time scale) is spread over the states so that a client polling a long batch sees
 * each: 5% validating, 90% in progress (the lines are run then, spread evenly over it), 5% finalizing. Rendering that takes
 * longer than its share simply makes the batch later, as a busy provider would.
 */
final class BatchRunner implements Runnable {

    /** How many validation errors the Batch object lists before it stops looking. */
    private static final int MAX_REPORTED_ERRORS = 100;

    private final ProviderBatch batch;
    private final SimulatorServer server;
    private final BatchLineProcessor processor;
    private final ObjectMapper json;

    BatchRunner(ProviderBatch batch, SimulatorServer server, BatchLineProcessor processor, ObjectMapper json) {
        this.batch = batch;
        this.server = server;
        this.processor = processor;
        this.json = json;
    }

    @Override
    public void run() {
        long start = System.nanoTime();
        long delayNanos = TimeUnit.MILLISECONDS.toNanos(server.settings().scaledMillis(server.settings().batchCompletionDelayMillis()));
        try {
            FileStore.StoredFile input = server.files().get(batch.inputFileId()).orElseThrow();
            Validation validation = validate(input);
            if (!validation.errors.isEmpty()) {
                batch.failed(validation.errors);
                return;
            }
            batch.awaitUntil(start + delayNanos / 20);
            if (!batch.cancelRequested()) {
                batch.inProgress(validation.requests, validation.model);
            }
            try (ResultFile output = new ResultFile(server.files(), batch.id() + "_output.jsonl");
                 ResultFile errors = new ResultFile(server.files(), batch.id() + "_error.jsonl")) {
                runLines(input, output, errors, start + delayNanos / 20, delayNanos * 18 / 20, validation.requests);
                batch.awaitUntil(start + delayNanos * 19 / 20);
                if (!batch.cancelRequested()) {
                    batch.finalizing();
                    Thread.sleep(Math.max(0, TimeUnit.NANOSECONDS.toMillis(start + delayNanos - System.nanoTime())));
                }
                batch.ended(output.register(), errors.register());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the simulator is closing
        } catch (IOException | RuntimeException e) {
            // never leave a batch in progress for ever: a client polling it would wait 24 h
            batch.failed(List.of(new ProviderBatch.Error("server_error", "The simulator failed to run the batch: "
                    + e, null, null)));
        }
    }

    /**
     * Runs the lines spread evenly over {@code spanNanos} from {@code fromNanos}, as a provider works
     * through a batch over its window: a cancel in the middle leaves the later lines unrun, and
     * the batch ends {@code cancelled} with the results it had.
     */
    private void runLines(FileStore.StoredFile input, ResultFile output, ResultFile errors, long fromNanos, long spanNanos,
                          int requests) throws IOException, InterruptedException {
        try (BufferedReader reader = Files.newBufferedReader(input.path(), StandardCharsets.UTF_8)) {
            String line;
            int index = 0;
            while ((line = reader.readLine()) != null && !batch.cancelRequested()) {
                if (line.isBlank()) {
                    continue;
                }
                batch.awaitUntil(fromNanos + spanNanos * index++ / Math.max(1, requests));
                if (batch.cancelRequested()) {
                    break;
                }
                JsonNode request = json.readTree(line);
                BatchLineProcessor.Result result = processor.process(batch, request);
                (result.succeeded() ? output : errors).append(result.line());
                batch.answered(result.succeeded(), result.usage());
            }
        }
    }

    /** The lines' count and model, or what is wrong with them. */
    private record Validation(int requests, String model, List<ProviderBatch.Error> errors) {
    }

    /**
     * Every line must be a JSON object with a unique {@code custom_id}, {@code method} POST, the
     * batch's endpoint as {@code url} and a {@code body} object naming one model for the whole file.
     */
    private Validation validate(FileStore.StoredFile input) throws IOException {
        List<ProviderBatch.Error> errors = new ArrayList<>();
        Set<String> customIds = new HashSet<>();
        String model = null;
        int requests = 0;
        int lineNumber = 0;
        int maxRequests = server.batchLimits().maxRequests();
        try (BufferedReader reader = Files.newBufferedReader(input.path(), StandardCharsets.UTF_8)) {
            String line;
            while ((line = reader.readLine()) != null && errors.size() < MAX_REPORTED_ERRORS) {
                lineNumber++;
                if (line.isBlank()) {
                    continue;
                }
                if (++requests > maxRequests) {
                    errors.add(new ProviderBatch.Error("too_many_requests", "The input file has more than "
                            + maxRequests + " requests; a batch can have at most " + maxRequests + ".", null, lineNumber));
                    break;
                }
                JsonNode node;
                try {
                    node = json.readTree(line);
                } catch (IOException e) {
                    errors.add(new ProviderBatch.Error("invalid_json_line", "This line is not valid JSON.", null, lineNumber));
                    continue;
                }
                if (node == null || !node.isObject()) {
                    errors.add(new ProviderBatch.Error("invalid_json_line", "This line is not a JSON object.", null, lineNumber));
                    continue;
                }
                JsonNode customId = node.get("custom_id");
                if (customId == null || !customId.isTextual() || customId.asText().isEmpty()) {
                    errors.add(new ProviderBatch.Error("missing_required_parameter", "Missing custom_id.", "custom_id", lineNumber));
                } else if (!customIds.add(customId.asText())) {
                    errors.add(new ProviderBatch.Error("duplicate_custom_id", "The custom_id '" + customId.asText()
                            + "' is used more than once; each must be unique.", "custom_id", lineNumber));
                }
                if (!"POST".equals(node.path("method").asText())) {
                    errors.add(new ProviderBatch.Error("invalid_method", "The method must be POST.", "method", lineNumber));
                }
                if (!batch.endpoint().equals(node.path("url").asText())) {
                    errors.add(new ProviderBatch.Error("mismatched_endpoint", "The url '" + node.path("url").asText()
                            + "' does not match the batch's endpoint " + batch.endpoint() + ".", "url", lineNumber));
                }
                JsonNode body = node.get("body");
                if (body == null || !body.isObject()) {
                    errors.add(new ProviderBatch.Error("invalid_request", "The body must be a JSON object.", "body", lineNumber));
                    continue;
                }
                String lineModel = body.path("model").asText(null);
                if (model == null) {
                    model = lineModel;
                } else if (lineModel != null && !lineModel.equals(model)) {
                    errors.add(new ProviderBatch.Error("mismatched_model", "Every request of a batch must use the same "
                            + "model: this line uses '" + lineModel + "', earlier ones '" + model + "'.", "body.model", lineNumber));
                }
            }
        }
        if (requests == 0 && errors.isEmpty()) {
            errors.add(new ProviderBatch.Error("empty_file", "The input file has no requests.", null, null));
        }
        return new Validation(requests, model, errors);
    }

    /** An output or error file, created on its first line; a file without lines is never registered. */
    private static final class ResultFile implements AutoCloseable {
        private final FileStore files;
        private final String filename;
        private String id;
        private OutputStream out;

        ResultFile(FileStore files, String filename) {
            this.files = files;
            this.filename = filename;
        }

        void append(byte[] line) throws IOException {
            if (out == null) {
                id = files.newId();
                out = new BufferedOutputStream(Files.newOutputStream(files.pathOf(id)), 1 << 16);
            }
            out.write(line);
            out.write('\n');
        }

        /** Closes the file and makes it visible; null when no line was written. */
        String register() throws IOException {
            if (out == null) {
                return null;
            }
            close();
            return files.register(id, filename, "batch_output").id();
        }

        @Override
        public void close() throws IOException {
            if (out != null) {
                out.close();
            }
        }
    }

}
