/**
 * gpt-image-2's rules (sizes, formats, tokens) and image probing and decoding.
 * Shared by intake, the worker and the simulator.
 */
package dev.kiln.image;
