package dev.kiln.webhook;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.job.BatchCompleted;
import dev.kiln.job.JobIds;
import dev.kiln.messaging.KilnJson;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Optional;

/**
 * Webhook bodies in the shape Standard Webhooks recommends, {@code {"type", "timestamp", "data"}},
 * and their ids. An id is derived from what the delivery is about, so that the notifier recomputing
 * an event after a crash names the very same delivery rather than a second one.
 */
final class WebhookPayloads {

    private WebhookPayloads() {
    }

    /** The {@code batch.completed} body: the batch summary, with the batch's and the manifest's URLs when the api's address is known. */
    static String batchCompleted(BatchCompleted event, Optional<String> publicBaseUrl) {
        ObjectNode data = KilnJson.MAPPER.valueToTree(event);
        publicBaseUrl.map(WebhookPayloads::trimSlash).ifPresent(base -> {
            String batchUrl = base + "/v1/batches/" + event.batchId();
            data.put("url", batchUrl);
            data.put("manifest_url", batchUrl + "/manifest");
        });
        return body(WebhookEvents.BATCH_COMPLETED, event.completedAt(), data);
    }

    /**
     * A {@code job.succeeded} or {@code job.failed} body: the job's status event as {@code kiln.status}
     * carries it, with the job's and the batch's URLs when the api's address is known. Outputs are
     * object keys, not presigned URLs: a URL would expire while the delivery is still being retried.
     */
    static String job(String eventType, JsonNode jobEvent, Optional<String> publicBaseUrl, Instant at) {
        ObjectNode data = jobEvent.deepCopy();
        publicBaseUrl.map(WebhookPayloads::trimSlash).ifPresent(base -> {
            data.put("url", base + "/v1/jobs/" + jobEvent.path("job_id").asText());
            data.put("batch_url", base + "/v1/batches/" + jobEvent.path("batch_id").asText());
        });
        return body(eventType, at, data);
    }

    /** The id of a batch's {@code n}-th completion delivery. */
    static String batchCompletedId(String batchId, int completion) {
        return id(batchId, WebhookEvents.BATCH_COMPLETED, Integer.toString(completion));
    }

    /** The id of a job event's delivery. */
    static String jobId(String batchId, String eventType, String jobId, int attempt) {
        return id(batchId, eventType, jobId + "/" + attempt);
    }

    private static String id(String batchId, String eventType, String what) {
        String seed = batchId + "\n" + eventType + "\n" + what;
        return "msg_" + JobIds.sha256Hex(seed.getBytes(StandardCharsets.UTF_8)).substring(0, 32);
    }

    private static String body(String type, Instant at, JsonNode data) {
        ObjectNode root = KilnJson.MAPPER.createObjectNode();
        root.put("type", type);
        root.put("timestamp", at.toString());
        root.set("data", data);
        try {
            return KilnJson.MAPPER.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a JSON tree always writes", e);
        }
    }

    private static String trimSlash(String url) {
        return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }
}
