package dev.kiln.batch;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.introspect.AnnotatedMember;
import com.fasterxml.jackson.databind.introspect.BeanPropertyDefinition;
import dev.kiln.job.FieldError;
import dev.kiln.job.ImageParameters;
import dev.kiln.job.InvalidRequestException;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads the body of {@code POST /v1/batches}. A misspelt field ({@code "qualty"}) must not be
 * dropped silently, or the client believes it got what it asked for: every field the request
 * records do not know is refused, at every level, and so is every field the contract names but
 * Kiln does not build yet. Only then is the body bound to {@link BatchRequest}.
 *
 * <p>The known fields are read off the request records themselves (with the parameters that
 * {@code @JsonUnwrapped} brings in), so a new parameter of {@code ImageParameters} is known here
 * without a word in this class.
 */
public final class BatchRequestReader {

    /** Batch-level fields of the contract that a later release builds. */
    static final Set<String> NOT_BUILT_YET = Set.of();
    /** The fields of a webhook object (it may also be a URL string). */
    static final Set<String> WEBHOOK_FIELDS = Set.of("url", "events");

    /** Binds strictly: an {@code n} of 1.5 is an error, not 1. */
    private final ObjectReader binder;
    private final ObjectReader itemBinder;
    private final ObjectReader parametersBinder;
    private final ObjectReader metadataBinder;
    private final Set<String> batchFields;
    private final Set<String> defaultsFields;
    private final Set<String> itemFields;

    public BatchRequestReader(ObjectMapper mapper) {
        this.binder = mapper.readerFor(BatchRequest.class).without(DeserializationFeature.ACCEPT_FLOAT_AS_INT);
        this.itemBinder = mapper.readerFor(BatchItem.class).without(DeserializationFeature.ACCEPT_FLOAT_AS_INT);
        this.parametersBinder = mapper.readerFor(ImageParameters.class).without(DeserializationFeature.ACCEPT_FLOAT_AS_INT);
        this.metadataBinder = mapper.readerFor(new com.fasterxml.jackson.core.type.TypeReference<Map<String, Object>>() { });
        this.batchFields = fieldsOf(mapper, BatchRequest.class);
        this.defaultsFields = fieldsOf(mapper, BatchDefaults.class);
        this.itemFields = fieldsOf(mapper, BatchItem.class);
    }

    /**
     * The request in {@code body}.
     *
     * @throws InvalidRequestException naming every unknown or not yet supported field, or a body that is no object
     * @throws IOException when a field has the wrong type (the exception names its path)
     */
    public BatchRequest read(JsonNode body) throws IOException {
        if (body == null || body.isNull() || body.isMissingNode()) {
            throw InvalidRequestException.of("body", "is required: a JSON object with items");
        }
        if (!body.isObject()) {
            throw InvalidRequestException.of("body", "must be a JSON object, not " + kind(body));
        }
        List<FieldError> errors = new ArrayList<>();
        checkBatchFields(body, errors);
        JsonNode items = body.get("items");
        if (items != null && items.isArray()) {
            for (int i = 0; i < items.size(); i++) {
                checkFields("items[" + i + "]", items.get(i), itemFields, errors);
            }
        }
        if (!errors.isEmpty()) {
            throw new InvalidRequestException(errors);
        }
        return binder.readValue(body);
    }

    /**
     * The batch-level fields of a streamed catalogue (the object of its {@code {"batch": {…}}}
     * line), which holds no items; every problem is added to {@code errors}, named under
     * {@code path}. Null when there were problems.
     */
    BatchRequest readBatchFields(String path, JsonNode batch, List<FieldError> errors) {
        if (!batch.isObject()) {
            errors.add(new FieldError(path, "must be a JSON object of the batch-level fields, not " + kind(batch)));
            return null;
        }
        List<FieldError> own = new ArrayList<>();
        checkBatchFields(batch, own);
        if (batch.has("items")) {
            own.removeIf(e -> e.field().equals("items"));
            own.add(new FieldError("items", "does not belong on the batch line: each item is a line of its own"));
        }
        return bind(path, batch, binder, own, errors);
    }

    /**
     * The batch-level fields of a JSON body read as a stream ({@code batch} holds every field but
     * {@code items}), named as in a whole body ({@code defaults.size}); every problem is added to
     * {@code errors}. Null when there were problems.
     */
    BatchRequest readJsonBatchFields(JsonNode batch, List<FieldError> errors) {
        List<FieldError> own = new ArrayList<>();
        checkBatchFields(batch, own);
        return bind("", batch, binder, own, errors);
    }

    /** One item of a streamed catalogue, its fields named under {@code path}; null when it has problems (added to {@code errors}). */
    BatchItem readItem(String path, JsonNode item, List<FieldError> errors) {
        if (!item.isObject()) {
            errors.add(new FieldError(path, "must be a JSON object (one item), not " + kind(item)));
            return null;
        }
        List<FieldError> own = new ArrayList<>();
        checkFields("", item, itemFields, own);
        if (own.isEmpty()) {
            BatchItem plain = plainItem(item);
            if (plain != null) {
                return plain;
            }
        }
        return bind(path, item, itemBinder, own, errors);
    }

