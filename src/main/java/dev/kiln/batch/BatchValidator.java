package dev.kiln.batch;

import dev.kiln.api.Problem.FieldError;
import dev.kiln.image.GptImageRules;
import dev.kiln.image.Violation;
import dev.kiln.job.ImageParameters;
import jakarta.enterprise.context.ApplicationScoped;

import java.net.URI;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Checks a batch at the door with gpt-image-2's own rules, so that nothing the provider would
 * refuse is ever enqueued or paid for. Every problem is reported, each with the path of the
 * field that causes it ({@code items[3].size}, {@code defaults.output_format}).
 */
@ApplicationScoped
public class BatchValidator {

    /** Fields whose rule also reads another field: a violation belongs to whoever sets either. */
    private static final Map<String, Set<String>> RULE_INPUTS = Map.of(
            "background", Set.of("background", "output_format"),
            "output_compression", Set.of("output_compression", "output_format"));

    private static final int MAX_EXTERNAL_ID = 256;

    private final IntakeConfig config;

    public BatchValidator(IntakeConfig config) {
        this.config = config;
    }

    /** Every problem of {@code request}; empty when it may be accepted. */
    public List<FieldError> validate(BatchRequest request) {
        Set<FieldError> errors = new LinkedHashSet<>();
        if (request.externalId() != null && (request.externalId().isBlank() || request.externalId().length() > MAX_EXTERNAL_ID)) {
            errors.add(new FieldError("external_id", "must be 1 to " + MAX_EXTERNAL_ID + " characters"));
        }
        if (request.webhook() != null && !isHttpUrl(request.webhook())) {
            errors.add(new FieldError("webhook", "must be an absolute http or https URL"));
        }
        BatchDefaults defaults = defaultsOf(request);
        ImageParameters defaultParameters = defaults.parameters();
        for (Violation v : GptImageRules.validate(inputOf(defaultParameters, null))) {
            errors.add(new FieldError("defaults." + v.field(), v.reason()));
        }
        checkReferences("defaults", defaults.referenceImages(), defaults.mask(), errors);
        List<BatchItem> items = request.items();
        if (items == null || items.isEmpty()) {
            errors.add(new FieldError("items", "must hold at least one item"));
            return List.copyOf(errors);
        }
        if (items.size() > config.maxItems()) {
            errors.add(new FieldError("items", "must hold at most " + config.maxItems() + " items; split the catalogue into several batches"));
            return List.copyOf(errors);
        }
        Set<String> seenIds = new HashSet<>();
        for (int i = 0; i < items.size(); i++) {
            validateItem(i, items.get(i), defaults, seenIds, errors);
        }
        return List.copyOf(errors);
    }

    private void validateItem(int index, BatchItem item, BatchDefaults defaults, Set<String> seenIds, Set<FieldError> errors) {
        String path = "items[" + index + "]";
        if (item == null) {
            errors.add(new FieldError(path, "must be an object"));
            return;
        }
        if (item.id() == null || item.id().isBlank()) {
            errors.add(new FieldError(path + ".id", "is required: the client's own id for the item, such as a SKU"));
        } else if (item.id().length() > config.maxItemIdLength() || item.id().chars().anyMatch(Character::isISOControl)) {
            errors.add(new FieldError(path + ".id", "must be at most " + config.maxItemIdLength() + " characters without control characters"));
        } else if (!seenIds.add(item.id())) {
            errors.add(new FieldError(path + ".id", "repeats an earlier item's id; ids must be unique in a batch"));
        }
        if (item.prompt() == null || item.prompt().isEmpty()) {
            errors.add(new FieldError(path + ".prompt", "is required"));
        }
        ImageParameters own = item.parameters();
        ImageParameters merged = defaults.parameters().overriddenBy(own);
        Set<String> setByItem = fieldsSet(own);
        for (Violation v : GptImageRules.validate(inputOf(merged, item.prompt()))) {
            Set<String> inputs = RULE_INPUTS.getOrDefault(v.field(), Set.of(v.field()));
            boolean itemsFault = v.field().equals("prompt") || inputs.stream().anyMatch(setByItem::contains);
            errors.add(new FieldError((itemsFault ? path : "defaults") + "." + v.field(), v.reason()));
        }
        checkReferences(path, item.referenceImages(), item.mask(), errors);
    }

    /** Edits arrive with a later release; until then a reference is refused rather than ignored. */
    private static void checkReferences(String path, List<String> references, String mask, Set<FieldError> errors) {
        if (references != null && !references.isEmpty()) {
            errors.add(new FieldError(path + ".reference_images", "edits with reference images are not supported by this Kiln version"));
        }
        if (mask != null) {
            errors.add(new FieldError(path + ".mask", "edits with a mask are not supported by this Kiln version"));
        }
    }

    private static GptImageRules.Input inputOf(ImageParameters p, String prompt) {
        return new GptImageRules.Input(p.model(), prompt, p.size(), p.quality(), p.background(), p.outputFormat(),
                p.outputCompression(), p.moderation(), p.n(), p.inputFidelity());
    }

    private static Set<String> fieldsSet(ImageParameters p) {
        Set<String> set = new HashSet<>();
        addIf(set, "model", p.model());
        addIf(set, "size", p.size());
        addIf(set, "quality", p.quality());
        addIf(set, "background", p.background());
        addIf(set, "output_format", p.outputFormat());
        addIf(set, "output_compression", p.outputCompression());
        addIf(set, "moderation", p.moderation());
        addIf(set, "n", p.n());
        addIf(set, "input_fidelity", p.inputFidelity());
        return set;
    }

    private static void addIf(Set<String> set, String name, Object value) {
        if (value != null) {
            set.add(name);
        }
    }

    private static boolean isHttpUrl(String text) {
        try {
            URI uri = URI.create(text);
            return ("https".equals(uri.getScheme()) || "http".equals(uri.getScheme())) && uri.getHost() != null;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static BatchDefaults emptyDefaults() {
        return new BatchDefaults(null, null, null, null, null, null, null, null, null, null, null);
    }

    /** The defaults of a request, never null. */
    static BatchDefaults defaultsOf(BatchRequest request) {
        return request.defaults() == null ? emptyDefaults() : request.defaults();
    }
}
