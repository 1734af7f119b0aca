package dev.kiln.batch;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.job.FieldError;
import dev.kiln.job.ImageParameters;
import dev.kiln.job.InvalidRequestException;
import jakarta.enterprise.context.ApplicationScoped;

import java.io.IOException;
import java.io.InputStream;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Reads an {@code application/x-ndjson} catalogue as it streams: an optional first line
 * {@code {"batch": {…the batch-level fields…}}}, then one item a line (blank lines are skipped).
 * Each line is parsed, checked by the same rules as a JSON batch and written to a
 * {@link CatalogueSpool} as it arrives; only one line is ever in memory. Every problem names its
 * line, as {@code line 7.prompt} or {@code line 1.batch.defaults.size} (lines count from 1);
 * reading stops after {@value #MAX_ERRORS} problems.
 */
@ApplicationScoped
public class NdjsonCatalogueReader {

    /** Most problems one answer lists; the first hundred are enough to fix a generated file. */
    static final int MAX_ERRORS = 100;

    private final ObjectMapper mapper;
    private final BatchRequestReader fields;
    private final BatchValidator validator;
    private final IntakeConfig config;

    NdjsonCatalogueReader(ObjectMapper mapper, BatchValidator validator, IntakeConfig config) {
        this.mapper = mapper;
        this.fields = new BatchRequestReader(mapper);
        this.validator = validator;
        this.config = config;
    }

    /**
     * Reads, checks and spools {@code body} for {@code tenant}.
     *
     * @throws InvalidRequestException listing up to {@value #MAX_ERRORS} problems, each with its line
     */
    Catalogue read(InputStream body, String tenant, CatalogueSpool spool) throws IOException {
        MessageDigest sha = Catalogue.requestDigest();
        LineReader lines = new LineReader(new DigestInputStream(body, sha), config.maxLineBytes());
        List<FieldError> errors = new ArrayList<>();
        BatchRequest batch = new BatchRequest(null, null, List.of(), null);
        int batchLine = 0;
        boolean first = true;
        ItemIds ids = new ItemIds();
        int items = 0;
        long images = 0;
        boolean anyEdit = false;
        int defaultReferences = 0;
        ImageParameters base = BatchDefaults.NONE.parameters();
        while (errors.size() < MAX_ERRORS && lines.next()) {
            String path = "line " + lines.number();
            if (lines.tooLong()) {
                errors.add(new FieldError(path, "is longer than " + config.maxLineBytes() + " bytes"));
                first = false;
                continue;
            }
            if (lines.isBlank()) {
                continue;
            }
            JsonNode node;
            try {
                node = mapper.readTree(lines.bytes(), 0, lines.length());
            } catch (JsonProcessingException e) {
                errors.add(new FieldError(path, "is not valid JSON: " + firstLine(e.getOriginalMessage()) + column(e.getLocation())));
                first = false;
                continue;
            }
            if (node != null && node.isObject() && node.has("batch")) {
                if (!first) {
                    errors.add(new FieldError(path + ".batch", "may only be on the first line, before the items"));
                } else if (node.size() != 1) {
                    errors.add(new FieldError(path, "is the batch line: it holds \"batch\" and nothing else"));
                } else {
                    List<FieldError> found = new ArrayList<>();
                    BatchRequest read = fields.readBatchFields(path + ".batch", node.get("batch"), found);
                    if (read != null) {
                        Set<FieldError> rules = new LinkedHashSet<>();
                        defaultReferences = validator.validateBatchFields(read, tenant, rules);
                        rules.forEach(e -> found.add(new FieldError(path + ".batch." + e.field(), e.reason())));
                        batch = read;
                        batchLine = lines.number();
                        base = BatchValidator.defaultsOf(read).parameters();
                    }
                    errors.addAll(found);
                }
                first = false;
                continue;
            }
            first = false;
            items++;
            if (items > config.maxItems()) {
                errors.add(new FieldError(path, "is item " + items + ", but a batch holds at most " + config.maxItems()
                        + " items; split the catalogue into several batches"));
                break;
            }
            BatchItem item = fields.readItem(path, node == null ? mapper.missingNode() : node, errors);
            if (item == null) {
                continue;
            }
            Set<FieldError> rules = new LinkedHashSet<>();
            validator.validateItem(path, item, BatchValidator.defaultsOf(batch), tenant, ids, rules);
            String batchPath = batchPath(batchLine);
            // A rule broken by a default is the batch line's: name it there, not on every item.
            rules.forEach(e -> errors.add(e.field().startsWith("defaults") ? new FieldError(batchPath + "." + e.field(), e.reason()) : e));
            Integer n = base.overriddenBy(item.parameters()).n();
            images += n == null ? 1 : n;
            anyEdit |= BatchValidator.count(item.referenceImages()) > 0;
            if (errors.isEmpty()) {
                spool.add(lines.number(), lines.bytes(), lines.length());
            }
        }
        if (errors.isEmpty() && items == 0) {
            errors.add(new FieldError("body", "holds no item: send one JSON object a line, after an optional {\"batch\": {…}} line"));
        }
        if (errors.size() < MAX_ERRORS) {
            Set<FieldError> rules = new LinkedHashSet<>();
            validator.checkDefaultFidelity(batch, anyEdit || defaultReferences > 0, rules);
            String batchPath = batchPath(batchLine);
            rules.forEach(e -> errors.add(new FieldError(batchPath + "." + e.field(), e.reason())));
        }
        if (!errors.isEmpty()) {
            throw new InvalidRequestException(distinct(errors));
        }
        return new Catalogue(batch, true, batchLine, items, images, HexFormat.of().formatHex(sha.digest()));
    }

    /** An item line of the spool, read again (it passed {@link #read} before). */
    BatchItem item(CatalogueSpool.Line line) throws IOException {
        List<FieldError> errors = new ArrayList<>();
        BatchItem item = fields.readItem("line " + line.number(), mapper.readTree(line.bytes()), errors);
        if (item == null) {
            throw new InvalidRequestException(errors);
        }
        return item;
    }

    /** Where the batch-level fields are: the batch line, or a batch line there is not. */
    static String batchPath(int batchLine) {
        return batchLine == 0 ? "batch" : "line " + batchLine + ".batch";
    }

    private static List<FieldError> distinct(List<FieldError> errors) {
        List<FieldError> unique = new ArrayList<>(new LinkedHashSet<>(errors));
        return unique.size() > MAX_ERRORS ? unique.subList(0, MAX_ERRORS) : unique;
    }

    private static String column(JsonLocation at) {
        return at == null || at.getColumnNr() <= 0 ? "" : " (at column " + at.getColumnNr() + ")";
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "unreadable";
        }
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }
}
