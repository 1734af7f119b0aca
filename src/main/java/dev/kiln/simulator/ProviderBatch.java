package dev.kiln.simulator;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One Batch API batch and its state, as the Batch object shows it. Thread-safe: the handler reads
 * and cancels it while its {@link BatchRunner} moves it along
 * {@code validating -> in_progress -> finalizing -> completed}, or to {@code failed}, or through
 * {@code cancelling -> cancelled}.
 */
final class ProviderBatch {

    /** One entry of a failed validation, as in the Batch object's {@code errors.data}. */
    record Error(String code, String message, String param, Integer line) {
    }

    private final String id;
    private final String endpoint;
    private final String inputFileId;
    private final String completionWindow;
    private final Map<String, String> metadata;
    private final long createdAt;
    private String status = "validating";
    private String model;
    private final Map<String, Long> times = new LinkedHashMap<>();
    private String outputFileId;
    private String errorFileId;
    private final List<Error> errors = new ArrayList<>();
    private int total;
    private int completed;
    private int failed;
    private long inputTokens;
    private long outputTokens;

    ProviderBatch(String id, String endpoint, String inputFileId, String completionWindow, Map<String, String> metadata) {
        this.id = id;
        this.endpoint = endpoint;
        this.inputFileId = inputFileId;
        this.completionWindow = completionWindow;
        this.metadata = metadata;
        this.createdAt = now();
    }

    String id() {
        return id;
    }

    String endpoint() {
        return endpoint;
    }

    String inputFileId() {
        return inputFileId;
    }

    synchronized String status() {
        return status;
    }

    synchronized boolean cancelRequested() {
        return status.equals("cancelling");
    }

    /**
     * Asks the runner to stop and answers the Batch object as it is then ({@code cancelling}), before
     * the runner can end it; null when the batch has already ended or is finalizing.
     */
    synchronized Map<String, Object> cancel() {
        if (status.equals("validating") || status.equals("in_progress")) {
            move("cancelling");
            notifyAll();
        }
        return status.equals("cancelling") ? toJson() : null;
    }

    /** Waits until {@code deadlineNanos} or a cancellation, whichever comes first. */
    synchronized void awaitUntil(long deadlineNanos) throws InterruptedException {
        long left;
        while (!cancelRequested() && (left = deadlineNanos - System.nanoTime()) > 0) {
            wait(Math.max(1, left / 1_000_000));
        }
    }

    synchronized void failed(List<Error> validationErrors) {
        errors.addAll(validationErrors);
        move("failed");
    }

    synchronized void inProgress(int requests, String requestModel) {
        total = requests;
        model = requestModel;
        if (status.equals("validating")) {
            move("in_progress");
        }
    }

    synchronized void answered(boolean succeeded, TokenUsage usage) {
        if (succeeded) {
            completed++;
        } else {
            failed++;
        }
        if (usage != null) {
            inputTokens += usage.inputTokens();
            outputTokens += usage.outputTokens();
        }
    }

    synchronized void finalizing() {
        move("finalizing");
    }

    /** The end: {@code completed}, or {@code cancelled} after a cancellation. */
    synchronized void ended(String outputFile, String errorFile) {
        outputFileId = outputFile;
        errorFileId = errorFile;
        move(status.equals("cancelling") ? "cancelled" : "completed");
    }

    private void move(String next) {
        status = next;
        times.put(next + "_at", now());
    }

    private static long now() {
        return System.currentTimeMillis() / 1000;
    }

    /** The Batch object. */
    synchronized Map<String, Object> toJson() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", id);
        out.put("object", "batch");
        out.put("endpoint", endpoint);
        out.put("model", model);
        if (errors.isEmpty()) {
            out.put("errors", null);
        } else {
            List<Map<String, Object>> data = new ArrayList<>();
            for (Error e : errors) {
                Map<String, Object> entry = new LinkedHashMap<>();
                entry.put("code", e.code());
                entry.put("message", e.message());
                entry.put("param", e.param());
                entry.put("line", e.line());
                data.add(entry);
            }
            out.put("errors", Map.of("object", "list", "data", data));
        }
        out.put("input_file_id", inputFileId);
        out.put("completion_window", completionWindow);
        out.put("status", status);
        out.put("output_file_id", outputFileId);
        out.put("error_file_id", errorFileId);
        out.put("created_at", createdAt);
        for (String state : List.of("in_progress", "expires", "finalizing", "completed", "failed", "expired",
                "cancelling", "cancelled")) {
            Long at = state.equals("expires") ? Long.valueOf(createdAt + 24 * 3600) : times.get(state + "_at");
            out.put(state + "_at", at);
        }
        out.put("request_counts", Map.of("total", total, "completed", completed, "failed", failed));
        Map<String, Object> usage = new LinkedHashMap<>();
        usage.put("input_tokens", inputTokens);
        usage.put("input_tokens_details", Map.of("cached_tokens", 0));
        usage.put("output_tokens", outputTokens);
        usage.put("output_tokens_details", Map.of("reasoning_tokens", 0));
        usage.put("total_tokens", inputTokens + outputTokens);
        out.put("usage", usage);
        out.put("metadata", metadata);
        return out;
    }
}
