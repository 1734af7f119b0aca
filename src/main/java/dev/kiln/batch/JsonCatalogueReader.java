package dev.kiln.batch;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.job.FieldError;
import dev.kiln.job.ImageParameters;
import dev.kiln.job.InvalidRequestException;
import jakarta.enterprise.context.ApplicationScoped;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Reads an {@code application/json} batch as it streams, with Jackson's streaming parser: the
 * batch-level fields are kept (they are small), and each element of {@code items} is parsed,
 * checked by the same rules as before and written to a {@link CatalogueSpool} one at a time, so
 * the heap holds one item, not the catalogue. Problems are named as in a whole body
 * ({@code items[3].size}, {@code defaults.quality}); reading stops after
 * {@value NdjsonCatalogueReader#MAX_ERRORS} of them.
 *
 * <p>The item rules read the defaults. They are checked as each item arrives with the batch-level
 * fields that came before {@code items}, which is every field in the usual order; a body that puts
 * a batch-level field after its items has them checked again from the spool once its end is read.
 */
@ApplicationScoped
public class JsonCatalogueReader {

    private final ObjectMapper mapper;
    private final BatchRequestReader fields;
    private final BatchValidator validator;
    private final IntakeConfig config;

    JsonCatalogueReader(ObjectMapper mapper, BatchValidator validator, IntakeConfig config) {
        this.mapper = mapper;
        this.fields = new BatchRequestReader(mapper);
        this.validator = validator;
        this.config = config;
    }

    /**
     * Reads, checks and spools {@code body} for {@code tenant}.
     *
     * @throws InvalidRequestException listing up to {@value NdjsonCatalogueReader#MAX_ERRORS} problems
     * @throws com.fasterxml.jackson.core.JsonProcessingException when the body is not JSON (it names the line and column)
     */
    Catalogue read(InputStream body, String tenant, CatalogueSpool spool) throws IOException {
        MessageDigest sha = Catalogue.requestDigest();
        try (JsonParser parser = mapper.createParser(body)) {
            // The resource reads on past the value and closes the body itself; closing it here
            // would count as a body left unread and close the connection.
            parser.disable(JsonParser.Feature.AUTO_CLOSE_SOURCE);
            JsonToken first = parser.nextToken();
            if (first == null || first == JsonToken.VALUE_NULL) {
                throw InvalidRequestException.of("body", "is required: a JSON object with items");
            }
            if (first != JsonToken.START_OBJECT) {
                throw InvalidRequestException.of("body", "must be a JSON object, not " + kind(first));
            }
            Reading reading = new Reading(tenant, spool, sha);
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String name = parser.currentName();
                parser.nextToken();
                if (!name.equals("items")) {
                    reading.batchField(name, mapper.readTree(parser));
                } else if (reading.itemsSeen) {
                    reading.errors.add(new FieldError("items", "is given twice"));
                    parser.skipChildren();
                } else if (parser.currentToken() != JsonToken.START_ARRAY) {
                    reading.itemsSeen = true;
                    reading.errors.add(new FieldError("items", "must be an array of items, not " + kind(parser.currentToken())));
                    parser.skipChildren();
                } else {
                    reading.startItems();
                    while (parser.nextToken() != JsonToken.END_ARRAY) {
                        if (!reading.item(mapper.readTree(parser))) {
                            break; // too many problems, or too many items: stop reading here
                        }
                    }
                    if (reading.stopped) {
                        break;
                    }
                }
            }
            return reading.end();
        }
    }

    /** The state of one body's read. */
    private final class Reading {
        final String tenant;
        final CatalogueSpool spool;
        final MessageDigest sha;
        final ObjectNode batchNode = mapper.createObjectNode();
        /** Problems of the batch-level fields, found again if one comes after the items. */
        List<FieldError> batchErrors = new ArrayList<>();
        /** Problems of the items' form (unknown fields, wrong types) and of {@code items} itself. */
        final List<FieldError> errors = new ArrayList<>();
        /** The item rules' problems, apart: they are found again if the defaults come late. */
        final List<FieldError> ruleErrors = new ArrayList<>();
        BatchRequest batch = new BatchRequest(null, null, null, null);
        boolean batchReadable = true;
        boolean bound;
        boolean itemsSeen;
        boolean fieldAfterItems;
        boolean stopped;
        int items;
        long images;
        boolean anyEdit;
        ItemIds ids = new ItemIds();
        ImageParameters base = BatchDefaults.NONE.parameters();

        Reading(String tenant, CatalogueSpool spool, MessageDigest sha) {
            this.tenant = tenant;
            this.spool = spool;
            this.sha = sha;
        }

        void batchField(String name, JsonNode value) {
            batchNode.set(name, value);
            fieldAfterItems |= itemsSeen;
        }

        /** The items begin: the batch-level fields read so far are what they are checked against. */
        void startItems() {
            itemsSeen = true;
            bindBatch();
        }

        private void bindBatch() {
            bound = true;
            List<FieldError> found = new ArrayList<>();
            BatchRequest read = fields.readJsonBatchFields(batchNode, found);
            batchReadable = read != null;
            batch = read == null ? new BatchRequest(null, null, null, null) : read;
            base = BatchValidator.defaultsOf(batch).parameters();
            if (read != null) {
                Set<FieldError> rules = new LinkedHashSet<>();
                validator.validateBatchFields(read, tenant, rules);
                found.addAll(rules);
            }
            batchErrors = found;
        }

        /** Reads one item; false when reading should stop. */
        boolean item(JsonNode node) throws IOException {
            int index = items++;
            if (items > config.maxItems()) {
                errors.add(new FieldError("items", "must hold at most " + config.maxItems()
                        + " items; split the catalogue into several batches"));
                stopped = true;
                return false;
            }
            String path = Catalogue.itemPath(false, index);
            BatchItem item = fields.readItem(path, node == null ? mapper.missingNode() : node, errors);
            if (item != null) {
                byte[] bytes = mapper.writeValueAsBytes(node);
                sha.update(bytes);
                spool.add(index, bytes, bytes.length);
                check(path, item);
            }
            // Only the items' form stops the read: a rule's problem may yet go away with a late default.
            if (errors.size() >= NdjsonCatalogueReader.MAX_ERRORS) {
                stopped = true;
                return false;
            }
            return true;
        }

        private void check(String path, BatchItem item) {
            Set<FieldError> rules = new LinkedHashSet<>();
            validator.validateItem(path, item, BatchValidator.defaultsOf(batch), tenant, ids, rules);
            if (ruleErrors.size() < NdjsonCatalogueReader.MAX_ERRORS) {
                ruleErrors.addAll(rules);
            }
            Integer n = base.overriddenBy(item.parameters()).n();
            images += n == null ? 1 : n;
            anyEdit |= BatchValidator.count(item.referenceImages()) > 0;
        }

        Catalogue end() throws IOException {
            if (!stopped && (fieldAfterItems || !bound)) {
                // Some batch-level fields came after the items: check the items again against them all.
                bindBatch();
                if (fieldAfterItems) {
                    recheckSpooledItems();
                }
            }
            List<FieldError> all = new ArrayList<>(batchErrors);
            all.addAll(errors);
            all.addAll(ruleErrors);
            if (items == 0 && !stopped && all.stream().noneMatch(e -> e.field().equals("items"))) {
                all.add(new FieldError("items", "must hold at least one item"));
            }
            if (all.size() < NdjsonCatalogueReader.MAX_ERRORS && batchReadable) {
                Set<FieldError> rules = new LinkedHashSet<>();
                int defaultReferences = BatchValidator.count(BatchValidator.defaultsOf(batch).referenceImages());
                validator.checkDefaultFidelity(batch, anyEdit || defaultReferences > 0, rules);
                all.addAll(rules);
            }
            if (!all.isEmpty()) {
                List<FieldError> unique = new ArrayList<>(new LinkedHashSet<>(all));
                throw new InvalidRequestException(unique.size() > NdjsonCatalogueReader.MAX_ERRORS
                        ? unique.subList(0, NdjsonCatalogueReader.MAX_ERRORS) : unique);
            }
            sha.update(mapper.writeValueAsBytes(batchNode));
            return new Catalogue(batch, false, 0, items, images, HexFormat.of().formatHex(sha.digest()));
        }

        private void recheckSpooledItems() throws IOException {
            ruleErrors.clear();
            ids = new ItemIds();
            images = 0;
            anyEdit = false;
            try (CatalogueSpool.Reader lines = spool.reader()) {
                CatalogueSpool.Line line;
                while ((line = lines.next()) != null) {
                    List<FieldError> ignored = new ArrayList<>();
                    BatchItem item = fields.readItem("", mapper.readTree(line.bytes()), ignored);
                    if (item != null) {
                        check(Catalogue.itemPath(false, line.number()), item);
                    }
                }
            }
        }
    }

    /** The JSON type a value starts with, as a problem names it. */
    private static String kind(JsonToken token) {
        return switch (token) {
            case START_ARRAY -> "array";
            case START_OBJECT -> "object";
            case VALUE_STRING -> "string";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "number";
            case VALUE_TRUE, VALUE_FALSE -> "boolean";
            case VALUE_NULL -> "null";
            default -> token.asString() == null ? token.name().toLowerCase(java.util.Locale.ROOT) : token.asString();
        };
    }
}
