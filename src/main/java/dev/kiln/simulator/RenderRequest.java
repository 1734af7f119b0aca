package dev.kiln.simulator;

import dev.kiln.image.GptImageRules;
import dev.kiln.image.ImageInfo;

import java.util.List;

/**
 * A generation or edit request as read off the wire, before the model's rules are applied.
 *
 * @param input       the parameters, for {@link GptImageRules#validate(GptImageRules.Input)}
 * @param inputImages the edit's images in order; empty for a generation
 * @param mask        the edit's mask, null without one
 */
record RenderRequest(GptImageRules.Input input, List<ImageInfo> inputImages, ImageInfo mask) {

    String prompt() {
        return input.prompt();
    }

    int n() {
        return input.n() == null ? 1 : input.n();
    }
}
