/**
 * S3-compatible storage: object keys, the object store, output uploads and metadata.
 * Object keys are built here only, so no id can leave its prefix.
 */
package dev.kiln.storage;
