package dev.kiln.simulator;

import dev.kiln.image.Dimensions;
import dev.kiln.image.ImageFormat;
import dev.kiln.image.ImageInfo;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The images of one accepted request and the fields OpenAI sends after {@code data}
 * ({@code background}, {@code output_format}, {@code quality}, {@code size}, {@code usage}), shared
 * by the synchronous endpoints and the Batch API's output lines.
 *
 * @param images   the encoded images, in order
 * @param metadata the answer's fields after {@code data}
 * @param usage    the tokens in {@code metadata}'s {@code usage}
 */
record ImageAnswer(List<byte[]> images, Map<String, Object> metadata, TokenUsage usage) {

    /** Renders {@code request}; {@link Fault#WRONG_SIZE} and {@link Fault#TRUNCATED_B64} spoil the images. */
    static ImageAnswer render(RenderRequest request, Fault fault, SimulatorServer server) {
        var input = request.input();
        Dimensions size = Dimensions.resolve(input.size());
        Dimensions drawn = fault == Fault.WRONG_SIZE ? halved(size) : size;
        ImageFormat format = input.outputFormat() == null ? ImageFormat.PNG : ImageFormat.fromName(input.outputFormat());
        boolean transparent = "transparent".equals(input.background());
        String quality = quality(request);
        List<byte[]> images = new ArrayList<>();
        for (int i = 0; i < request.n(); i++) {
            byte[] image = ImageRenderer.render(request.prompt(), i, drawn, format, transparent, input.outputCompression());
            if (format == ImageFormat.PNG) {
                image = PngPadding.padTo(image, server.settings().minPngBytes());
            }
            server.countRender();
            images.add(fault == Fault.TRUNCATED_B64 ? Arrays.copyOf(image, image.length / 2 / 3 * 3) : image);
        }
        TokenUsage usage = TokenUsage.of(request.prompt(),
                request.inputImages().stream().map(ImageInfo::dimensions).toList(), size, quality, request.n());
        Map<String, Object> metadata = new LinkedHashMap<>();
        metadata.put("background", transparent ? "transparent" : "opaque");
        metadata.put("output_format", format.apiName());
        metadata.put("quality", quality);
        metadata.put("size", size.toString());
        metadata.put("usage", usageJson(usage));
        return new ImageAnswer(List.copyOf(images), metadata, usage);
    }

    /** {@code usage} as OpenAI spells it. */
    static Map<String, Object> usageJson(TokenUsage usage) {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("text_tokens", usage.textTokens());
        details.put("image_tokens", usage.imageTokens());
        Map<String, Object> usageJson = new LinkedHashMap<>();
        usageJson.put("input_tokens", usage.inputTokens());
        usageJson.put("input_tokens_details", details);
        usageJson.put("output_tokens", usage.outputTokens());
        usageJson.put("total_tokens", usage.totalTokens());
        return usageJson;
    }

    /** The quality rendered: {@code auto} and none render at medium. */
    static String quality(RenderRequest request) {
        String quality = request.input().quality();
        return quality == null || quality.equals("auto") ? "medium" : quality;
    }

    private static Dimensions halved(Dimensions size) {
        return new Dimensions(Math.max(16, size.width() / 2), Math.max(16, size.height() / 2));
    }
}
