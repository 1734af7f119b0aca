// Small DOM and formatting helpers. Every text goes in as a text node, never as HTML.

/** Builds an element: h('a', {href: '#'}, 'text', child). on* attributes take functions. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) {
      continue;
    }
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'class') {
      el.className = v;
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else {
      el.setAttribute(k, v === true ? '' : v);
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) {
      continue;
    }
    if (Array.isArray(c)) {
      append(el, c);
    } else {
      el.append(c instanceof Node ? c : String(c));
    }
  }
}

/** Says something to screen-reader users without moving focus. */
export function announce(text) {
  const el = document.getElementById('announcer');
  el.textContent = '';
  setTimeout(() => { el.textContent = text; }, 50);
}

export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'expired'];
export const BATCH_STATES = ['queued', 'running', 'succeeded', 'partially_failed', 'failed', 'cancelled', 'expired'];
const FINAL_JOB = ['succeeded', 'failed', 'cancelled', 'expired'];
const FINAL_BATCH = ['succeeded', 'partially_failed', 'failed', 'cancelled', 'expired'];

export const isFinalBatch = state => FINAL_BATCH.includes(state);

export function stateLabel(state) {
  return (state || 'unknown').replace('_', ' ');
}

export function badge(state) {
  return h('span', { class: `badge ${state || ''}`, 'data-state': state }, stateLabel(state));
}

/** Items that have ended, the total, and the percentage (whole number). */
export function progressOf(batch) {
  const counts = batch.counts || {};
  const total = batch.items || JOB_STATES.reduce((n, s) => n + (counts[s] || 0), 0);
  const done = FINAL_JOB.reduce((n, s) => n + (counts[s] || 0), 0);
  const percent = total > 0 ? Math.floor((done * 100) / total) : (isFinalBatch(batch.state) ? 100 : 0);
  return { done, total, percent };
}

/** A stacked bar: one segment per final state and one for running, with the numbers in words. */
export function progressBar(batch) {
  const { done, total, percent } = progressOf(batch);
  const counts = batch.counts || {};
  const words = ['succeeded', 'failed', 'cancelled', 'expired', 'running', 'queued']
    .filter(s => counts[s]).map(s => `${counts[s]} ${s}`).join(', ');
  const bar = h('div', {
    class: 'progress', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100',
    'aria-valuenow': String(percent), 'aria-valuetext': `${percent}%: ${done} of ${total} done${words ? `; ${words}` : ''}`,
    'aria-label': `Progress of ${batch.id}`, 'data-percent': String(percent),
  });
  for (const s of ['succeeded', 'failed', 'cancelled', 'expired', 'running']) {
    const n = counts[s] || 0;
    if (n > 0 && total > 0) {
      // Through the CSSOM: the page's Content-Security-Policy refuses style attributes.
      const segment = h('span', { class: s, 'data-segment': s });
      segment.style.width = `${(n * 100) / total}%`;
      bar.append(segment);
    }
  }
  return h('div', { class: 'progress-wrap' }, bar,
    h('div', { class: 'progress-label' }, `${percent}% · ${done}/${total}`));
}

export function money(usd) {
  if (usd === undefined || usd === null || Number.isNaN(Number(usd))) {
    return '–';
  }
  const n = Number(usd);
  const digits = n !== 0 && Math.abs(n) < 0.1 ? 4 : 2;
  return `$${n.toFixed(digits)}`;
}

export function costRange(range) {
  if (!range) {
    return '–';
  }
  if (range.min === range.max || range.max === undefined) {
    return money(range.min);
  }
  return `${money(range.min)} – ${money(range.max)}`;
}

export function duration(seconds) {
  if (seconds === undefined || seconds === null || !Number.isFinite(seconds)) {
    return '–';
  }
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) {
    return `${s} s`;
  }
  if (s < 3600) {
    return `${Math.floor(s / 60)} min ${s % 60} s`;
  }
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function bytes(n) {
  if (n === undefined || n === null) {
    return '–';
  }
  if (n < 1024) {
    return `${n} B`;
  }
  if (n < 1024 * 1024) {
    return `${(n / 1024).toFixed(1)} KiB`;
  }
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

export function when(iso) {
  if (!iso) {
    return '–';
  }
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/**
 * Remaining time from the rate at which items end, measured by this page: the first and the
 * latest sample of each batch. Unknown until two samples differ.
 */
const samples = new Map();

export function eta(batch) {
  const { done, total } = progressOf(batch);
  if (isFinalBatch(batch.state)) {
    const start = Date.parse(batch.created_at);
    const end = Date.parse(batch.finished_at || batch.updated_at);
    return Number.isFinite(start) && Number.isFinite(end) ? `took ${duration((end - start) / 1000)}` : 'done';
  }
  const now = Date.now();
  let s = samples.get(batch.id);
  if (!s || done < s.firstDone) {
    // Until this page has seen items end, the batch's own clock is the best first sample.
    const created = Date.parse(batch.created_at);
    s = { firstAt: Number.isFinite(created) ? created : now, firstDone: 0 };
    samples.set(batch.id, s);
  }
  const elapsed = (now - s.firstAt) / 1000;
  const finished = done - s.firstDone;
  if (finished <= 0 || elapsed <= 0) {
    return '–';
  }
  const rate = finished / elapsed;
  return `≈ ${duration((total - done) / rate)}`;
}

/** Moves focus to the main region after a route change, so keyboard users start at the top. */
export function focusMain() {
  const main = document.getElementById('main');
  const heading = main.querySelector('h1');
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: false });
  } else {
    main.focus();
  }
}
