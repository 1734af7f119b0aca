// Live progress of one batch: GET /v1/batches/{id}/events (SSE, read with fetch so the key can be
// sent), else polling GET /v1/batches/{id} every 2 s when this Kiln answers 404/405 to /events.
// A browser opens at most 6 HTTP/1.1 connections to one host, so at most 3 streams run at once;
// further batches are polled until a stream slot frees.

import { get, readEvents } from './api.js';
import { isFinalBatch } from './ui.js';

const POLL_MS = 2000;
const MAX_STREAMS = 3;
const REFRESH_MS = 400;

/** null: not tried yet; true: offered; false: this Kiln answers 404/405, poll instead. */
let sseOffered = null;
let streams = 0;

/** How batches are being followed, for the page to say. */
export function liveMode() {
  return sseOffered === false ? 'polling' : 'sse';
}

/**
 * Follows batch `id`, calling onBatch(batch) with every fresh GET /v1/batches/{id} answer, and
 * onMode('sse' | 'polling') when the way of following changes. Returns a stop function.
 */
export function watchBatch(id, onBatch, onMode = () => {}) {
  const abort = new AbortController();
  let stopped = false;
  let lastEventId = null;
  let refreshTimer = null;
  let reading = null;
  let followUp = null;
  /** A retry reopened the batch after its final event: its stream has nothing more to send. */
  let reopened = false;

  const stop = () => {
    stopped = true;
    abort.abort();
    clearTimeout(refreshTimer);
  };

  // One read of the batch at a time, and every caller gets the answer of a read that began after
  // it asked: an event stream that ends while a read is under way must still learn the batch's
  // state as it is now, or it stops following a batch that a retry has just reopened.
  const read = async () => {
    try {
      const answer = await get(`/v1/batches/${encodeURIComponent(id)}`, { signal: abort.signal });
      if (answer.ok && !stopped) {
        onBatch(answer.body);
        if (isFinalBatch(answer.body.state)) {
          stop();
        }
        return answer.body;
      }
      if (answer.status === 404 || answer.status === 401) {
        stop();
      }
    } catch {
      // aborted
    }
    return null;
  };
  const refresh = () => {
    if (stopped) {
      return Promise.resolve(null);
    }
    if (!reading) {
      reading = read().finally(() => { reading = null; });
      return reading;
    }
    // The read under way may have begun before whatever prompted this call: one more follows it.
    if (!followUp) {
      followUp = reading.then(() => {
        followUp = null;
        return refresh();
      });
    }
    return followUp;
  };

  // Many events arrive in bursts: one batch read per REFRESH_MS is enough to show them.
  const scheduleRefresh = () => {
    if (!refreshTimer) {
      refreshTimer = setTimeout(() => { refreshTimer = null; refresh(); }, REFRESH_MS);
    }
  };

  const poll = async () => {
    onMode('polling');
    while (!stopped) {
      await refresh();
      if (stopped) {
        break;
      }
      if (!reopened && sseOffered !== false && streams < MAX_STREAMS) {
        // A stream slot is free again: go back to SSE.
        return stream();
      }
      await new Promise(r => setTimeout(r, POLL_MS));
    }
  };

  const stream = async () => {
    if (sseOffered === false || streams >= MAX_STREAMS) {
      return poll();
    }
    streams++;
    let fallback = false;
    try {
      while (!stopped) {
        let completed = false;
        lastEventId = await readEvents(`/v1/batches/${encodeURIComponent(id)}/events`, {
          signal: abort.signal,
          lastEventId,
          onOpen: () => { sseOffered = true; onMode('sse'); },
          onEvent: e => {
            if (e.event && e.event.endsWith('batch.completed')) {
              completed = true;
              refresh();
            } else {
              scheduleRefresh();
            }
          },
        });
        // The stream ends after the batch's final event; read the batch once more to be sure.
        const batch = await refresh();
        if (stopped || (batch && isFinalBatch(batch.state))) {
          break;
        }
        if (completed) {
          // It ended once and runs again (a retry reopened it): the stream stops at that first
          // end, so the batch is read every few seconds until it ends again.
          reopened = true;
          fallback = true;
          break;
        }
        await new Promise(r => setTimeout(r, 1000));
      }
    } catch (e) {
      if (e && e.notBuilt !== undefined) {
        if (e.notBuilt || e.status === 406) {
          sseOffered = false;
        }
        fallback = !stopped && e.status !== 401;
      } else if (!stopped && e?.name !== 'AbortError') {
        fallback = true;
      }
    } finally {
      streams--;
    }
    if (fallback) {
      return poll();
    }
    return undefined;
  };

  refresh().then(batch => {
    if (!stopped && batch && !isFinalBatch(batch.state)) {
      stream();
    }
  });
  return stop;
}
