package dev.kiln.upload;

/**
 * A stored reference upload, as {@code POST /v1/uploads} and {@code GET /v1/uploads/{id}} show it.
 *
 * @param id          upload id ({@code upl_...}), usable in {@code reference_images} and {@code mask}
 * @param objectKey   where it is stored: {@code {tenant}/uploads/{id}}
 * @param contentType {@code image/png}, {@code image/jpeg} or {@code image/webp}, from the decoded image
 * @param bytes       size of the file
 * @param width       pixels
 * @param height      pixels
 * @param sha256      hex SHA-256 of the file
 */
public record Upload(String id, String objectKey, String contentType, long bytes, int width, int height,
                     String sha256) {
}
