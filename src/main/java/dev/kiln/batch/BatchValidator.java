package dev.kiln.batch;

import dev.kiln.image.GptImageRules;
import dev.kiln.image.Violation;
import dev.kiln.job.FieldError;
import dev.kiln.job.ImageParameters;
import dev.kiln.job.WebhookSubscription;
import dev.kiln.messaging.KilnJson;
import dev.kiln.reference.ReferenceFetchConfig;
import dev.kiln.reference.ReferenceFetcher;
import jakarta.enterprise.context.ApplicationScoped;

import java.net.URI;
import java.util.Collection;
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

    /** Most reference images of one edit, the defaults' and the item's together. */
    public static final int MAX_REFERENCES = ReferenceFetcher.MAX_REFERENCES;

    private final IntakeConfig config;
    private final ReferenceFetchConfig references;
    /** The parameters last checked and their violations (see {@link #rules}). */
    private volatile ParameterRules lastParameterRules;

    public BatchValidator(IntakeConfig config, ReferenceFetchConfig references) {
        this.config = config;
        this.references = references;
    }

    /**
     * Every problem of {@code request} that its text alone shows, for {@code tenant}; empty when
     * it may be accepted. Whether referenced objects exist is checked afterwards by
     * {@link ReferenceResolver}.
     */
    /** The largest {@code budget_usd}: far above any catalogue, low enough to stay exact as a double. */
    static final java.math.BigDecimal MAX_BUDGET_USD = java.math.BigDecimal.valueOf(1_000_000_000);

    public List<FieldError> validate(BatchRequest request, String tenant) {
        Set<FieldError> errors = new LinkedHashSet<>();
        int defaultReferences = validateBatchFields(request, tenant, errors);
        List<BatchItem> items = request.items();
        if (items == null || items.isEmpty()) {
            errors.add(new FieldError("items", "must hold at least one item"));
            return List.copyOf(errors);
        }
        if (items.size() > config.maxItems()) {
            errors.add(new FieldError("items", "must hold at most " + config.maxItems() + " items; split the catalogue into several batches"));
            return List.copyOf(errors);
        }
        ItemIds seenIds = new ItemIds();
        for (int i = 0; i < items.size(); i++) {
            validateItem("items[" + i + "]", items.get(i), defaultsOf(request), tenant, seenIds, errors);
        }
        boolean anyEdit = defaultReferences > 0 || items.stream().anyMatch(item -> item != null && count(item.referenceImages()) > 0);
        checkDefaultFidelity(request, anyEdit, errors);
        return List.copyOf(errors);
    }

    /**
     * The batch-level checks of {@link #validate}, everything but the items; returns how many
     * reference images the defaults name. A streamed catalogue checks these on its first line.
     */
    int validateBatchFields(BatchRequest request, String tenant, Set<FieldError> errors) {
        if (request.externalId() != null && (request.externalId().isBlank() || request.externalId().length() > MAX_EXTERNAL_ID)) {
            errors.add(new FieldError("external_id", "must be 1 to " + MAX_EXTERNAL_ID + " characters"));
        }
        if (request.webhook() != null) {
            validateWebhook(request.webhook(), errors);
        }
        if (request.priority() != null) {
            try {
                request.parsedPriority();
            } catch (IllegalArgumentException e) {
                errors.add(new FieldError("priority", "must be interactive, normal or bulk"));
            }
        }
        if (request.deadline() != null) {
            java.time.Instant now = java.time.Instant.now();
            try {
                if (request.deadlineAt(now).orElseThrow().isBefore(now)) {
                    errors.add(new FieldError("deadline", "is in the past"));
                }
            } catch (IllegalArgumentException e) {
                errors.add(new FieldError("deadline", e.getMessage()));
            }
        }
        if (request.budgetUsd() != null && (request.budgetUsd().signum() <= 0
                || request.budgetUsd().compareTo(MAX_BUDGET_USD) > 0)) {
            errors.add(new FieldError("budget_usd", "must be more than 0 and at most " + MAX_BUDGET_USD.toPlainString() + " US dollars"));
        }
        if (request.lane() != null && !request.lane().equals("standard") && !request.lane().equals("economy")) {
            errors.add(new FieldError("lane", "must be standard or economy"));
        }
        BatchDefaults defaults = defaultsOf(request);
        for (Violation v : GptImageRules.validate(null, defaults.parameters())) {
            // A rule that reads two fields (transparent needs png or webp) depends on what each
            // item sets; it is judged per item below, on the merged parameters.
            if (!RULE_INPUTS.containsKey(v.field())) {
                errors.add(new FieldError("defaults." + v.field(), v.reason()));
            }
        }
        int defaultReferences = checkReferenceList("defaults", defaults.referenceImages(), tenant, errors);
        if (defaultReferences > MAX_REFERENCES) {
            errors.add(new FieldError("defaults.reference_images", "must hold at most " + MAX_REFERENCES + " references"));
        }
        checkMaskForm("defaults", defaults.mask(), tenant, errors);
        return defaultReferences;
    }

    /** A default input_fidelity applies to the batch's edits only; with none it can only be a mistake. */
    void checkDefaultFidelity(BatchRequest request, boolean anyEdit, Set<FieldError> errors) {
        if (defaultsOf(request).parameters().inputFidelity() != null && !anyEdit) {
            errors.add(new FieldError("defaults.input_fidelity", "may be given only with reference_images (edits)"));
        }
    }

    /**
     * Checks one item, whose fields are named under {@code path} ({@code items[3]}, or a line of a
     * streamed catalogue); {@code seenIds} holds the ids of the items before it.
     */
    void validateItem(String path, BatchItem item, BatchDefaults defaults, String tenant, ItemIds seenIds,
                      Set<FieldError> errors) {
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
        List<Violation> violations = rules(item.prompt(), merged);
        // Which fields the item sets matters only to place a violation; most items have none.
        Set<String> setByItem = violations.isEmpty() ? Set.of() : fieldsSet(own);
        for (Violation v : violations) {
            Set<String> inputs = RULE_INPUTS.getOrDefault(v.field(), Set.of(v.field()));
            boolean itemsFault = v.field().equals("prompt") || inputs.stream().anyMatch(setByItem::contains);
            errors.add(new FieldError((itemsFault ? path : "defaults") + "." + v.field(), v.reason()));
        }
        checkItemReferences(path, item, defaults, tenant, errors);
    }

    /**
     * {@link GptImageRules#validate}, with the parameters' part looked up once for a run of items
     * with the same parameters (a catalogue's items mostly inherit the defaults): parsing the size
     * and matching the model again for each of 100,000 items was a fifth of reading a catalogue.
     * The prompt is checked for each item, and its violation keeps its place after the model's.
     */
    private List<Violation> rules(String prompt, ImageParameters parameters) {
        ParameterRules known = lastParameterRules;
        if (known == null || !known.parameters().equals(parameters)) {
            known = new ParameterRules(parameters, GptImageRules.validate(null, parameters));
            lastParameterRules = known; // one immutable record: a racing request at worst checks again
        }
        java.util.Optional<Violation> promptViolation = GptImageRules.checkPrompt(prompt);
        if (promptViolation.isEmpty()) {
            return known.violations();
        }
        List<Violation> all = new java.util.ArrayList<>(known.violations());
        int afterModel = !all.isEmpty() && all.getFirst().field().equals("model") ? 1 : 0;
        all.add(afterModel, promptViolation.get());
        return all;
    }

    /** The violations of one set of parameters, without a prompt. */
    private record ParameterRules(ImageParameters parameters, List<Violation> violations) {
    }

    /**
     * The contract's reference rules for one item: each entry of a known form, at most 16 after
     * the defaults' are put first, a mask only with references, input_fidelity only for edits.
     */
    private void checkItemReferences(String path, BatchItem item, BatchDefaults defaults, String tenant,
                                     Set<FieldError> errors) {
        int own = checkReferenceList(path, item.referenceImages(), tenant, errors);
        int inherited = count(defaults.referenceImages());
        if (own > 0 && inherited <= MAX_REFERENCES && own + inherited > MAX_REFERENCES) {
            errors.add(new FieldError(path + ".reference_images", "holds " + own + " references after the defaults' "
                    + inherited + "; at most " + MAX_REFERENCES + " in all"));
        }
        checkMaskForm(path, item.mask(), tenant, errors);
        boolean edits = own + inherited > 0;
        if (!edits && (item.mask() != null || defaults.mask() != null)) {
            errors.add(new FieldError((item.mask() != null ? path : "defaults") + ".mask",
                    "needs reference_images: a mask applies to the first reference image"));
        }
        if (!edits && item.parameters().inputFidelity() != null) {
            errors.add(new FieldError(path + ".input_fidelity", "may be given only with reference_images (edits)"));
        }
    }

    /** Checks the form of each entry; returns how many there are. */
    private int checkReferenceList(String path, List<String> list, String tenant, Set<FieldError> errors) {
        if (list == null) {
            return 0;
        }
        for (int j = 0; j < list.size(); j++) {
            if (Reference.classify(list.get(j), tenant, references) instanceof Reference.Invalid invalid) {
                errors.add(new FieldError(path + ".reference_images[" + j + "]", invalid.reason()));
            }
        }
        return list.size();
    }

    private void checkMaskForm(String path, String mask, String tenant, Set<FieldError> errors) {
        if (mask != null && Reference.classify(mask, tenant, references) instanceof Reference.Invalid invalid) {
            errors.add(new FieldError(path + ".mask", invalid.reason()));
        }
    }

    static int count(List<String> list) {
        return list == null ? 0 : list.size();
    }

    /** The wire names of the parameters {@code p} sets, such as {@code output_format}. */
    private static Set<String> fieldsSet(ImageParameters p) {
        Set<String> set = new HashSet<>();
        KilnJson.MAPPER.valueToTree(p).fieldNames().forEachRemaining(set::add);
        return set;
    }

    /**
     * The webhook's URL and the events it asks for. The string form is named {@code webhook}; the
     * object form's fields by their own names, so the client sees which one to fix.
     */
    private static void validateWebhook(WebhookSubscription webhook, Collection<FieldError> errors) {
        List<String> events = webhook.events();
        String urlField = events == null ? "webhook" : "webhook.url";
        if (webhook.url() == null) {
            errors.add(new FieldError("webhook.url", "is required: the URL to call"));
        } else if (!isHttpUrl(webhook.url())) {
            errors.add(new FieldError(urlField, "must be an absolute http or https URL"));
        }
        if (events == null) {
            return;
        }
        if (events.isEmpty()) {
            errors.add(new FieldError("webhook.events", "must name at least one event; leave it out for "
                    + WebhookSubscription.BATCH_COMPLETED + " alone"));
        }
        for (int i = 0; i < events.size(); i++) {
            if (events.get(i) == null || !WebhookSubscription.EVENTS.contains(events.get(i))) {
                errors.add(new FieldError("webhook.events[" + i + "]",
                        "must be one of " + String.join(", ", WebhookSubscription.EVENTS)));
            }
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

    /** The defaults of a request, never null. */
    static BatchDefaults defaultsOf(BatchRequest request) {
        return request.defaults() == null ? BatchDefaults.NONE : request.defaults();
    }
}
