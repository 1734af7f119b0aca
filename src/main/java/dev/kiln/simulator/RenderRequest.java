package dev.kiln.simulator;

import dev.kiln.image.GptImageRules;
import dev.kiln.image.ImageInfo;
import dev.kiln.job.ImageParameters;

import java.util.List;

/**
 * A generation or edit request as read off the wire, before the model's rules are applied.
 *
 * @param prompt      the prompt
 * @param input       the parameters, for {@link GptImageRules#validate(String, ImageParameters)}
 * @param inputImages the edit's images in order; empty for a generation
 * @param mask        the edit's mask, null without one
 */
record RenderRequest(String prompt, ImageParameters input, List<ImageInfo> inputImages, ImageInfo mask) {

    int n() {
        return input.n() == null ? 1 : input.n();
    }
}
