/**
 * Reference image uploads: decoded, checked and stored in S3 for later edits.
 * Batches name an upload by its id.
 */
package dev.kiln.upload;
