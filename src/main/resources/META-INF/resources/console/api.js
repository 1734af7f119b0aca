// Calls to Kiln's REST API. The key lives in sessionStorage only (never in a URL) and goes out
// as Authorization: Bearer; a 401 sends the console back to the key prompt.

const KEY = 'kiln.key';
const SUBMITTED = 'kiln.submitted';

export function apiKey() {
  return sessionStorage.getItem(KEY);
}

export function setApiKey(key) {
  if (key) {
    sessionStorage.setItem(KEY, key);
  } else {
    sessionStorage.removeItem(KEY);
  }
}

function headers(extra = {}) {
  const h = { Accept: 'application/json, application/problem+json', ...extra };
  const key = apiKey();
  if (key) {
    h.Authorization = `Bearer ${key}`;
  }
  return h;
}

/** An answer: status, ok, the parsed JSON body (or null), and the problem when it is an error. */
export class Answer {
  constructor(status, body, response) {
    this.status = status;
    this.ok = status >= 200 && status < 300;
    this.body = body;
    this.response = response;
  }

  /** 404 or 405: the path is not offered by this Kiln (yet). */
  get notBuilt() {
    return this.status === 404 || this.status === 405 || this.status === 501;
  }

  /** A sentence for a person. */
  get message() {
    const b = this.body;
    if (b && typeof b === 'object') {
      return b.detail || b.title || `HTTP ${this.status}`;
    }
    return `HTTP ${this.status}`;
  }

  /** The problem's field errors: [{field, reason}]. */
  get errors() {
    return (this.body && Array.isArray(this.body.errors)) ? this.body.errors : [];
  }
}

/**
 * Calls Kiln. `path` starts with /v1; `query` values that are empty are left out. A 401 fires
 * `kiln:unauthorized` on window, which the app turns into the key prompt.
 */
export async function call(method, path, { query, body, headers: extra, signal, raw } = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') {
      url.searchParams.set(k, v);
    }
  }
  const init = { method, headers: headers(extra), signal, cache: 'no-store' };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers['Content-Type'] = init.headers['Content-Type'] || 'application/json';
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (e) {
    if (e.name === 'AbortError') {
      throw e;
    }
    return new Answer(0, { detail: `Kiln could not be reached (${e.message})` }, null);
  }
  if (response.status === 401) {
    window.dispatchEvent(new CustomEvent('kiln:unauthorized'));
  }
  if (raw) {
    return new Answer(response.status, null, response);
  }
  const text = await response.text();
  let parsed = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { detail: text.slice(0, 200) };
    }
  }
  return new Answer(response.status, parsed, response);
}

export const get = (path, opts) => call('GET', path, opts);
export const post = (path, opts) => call('POST', path, opts);

/** Batches submitted from this browser tab, newest first: the list when GET /v1/batches is not offered. */
export function submittedBatches() {
  try {
    return JSON.parse(sessionStorage.getItem(SUBMITTED) || '[]');
  } catch {
    return [];
  }
}

export function rememberSubmitted(id) {
  const ids = submittedBatches().filter(x => x !== id);
  ids.unshift(id);
  sessionStorage.setItem(SUBMITTED, JSON.stringify(ids.slice(0, 200)));
}

/**
 * Reads a server-sent event stream with fetch, so that the bearer key can be sent (EventSource
 * cannot send headers). Calls onEvent({event, data, id}) per event; resolves when the stream
 * ends, with the last event id seen. Rejects with the Answer when the server refuses the stream.
 */
export async function readEvents(path, { onEvent, onOpen, signal, lastEventId } = {}) {
  const extra = { Accept: 'text/event-stream' };
  if (lastEventId) {
    extra['Last-Event-ID'] = lastEventId;
  }
  const response = await fetch(new URL(path, location.origin), { headers: headers(extra), signal, cache: 'no-store' });
  if (response.status === 401) {
    window.dispatchEvent(new CustomEvent('kiln:unauthorized'));
  }
  const type = response.headers.get('Content-Type') || '';
  if (!response.ok || !type.startsWith('text/event-stream') || !response.body) {
    throw new Answer(response.status, null, response);
  }
  if (onOpen) {
    onOpen();
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let last = lastEventId || null;
  let event = { event: 'message', data: [], id: null };
  const dispatch = () => {
    if (event.data.length > 0) {
      if (event.id !== null) {
        last = event.id;
      }
      onEvent({ event: event.event, data: event.data.join('\n'), id: event.id ?? last });
    }
    event = { event: 'message', data: [], id: null };
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) {
      break;
    }
    buffer += value;
    let nl;
    while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + (buffer.startsWith('\r\n', nl) ? 2 : 1));
      if (line === '') {
        dispatch();
        continue;
      }
      if (line.startsWith(':')) {
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let val = colon < 0 ? '' : line.slice(colon + 1);
      if (val.startsWith(' ')) {
        val = val.slice(1);
      }
      if (field === 'event') {
        event.event = val;
      } else if (field === 'data') {
        event.data.push(val);
      } else if (field === 'id' && !val.includes('\0')) {
        event.id = val;
      }
    }
  }
  return last;
}
