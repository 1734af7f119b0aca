/**
 * Reference images of edits: the URL guard (SSRF) and fetching from URLs or the bucket.
 * Used by intake to check references and by the worker to read them.
 */
package dev.kiln.reference;
