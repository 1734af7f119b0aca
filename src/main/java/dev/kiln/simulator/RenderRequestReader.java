package dev.kiln.simulator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.image.ImageFormat;
import dev.kiln.image.ImageInfo;
import dev.kiln.image.ImageProbe;
import dev.kiln.job.ImageParameters;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Reads the two request bodies, a JSON generation and a multipart edit, refusing what OpenAI
 * refuses before any model rule applies: malformed bodies, unknown parameters, wrong types, a
 * missing model or prompt, and input images that are no images.
 */
final class RenderRequestReader {

    /** The most input images of one edit. */
    static final int MAX_INPUT_IMAGES = 16;
    /** The largest input image OpenAI accepts for gpt-image models. */
    static final int MAX_INPUT_IMAGE_BYTES = 50 * 1024 * 1024;

    private static final Set<String> GENERATION_PARAMS = Set.of("model", "prompt", "n", "size", "quality",
            "background", "output_format", "output_compression", "moderation", "user");
    private static final Set<String> EDIT_PARAMS = Set.of("model", "prompt", "n", "size", "quality",
            "background", "output_format", "output_compression", "moderation", "user", "input_fidelity");
    private static final Set<String> INTEGER_PARAMS = Set.of("n", "output_compression");

    private final ObjectMapper json;

    RenderRequestReader(ObjectMapper json) {
        this.json = json;
    }

    RenderRequest readGeneration(byte[] body, String contentType, RequestContext context) throws ApiError {
        if (contentType == null || !contentType.toLowerCase().contains("json")) {
            throw ApiError.invalid(null, "invalid_content_type", "Expected Content-Type application/json.");
        }
        JsonNode root;
        try {
            root = json.readTree(body);
        } catch (IOException e) {
            throw ApiError.invalid(null, "invalid_json", "We could not parse the JSON body of your request.");
        }
        if (root == null || !root.isObject()) {
            throw ApiError.invalid(null, "invalid_json", "The body of your request must be a JSON object.");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            if (!GENERATION_PARAMS.contains(field.getKey())) {
                throw unknownParameter(field.getKey());
            }
            JsonNode value = field.getValue();
            if (value.isNull()) {
                continue;
            }
            boolean wantsInteger = INTEGER_PARAMS.contains(field.getKey());
            if (wantsInteger && !(value.isIntegralNumber() && value.canConvertToInt())) {
                throw ApiError.invalid(field.getKey(), "invalid_type", field.getKey() + " must be an integer.");
            }
            if (!wantsInteger && !value.isTextual()) {
                throw ApiError.invalid(field.getKey(), "invalid_type", field.getKey() + " must be a string.");
            }
            String text = value.asText();
            if (field.getKey().equals("prompt")) {
                context.prompt = text;
            } else {
                context.params.put(field.getKey(), text);
            }
        }
        return new RenderRequest(context.prompt, input(context), List.of(), null);
    }

    RenderRequest readEdit(byte[] body, String contentType, RequestContext context) throws ApiError {
        String boundary = MultipartForm.boundaryOf(contentType).orElseThrow(() -> ApiError.invalid(null,
                "invalid_content_type", "Expected Content-Type multipart/form-data with a boundary."));
        List<MultipartForm.Part> parts;
        try {
            parts = MultipartForm.parse(body, boundary);
        } catch (MultipartForm.MalformedException e) {
            throw ApiError.invalid(null, "invalid_multipart", "Malformed multipart body: " + e.getMessage());
        }
        List<MultipartForm.Part> images = new ArrayList<>();
        MultipartForm.Part mask = null;
        for (MultipartForm.Part part : parts) {
            switch (part.name()) {
                case "image", "image[]" -> images.add(part);
                case "mask" -> mask = part;
                case "prompt" -> context.prompt = part.text();
                default -> {
                    if (!EDIT_PARAMS.contains(part.name())) {
                        throw unknownParameter(part.name());
                    }
                    context.params.put(part.name(), part.text());
                }
            }
        }
        return edit(context, images, mask);
    }

