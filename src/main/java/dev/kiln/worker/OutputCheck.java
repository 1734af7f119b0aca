package dev.kiln.worker;

import dev.kiln.image.CheckedImage;

import java.util.List;

/** What {@link OutputChecker} found in a provider's answer. */
sealed interface OutputCheck {

    /** Every image is what the job asked for. */
    record Passed(List<CheckedImage> images) implements OutputCheck {
    }

    /** An image is missing, wrong or unreadable: the provider's fault, retried like a 5xx. */
    record Rejected(String code, String message) implements OutputCheck {
    }
}
