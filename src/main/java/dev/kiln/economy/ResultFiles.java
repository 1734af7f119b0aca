package dev.kiln.economy;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.job.JobError;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.provider.BatchApiClient;
import dev.kiln.provider.BatchApiException;
import dev.kiln.provider.ProviderBatchState;
import dev.kiln.provider.ProviderUsage;
import dev.kiln.provider.RenderedImages;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Reads an ended provider batch's output and error files and hands each job's result to
 * {@link LaneResults}. A line's images are decoded from the file stream into files, never held
 * whole, as the standard lane decodes an answer. A job with no line (the batch was cancelled,
 * expired or failed before reaching it) ends cancelled if a cancel covers it, else fails with a
 * retryable error so that it is tried again.
 */
final class ResultFiles {

    private final BatchApiClient client;
    private final LaneResults results;
    private final Path workDir;
    private final ObjectMapper json;
    private final double priceFactor;

    ResultFiles(BatchApiClient client, LaneResults results, Path workDir, ObjectMapper json, double priceFactor) {
        this.client = client;
        this.results = results;
        this.workDir = workDir;
        this.json = json;
        this.priceFactor = priceFactor;
    }

    void handle(EconomyGroup group, ProviderBatchState state) throws BatchApiException, InterruptedException, IOException {
        Map<String, RenderJobRequested> jobs = new LinkedHashMap<>();
        group.jobs().forEach(j -> jobs.put(j.jobId(), j));
        Set<String> handled = new HashSet<>();
        Path folder = Files.createDirectories(workDir.resolve(group.groupId()));
        try {
            for (String fileId : Stream.of(state.outputFileId(), state.errorFileId()).filter(id -> id != null).toList()) {
                Path file = folder.resolve(fileId + ".jsonl");
                client.download(fileId, file);
                readLines(file, folder, jobs, handled);
                Files.delete(file);
            }
            for (RenderJobRequested job : jobs.values()) {
                if (handled.contains(job.jobId())) {
                    continue;
                }
                if (state.status().equals("cancelled") || results.cancelRequested(job)) {
                    results.cancelled(job, "cancelled");
                } else {
                    results.failed(job, new JobError("provider_batch_" + state.status(),
                            "the provider batch " + state.id() + " ended " + state.status() + " without a result for this job", true));
                }
            }
        } finally {
            deleteTree(folder);
        }
    }

    private void readLines(Path file, Path folder, Map<String, RenderJobRequested> jobs, Set<String> handled)
            throws IOException, InterruptedException {
        int lineNumber = 0;
        try (JsonParser parser = json.getFactory().createParser(file.toFile())) {
            while (parser.nextToken() == JsonToken.START_OBJECT) {
                Path lineFolder = Files.createDirectories(folder.resolve("line-" + lineNumber++));
                Line line = readLine(parser, lineFolder);
                RenderJobRequested job = line.customId == null ? null : jobs.get(line.customId);
                if (job == null || !handled.add(job.jobId())) {
                    continue; // not ours, or a second line for one job: the first one counts
                }
                if (line.status == 200 && !line.images.isEmpty()) {
                    results.rendered(job, new RenderedImages(line.images, line.usage, null), priceFactor);
                } else {
                    JsonNode error = line.error == null ? null : line.error.path("error").isObject() ? line.error.path("error") : line.error;
                    String code = error == null ? "provider_error" : error.path("code").asText(error.path("type").asText("provider_error"));
                    String message = error == null ? "the provider answered " + line.status : error.path("message").asText("");
                    boolean retryable = line.status == 429 || line.status >= 500 || line.status == 0;
                    results.failed(job, new JobError(code, message, retryable));
                }
            }
        }
    }

    /** One result line, with its images written into {@code folder}. */
    private Line readLine(JsonParser parser, Path folder) throws IOException {
        Line line = new Line();
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String field = parser.currentName();
            parser.nextToken();
            switch (field) {
                case "custom_id" -> line.customId = parser.getValueAsString();
                case "response" -> {
                    if (parser.currentToken() == JsonToken.START_OBJECT) {
                        readResponse(parser, folder, line);
                    } else {
                        parser.skipChildren();
                    }
                }
                case "error" -> {
                    JsonNode error = parser.readValueAsTree();
                    if (error != null && !error.isNull() && line.error == null) {
                        line.error = error;
                    }
                }
                default -> parser.skipChildren();
            }
        }
        return line;
    }

    private void readResponse(JsonParser parser, Path folder, Line line) throws IOException {
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String field = parser.currentName();
            parser.nextToken();
            if (field.equals("status_code")) {
                line.status = parser.getIntValue();
            } else if (field.equals("body") && parser.currentToken() == JsonToken.START_OBJECT) {
                while (parser.nextToken() == JsonToken.FIELD_NAME) {
                    String bodyField = parser.currentName();
                    parser.nextToken();
                    if (bodyField.equals("data") && parser.currentToken() == JsonToken.START_ARRAY) {
                        while (parser.nextToken() == JsonToken.START_OBJECT) {
                            readImage(parser, folder.resolve("image-" + line.images.size()), line);
                        }
                    } else if (bodyField.equals("usage")) {
                        line.usage = ProviderUsage.fromJson(parser.readValueAsTree());
                    } else if (bodyField.equals("error")) {
                        line.error = parser.readValueAsTree();
                    } else {
                        parser.skipChildren();
                    }
                }
            } else {
                parser.skipChildren();
            }
        }
    }

    private static void readImage(JsonParser parser, Path file, Line line) throws IOException {
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String field = parser.currentName();
            parser.nextToken();
            if (field.equals("b64_json") && parser.currentToken() == JsonToken.VALUE_STRING) {
                try (OutputStream out = Files.newOutputStream(file)) {
                    parser.readBinaryValue(out);
                }
                line.images.add(file);
            } else {
                parser.skipChildren();
            }
        }
    }

    private static void deleteTree(Path folder) throws IOException {
        if (!Files.exists(folder)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(folder)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }

    private static final class Line {
        String customId;
        int status;
        final List<Path> images = new ArrayList<>();
        ProviderUsage usage = ProviderUsage.NONE;
        JsonNode error;
    }
}
