package dev.kiln.job;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RenderKeyTest {

    private static final String A = "a".repeat(64);
    private static final String B = "b".repeat(64);
    private static final String C = "c".repeat(64);
    private static final ImageParameters BASE = new ImageParameters("gpt-image-2", "1024x1024", "low", "opaque",
            "png", null, "auto", 1, null);

    private static RenderKey key(String prompt, ImageParameters p, List<String> refs, String mask) {
        return RenderKey.of(prompt, p, refs, mask);
    }

    @Test
    void theSameRenderHasTheSameKeyHoweverItsParametersWereGiven() {
        ImageParameters defaults = new ImageParameters("gpt-image-2", "1536x1024", "low", null, "png", null, "auto", null, null);
        ImageParameters override = new ImageParameters(null, "1024x1024", null, "opaque", null, null, null, 1, null);
        assertThat(key("a mug", defaults.overriddenBy(override), List.of(), null))
                .isEqualTo(key("a mug", BASE, List.of(), null));
        assertThat(key("a mug", BASE, List.of(A, B), C)).isEqualTo(key("a mug", BASE, List.of(A.toUpperCase(), B), C));
        assertThat(key("a mug", BASE, List.of(), null).hex()).hasSize(64).matches("[0-9a-f]{64}");
    }

    @Test
    void nUnsetRendersTheSameAsNOne() {
        ImageParameters unset = new ImageParameters("gpt-image-2", "1024x1024", "low", "opaque", "png", null, "auto", null, null);
        assertThat(key("a mug", unset, List.of(), null)).isEqualTo(key("a mug", BASE, List.of(), null));
    }

    @Test
    void everyParameterPromptReferenceAndMaskChangesTheKey() {
        List<RenderKey> keys = new ArrayList<>();
        keys.add(key("a mug", BASE, List.of(), null));
        keys.add(key("a mug ", BASE, List.of(), null));
        keys.add(key("A mug", BASE, List.of(), null));
        keys.add(key("a mug", new ImageParameters("gpt-image-1.5", "1024x1024", "low", "opaque", "png", null, "auto", 1, null), List.of(), null));
        keys.add(key("a mug", new ImageParameters("gpt-image-2", "1024x1536", "low", "opaque", "png", null, "auto", 1, null), List.of(), null));
        keys.add(key("a mug", new ImageParameters("gpt-image-2", "1024x1024", "high", "opaque", "png", null, "auto", 1, null), List.of(), null));
        keys.add(key("a mug", new ImageParameters("gpt-image-2", "1024x1024", "low", "auto", "png", null, "auto", 1, null), List.of(), null));
        keys.add(key("a mug", new ImageParameters("gpt-image-2", "1024x1024", "low", null, "png", null, "auto", 1, null), List.of(), null));
        keys.add(key("a mug", new ImageParameters("gpt-image-2", "1024x1024", "low", "opaque", "webp", null, "auto", 1, null), List.of(), null));
        keys.add(key("a mug", new ImageParameters("gpt-image-2", "1024x1024", "low", "opaque", "webp", 80, "auto", 1, null), List.of(), null));
        keys.add(key("a mug", new ImageParameters("gpt-image-2", "1024x1024", "low", "opaque", "png", null, "low", 1, null), List.of(), null));
        keys.add(key("a mug", new ImageParameters("gpt-image-2", "1024x1024", "low", "opaque", "png", null, "auto", 2, null), List.of(), null));
        keys.add(key("a mug", new ImageParameters("gpt-image-2", "1024x1024", "low", "opaque", "png", null, "auto", 1, "high"), List.of(), null));
        keys.add(key("a mug", BASE, List.of(A), null));
        keys.add(key("a mug", BASE, List.of(B), null));
        keys.add(key("a mug", BASE, List.of(A, B), null));
        keys.add(key("a mug", BASE, List.of(B, A), null)); // the first reference is the one a mask applies to
        keys.add(key("a mug", BASE, List.of(A), C));
        keys.add(key("a mug", BASE, List.of(A), B));
        Set<RenderKey> distinct = new HashSet<>(keys);
        assertThat(distinct).hasSize(keys.size());
    }

    @Test
    void noPromptCanForgeAFieldBoundary() {
        // Without length prefixes the prompt could swallow the next field's name and value.
        RenderKey plain = key("a mug", BASE, List.of(), null);
        RenderKey forged = key("a mug5:model11:gpt-image-2", BASE, List.of(), null);
        assertThat(forged).isNotEqualTo(plain);
        assertThat(key("x", BASE, List.of(), null)).isNotEqualTo(key("", BASE, List.of(), null));
    }

    @Test
    void aDigestMustBeHex() {
        assertThatThrownBy(() -> key("a mug", BASE, List.of("not-a-digest"), null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new RenderKey("../other-tenant")).isInstanceOf(IllegalArgumentException.class);
    }
}