    /**
     * An edit in JSON, as the Batch API carries it (OpenAI's {@code EditImageBodyJsonParam}):
     * {@code images} is an array of references and {@code mask} one reference, each
     * {@code {"image_url": ...}} (a {@code data:} URL with base64 content, or an http(s) URL fetched
     * here) or {@code {"file_id": ...}} (a file uploaded to {@code /v1/files}).
     */
    RenderRequest readJsonEdit(byte[] body, RequestContext context, FileStore files) throws ApiError {
        JsonNode root;
        try {
            root = json.readTree(body);
        } catch (IOException e) {
            throw ApiError.invalid(null, "invalid_json", "We could not parse the JSON body of your request.");
        }
        if (root == null || !root.isObject()) {
            throw ApiError.invalid(null, "invalid_json", "The body of your request must be a JSON object.");
        }
        List<MultipartForm.Part> images = new ArrayList<>();
        MultipartForm.Part mask = null;
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            String name = field.getKey();
            JsonNode value = field.getValue();
            if (value.isNull()) {
                continue;
            }
            switch (name) {
                case "images" -> {
                    if (!value.isArray()) {
                        throw ApiError.invalid("images", "invalid_type", "images must be an array of image references.");
                    }
                    for (JsonNode reference : value) {
                        images.add(ImageReferences.resolve(reference, "images", files));
                    }
                }
                case "mask" -> mask = ImageReferences.resolve(value, "mask", files);
                case "prompt" -> {
                    if (!value.isTextual()) {
                        throw ApiError.invalid(name, "invalid_type", "prompt must be a string.");
                    }
                    context.prompt = value.asText();
                }
                default -> {
                    if (!EDIT_PARAMS.contains(name)) {
                        throw unknownParameter(name);
                    }
                    boolean wantsInteger = INTEGER_PARAMS.contains(name);
                    if (wantsInteger && !(value.isIntegralNumber() && value.canConvertToInt())) {
                        throw ApiError.invalid(name, "invalid_type", name + " must be an integer.");
                    }
                    if (!wantsInteger && !value.isTextual()) {
                        throw ApiError.invalid(name, "invalid_type", name + " must be a string.");
                    }
                    context.params.put(name, value.asText());
                }
            }
        }
        return edit(context, images, mask);
    }

    /** The checks common to both edit bodies, from the images on. */
    private RenderRequest edit(RequestContext context, List<MultipartForm.Part> images, MultipartForm.Part mask)
            throws ApiError {
        context.imageCount = images.size();
        context.hasMask = mask != null;
        images.forEach(image -> context.imageSha256s.add(Hashes.sha256Hex(image.body())));
        context.maskSha256 = mask == null ? null : Hashes.sha256Hex(mask.body());
        for (String name : INTEGER_PARAMS) {
            String value = context.params.get(name);
            if (value != null && !value.trim().matches("-?[0-9]{1,9}")) {
                throw ApiError.invalid(name, "invalid_type", name + " must be an integer.");
            }
        }
        ImageParameters input = input(context);
        if (images.isEmpty()) {
            throw ApiError.invalid("image", "missing_required_parameter", "Missing required parameter: 'image'.");
        }
        if (images.size() > MAX_INPUT_IMAGES) {
            throw ApiError.invalid("image", "invalid_value", "image must have 1 to 16 files, got " + images.size() + ".");
        }
        List<ImageInfo> infos = new ArrayList<>();
        for (MultipartForm.Part image : images) {
            infos.add(probeInputImage(image, "image"));
        }
        ImageInfo maskInfo = null;
        if (mask != null) {
            maskInfo = probeInputImage(mask, "mask");
            if (maskInfo.format() != ImageFormat.PNG) {
                throw ApiError.invalid("mask", "invalid_image_format", "The mask must be a PNG image.");
            }
            if (!maskInfo.dimensions().equals(infos.get(0).dimensions())) {
                throw ApiError.invalid("mask", "invalid_value", "Invalid mask image: the mask is "
                        + maskInfo.size() + " but the first image is " + infos.get(0).size() + "; they must match.");
            }
        }
        return new RenderRequest(context.prompt, input, List.copyOf(infos), maskInfo);
    }

    private static ImageInfo probeInputImage(MultipartForm.Part part, String param) throws ApiError {
        if (part.body().length > MAX_INPUT_IMAGE_BYTES) {
            throw ApiError.invalid(param, "image_too_large", "Each image must be smaller than 50 MB.");
        }
        Optional<ImageInfo> info = ImageProbe.probe(part.body());
        if (info.isEmpty()) {
            throw ApiError.invalid(param, "invalid_image_format", "Invalid image file or mode for "
                    + (part.filename() == null ? param : "'" + part.filename() + "'")
                    + ": it must be a PNG, JPEG or WebP image.");
        }
        return info.get();
    }

    /** The parameters read so far, requiring a model and a prompt. */
    private static ImageParameters input(RequestContext context) throws ApiError {
        Map<String, String> p = context.params;
        // OpenAI falls back to dall-e-2 without a model, which refuses gpt-image parameters: a
        // client that forgets the model is broken, so the simulator says so at once.
        if (p.get("model") == null) {
            throw ApiError.invalid("model", "missing_required_parameter", "Missing required parameter: 'model'.");
        }
        if (context.prompt == null) {
            throw ApiError.invalid("prompt", "missing_required_parameter", "Missing required parameter: 'prompt'.");
        }
        return new ImageParameters(p.get("model"), p.get("size"), p.get("quality"),
                p.get("background"), p.get("output_format"), integer(p.get("output_compression")),
                p.get("moderation"), integer(p.get("n")), p.get("input_fidelity"));
    }

    private static Integer integer(String text) {
        return text == null ? null : Integer.valueOf(text.trim());
    }

    private static ApiError unknownParameter(String name) {
        return ApiError.invalid(name, "unknown_parameter", "Unknown parameter: '" + name + "'.");
    }
}
