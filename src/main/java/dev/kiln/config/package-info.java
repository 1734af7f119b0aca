/**
 * Kiln-wide settings: the role a process plays and the configuration that follows from it.
 * Each feature's own settings stay in its package.
 */
package dev.kiln.config;
