/**
 * The render worker: consumes jobs, runs each through the provider and storage, and reports its state.
 * RenderJobProcessor is the order of steps; RenderWorker maps its outcome to ack, nack or hold.
 */
package dev.kiln.worker;
