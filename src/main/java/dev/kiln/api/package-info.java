/**
 * The edge: maps domain exceptions to RFC 9457 problem+json answers.
 * Only this package knows HTTP status codes; features throw their own exceptions.
 */
package dev.kiln.api;