    /**
     * An item whose every field has its expected JSON type, read straight off its tree; null for
     * any other, which the full binder then reads and names the problem of. Intake reads every
     * item twice (to check it, then to stage it): binding the {@code @JsonUnwrapped} parameters,
     * which Jackson does by buffering every token of the item, was the dearest step of both.
     */
    private BatchItem plainItem(JsonNode item) {
        String id = null;
        String prompt = null;
        String mask = null;
        List<String> references = null;
        Map<String, Object> metadata = null;
        com.fasterxml.jackson.databind.node.ObjectNode parameters = null;
        for (Map.Entry<String, JsonNode> field : item.properties()) {
            JsonNode value = field.getValue();
            switch (field.getKey()) {
                case "id" -> {
                    if (!value.isTextual()) {
                        return null;
                    }
                    id = value.textValue();
                }
                case "prompt" -> {
                    if (!value.isTextual()) {
                        return null;
                    }
                    prompt = value.textValue();
                }
                case "mask" -> {
                    if (!value.isTextual()) {
                        return null;
                    }
                    mask = value.textValue();
                }
                case "reference_images" -> {
                    if (!value.isArray()) {
                        return null;
                    }
                    references = new ArrayList<>(value.size());
                    for (JsonNode reference : value) {
                        if (!reference.isTextual()) {
                            return null;
                        }
                        references.add(reference.textValue());
                    }
                }
                case "metadata" -> {
                    if (!value.isObject()) {
                        return null;
                    }
                    try {
                        metadata = metadataBinder.readValue(value);
                    } catch (IOException e) {
                        return null;
                    }
                }
                default -> {
                    if (parameters == null) {
                        parameters = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
                    }
                    parameters.set(field.getKey(), value);
                }
            }
        }
        ImageParameters own = ImageParameters.NONE;
        if (parameters != null) {
            try {
                own = parametersBinder.readValue(parameters);
            } catch (IOException e) {
                return null;
            }
        }
        return new BatchItem(id, prompt, own, references, mask, metadata);
    }

    private static <T> T bind(String path, JsonNode node, ObjectReader reader, List<FieldError> own, List<FieldError> errors) {
        if (own.isEmpty()) {
            try {
                return reader.readValue(node);
            } catch (JsonMappingException e) {
                own.add(new FieldError(jsonPath(e), firstLine(e.getOriginalMessage())));
            } catch (IOException e) {
                own.add(new FieldError("", String.valueOf(e.getMessage())));
            }
        }
        for (FieldError e : own) {
            String field = e.field().startsWith(".") ? e.field().substring(1) : e.field();
            errors.add(new FieldError(field.isEmpty() ? path : path.isEmpty() ? field : path + "." + field, e.reason()));
        }
        return null;
    }

    /** The path of the field a binding failed on, as {@code reference_images[2]}. */
    private static String jsonPath(JsonMappingException e) {
        StringBuilder path = new StringBuilder();
        for (JsonMappingException.Reference ref : e.getPath()) {
            if (ref.getFieldName() != null) {
                path.append(path.isEmpty() ? "" : ".").append(ref.getFieldName());
            } else {
                path.append('[').append(ref.getIndex()).append(']');
            }
        }
        return path.toString();
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "has the wrong type";
        }
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }

    private void checkBatchFields(JsonNode body, List<FieldError> errors) {
        for (Map.Entry<String, JsonNode> field : body.properties()) {
            String name = field.getKey();
            if (NOT_BUILT_YET.contains(name)) {
                errors.add(notBuiltYet(name));
            } else if (name.equals("webhook") && field.getValue().isObject()) {
                checkFields("webhook", field.getValue(), WEBHOOK_FIELDS, errors);
            } else if (!batchFields.contains(name)) {
                errors.add(unknown(name, name, batchFields));
            }
        }
        checkFields("defaults", body.get("defaults"), defaultsFields, errors);
    }

    private static void checkFields(String path, JsonNode node, Set<String> known, List<FieldError> errors) {
        if (node == null || !node.isObject()) {
            return; // absent, or of the wrong type: binding names it
        }
        for (Map.Entry<String, JsonNode> field : node.properties()) {
            String name = field.getKey();
            if (!known.contains(name)) {
                errors.add(unknown(path.isEmpty() ? name : path + "." + name, name, known));
            }
        }
    }

    private static FieldError notBuiltYet(String field) {
        return new FieldError(field, "is not supported yet by this Kiln; leave it out");
    }

    private static FieldError unknown(String path, String name, Set<String> known) {
        String closest = known.stream()
                .min(Comparator.comparingInt(k -> distance(k, name)))
                .filter(k -> distance(k, name) <= 2)
                .orElse(null);
        return new FieldError(path, "is not a known field" + (closest == null ? "" : "; did you mean " + closest + "?"));
    }

    private static String kind(JsonNode node) {
        return node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
    }

    /** The JSON names of {@code type}'s properties, with those of {@code @JsonUnwrapped} members in their place. */
    static Set<String> fieldsOf(ObjectMapper mapper, Class<?> type) {
        BeanDescription description = mapper.getSerializationConfig().introspect(mapper.constructType(type));
        Set<String> names = new LinkedHashSet<>();
        for (BeanPropertyDefinition property : description.findProperties()) {
            AnnotatedMember accessor = property.getAccessor();
            if (accessor != null && accessor.hasAnnotation(JsonUnwrapped.class)) {
                names.addAll(fieldsOf(mapper, accessor.getRawType()));
            } else {
                names.add(property.getName());
            }
        }
        return Set.copyOf(names);
    }

    /** Levenshtein distance, for the "did you mean" of a misspelt field. */
    private static int distance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                current[j] = Math.min(Math.min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }
}
