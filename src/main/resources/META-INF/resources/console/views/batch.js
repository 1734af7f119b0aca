// One batch: progress, counts, usage, actions (cancel, retry, manifest), the webhook delivery
// log, failed items with their errors, and a gallery of outputs that opens each image with its
// metadata in a dialog.

import { call, get, post } from '../api.js';
import {
  JOB_STATES, announce, badge, bytes, eta, h, isFinalBatch, money, progressBar, when,
} from '../ui.js';
import { liveMode, watchBatch } from '../watch.js';

const PAGE = 48;
const FAILED_PAGE = 100;
const PARAMETERS = ['model', 'size', 'quality', 'background', 'output_format', 'output_compression', 'moderation', 'n', 'input_fidelity'];

const enc = encodeURIComponent;

export async function renderBatch(main, id) {
  const first = await get(`/v1/batches/${enc(id)}`);
  if (!first.ok) {
    main.replaceChildren(h('h1', {}, `Batch ${id}`),
      h('p', { class: 'notice error', role: 'alert' },
        first.status === 404 ? 'No such batch for this tenant.' : `Could not read the batch: ${first.message}`),
      h('p', {}, h('a', { href: '#/batches' }, 'Back to batches')));
    return () => {};
  }

  let batch = first.body;
  let stopWatch = () => {};
  let closed = false;

  const heading = h('h1', {}, 'Batch ', h('span', { class: 'batch-id' }, id));
  const summary = h('section', { 'aria-labelledby': 'summary-h' });
  const message = h('div', { id: 'action-message', role: 'status', 'aria-live': 'polite' });
  const cancelButton = h('button', { type: 'button', class: 'danger', id: 'cancel-batch', onclick: () => act('cancel') }, 'Cancel batch');
  const retryButton = h('button', { type: 'button', id: 'retry-batch', onclick: () => act('retry') }, 'Retry failed items');
  const manifest = h('a', { class: 'button', id: 'manifest-link', href: `/v1/batches/${enc(id)}/manifest`, onclick: e => downloadManifest(e) }, 'Results manifest');
  const webhookSection = h('section', { 'aria-labelledby': 'webhook-h', hidden: true });
  const failedList = h('ul', { class: 'failures', 'data-testid': 'failures' });
  const failedSection = h('section', { 'aria-labelledby': 'failed-h', hidden: true },
    h('h2', { id: 'failed-h' }, 'Failed items'), failedList);
  const gallery = h('ul', { class: 'gallery', 'data-testid': 'gallery' });
  const galleryNote = h('p', { class: 'muted' });
  const moreButton = h('button', { type: 'button', hidden: true, onclick: () => loadGallery(false) }, 'More images');
  const dialog = imageDialog();

  main.replaceChildren(
    h('p', {}, h('a', { href: '#/batches' }, '← Batches')),
    heading, summary,
    h('div', { class: 'actions' }, cancelButton, retryButton, manifest),
    message,
    failedSection,
    h('section', { 'aria-labelledby': 'gallery-h' },
      h('h2', { id: 'gallery-h' }, 'Images'), galleryNote, gallery, moreButton),
    webhookSection,
    dialog.element);

  const say = (text, kind = 'ok') => {
    message.replaceChildren(h('p', { class: `notice ${kind}`, 'data-kind': kind }, text));
  };

  // ---- summary ----
  const renderSummary = () => {
    const c = batch.counts || {};
    const u = batch.usage || {};
    summary.replaceChildren(
      h('h2', { id: 'summary-h', class: 'visually-hidden' }, 'Summary'),
      h('p', {}, badge(batch.state),
        batch.external_id ? h('span', { class: 'muted' }, ` · ${batch.external_id}`) : null,
        h('span', { class: 'muted', 'data-testid': 'live-mode' },
          isFinalBatch(batch.state) ? ' · ended' : liveMode() === 'sse' ? ' · live' : ' · refreshed every 2 s')),
      progressBar(batch),
      h('dl', { class: 'stats', 'aria-label': 'Items per state' },
        stat('Items', batch.items), stat('Images', batch.images),
        JOB_STATES.filter(s => s in c).map(s => stat(s[0].toUpperCase() + s.slice(1), c[s], `count-${s}`))),
      h('dl', { class: 'stats small', 'aria-label': 'Usage' },
        stat('Cost', money(u.cost_usd), 'cost'),
        stat('Images made', u.images ?? 0),
        stat('Cached', u.cached ?? batch.cached ?? '–'),
        stat('Tokens in / out', `${(u.text_input_tokens ?? 0) + (u.image_input_tokens ?? 0)} / ${u.output_tokens ?? 0}`),
        stat('ETA', eta(batch), 'eta')),
      h('p', { class: 'muted' }, `Created ${when(batch.created_at)}`,
        batch.finished_at ? ` · finished ${when(batch.finished_at)}` : '',
        batch.updated_at && !batch.finished_at ? ` · last change ${when(batch.updated_at)}` : ''));
    const failedOrExpired = (c.failed || 0) + (c.expired || 0);
    cancelButton.hidden = isFinalBatch(batch.state);
    retryButton.hidden = failedOrExpired === 0;
    renderWebhook();
  };

  const stat = (label, value, testid) => h('div', testid ? { 'data-testid': testid } : {},
    h('dt', {}, label), h('dd', {}, String(value ?? '–')));

  // ---- live updates ----
  let lastSucceeded = -1;
  let lastFailed = -1;
  const onBatch = b => {
    batch = b;
    renderSummary();
    const c = b.counts || {};
    if ((c.succeeded || 0) !== lastSucceeded) {
      lastSucceeded = c.succeeded || 0;
      syncGallery();
    }
    const failed = (c.failed || 0) + (c.expired || 0);
    if (failed !== lastFailed) {
      lastFailed = failed;
      loadFailed();
    }
  };
  const startWatch = () => {
    stopWatch();
    stopWatch = watchBatch(id, onBatch, () => renderSummary());
  };

  // After a cancel, retry or resend: an ended batch may still read as ended for a moment, and a
  // watcher would stop at once; read it every second until it moves, then follow it again.
  const followAfterAction = async () => {
    if (!isFinalBatch(batch.state)) {
      startWatch();
      return;
    }
    const before = batch.updated_at;
    for (let i = 0; i < 30 && !closed; i++) {
      await new Promise(r => setTimeout(r, 1000));
      const answer = await get(`/v1/batches/${enc(id)}`);
      if (!answer.ok || closed) continue;
      onBatch(answer.body);
      if (!isFinalBatch(answer.body.state)) {
        startWatch();
        return;
      }
      if (answer.body.updated_at !== before) return;
    }
  };

  // ---- actions ----
  const act = async kind => {
    const button = kind === 'cancel' ? cancelButton : retryButton;
    button.disabled = true;
    const answer = await post(`/v1/batches/${enc(id)}/${kind}`);
    button.disabled = false;
    if (answer.ok) {
      say(kind === 'cancel'
        ? 'Cancel requested: items not yet sent to the provider end cancelled.'
        : 'Retry requested: failed items go back to the queue.');
      announce(kind === 'cancel' ? 'Cancel requested' : 'Retry requested');
      followAfterAction();
    } else if (answer.notBuilt) {
      say(`This Kiln does not offer ${kind === 'cancel' ? 'cancelling' : 'retrying'} a batch yet `
        + `(POST /v1/batches/{id}/${kind} answered ${answer.status}).`, 'error');
    } else if (answer.status === 409) {
      say(kind === 'cancel' ? `The batch has already ended: ${answer.message}` : `Nothing to retry: ${answer.message}`, 'error');
    } else {
      say(`${kind === 'cancel' ? 'Cancel' : 'Retry'} failed: ${answer.message}`, 'error');
    }
  };

  const retryJob = async (item, button) => {
    button.disabled = true;
    const answer = await post(`/v1/jobs/${enc(item.id)}/retry`);
    button.disabled = false;
    if (answer.ok) {
      say(`Retry requested for ${item.item_id}.`);
      announce(`Retry requested for ${item.item_id}`);
      followAfterAction();
    } else if (answer.notBuilt) {
      say(`This Kiln does not offer retrying one item yet (POST /v1/jobs/{id}/retry answered ${answer.status}).`, 'error');
    } else if (answer.status === 409) {
      say(`${item.item_id} cannot be retried: ${answer.message}`, 'error');
    } else {
      say(`Retry of ${item.item_id} failed: ${answer.message}`, 'error');
    }
  };

  // The manifest needs the key when authentication is on, so the link is fetched and saved as a file.
  const downloadManifest = async e => {
    e.preventDefault();
    const answer = await call('GET', `/v1/batches/${enc(id)}/manifest`, { raw: true, headers: { Accept: 'application/x-ndjson' } });
    if (answer.ok) {
      const blob = await answer.response.blob();
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: `${id}.jsonl`, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      say('Manifest downloaded.');
    } else if (answer.status === 404 || answer.status === 405) {
      say(isFinalBatch(batch.state)
        ? `No manifest is served for this batch (GET /v1/batches/{id}/manifest answered ${answer.status}): this Kiln may not offer it yet.`
        : 'The manifest is written when the batch ends.', 'error');
    } else {
      say(`Could not fetch the manifest (HTTP ${answer.status}).`, 'error');
    }
  };

  // ---- webhook log ----
  function renderWebhook() {
    const w = batch.webhook;
    const deliveries = Array.isArray(w) ? w : Array.isArray(w?.deliveries) ? w.deliveries : (w?.attempts ? [w] : []);
    if (!w || (deliveries.length === 0 && typeof w !== 'string' && !w.url)) {
      webhookSection.hidden = true;
      return;
    }
    webhookSection.hidden = false;
    const url = typeof w === 'string' ? w : (w.url || deliveries[0]?.url);
    webhookSection.replaceChildren(
      h('h2', { id: 'webhook-h' }, 'Webhook deliveries'),
      url ? h('p', {}, 'To ', h('code', {}, url)) : null,
      deliveries.length === 0 ? h('p', { class: 'muted' }, 'No delivery yet: the webhook is called when the batch ends.') : null,
      deliveries.map(d => h('div', { class: 'delivery' },
        h('h3', {}, `${d.event_type || 'delivery'} `, badge(d.state), d.webhook_id ? h('span', { class: 'muted mono' }, ` ${d.webhook_id}`) : null),
        d.next_attempt_at ? h('p', { class: 'muted' }, `Next attempt ${when(d.next_attempt_at)}`) : null,
        h('table', {},
          h('caption', { class: 'visually-hidden' }, 'Attempts'),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, '#'), h('th', { scope: 'col' }, 'At'),
            h('th', { scope: 'col' }, 'Answer'), h('th', { scope: 'col', class: 'num' }, 'Took'))),
          h('tbody', {}, (d.attempts || []).map(a => h('tr', {},
            h('td', {}, String(a.number)), h('td', {}, when(a.at)),
            h('td', {}, a.http_status ? `HTTP ${a.http_status}` : (a.error || '–')),
            h('td', { class: 'num' }, a.duration_ms !== undefined ? `${a.duration_ms} ms` : '–'))))))),
      deliveries.length > 0 ? h('button', { type: 'button', onclick: resendWebhook }, 'Send the webhook again') : null);
  }

  const resendWebhook = async () => {
    const answer = await post(`/v1/batches/${enc(id)}/webhook/resend`);
    if (answer.ok) {
      say('The webhook will be sent again.');
      followAfterAction();
    } else if (answer.notBuilt) {
      say(`This Kiln does not offer resending yet (POST /v1/batches/{id}/webhook/resend answered ${answer.status}).`, 'error');
    } else {
      say(`Resend failed: ${answer.message}`, 'error');
    }
  };

  // ---- failed items ----
  const loadFailed = async () => {
    const lists = await Promise.all(['failed', 'expired'].map(state =>
      get(`/v1/batches/${enc(id)}/items`, { query: { state, limit: FAILED_PAGE } })));
    if (closed) return;
    const items = lists.filter(a => a.ok).flatMap(a => a.body.items || []);
    failedSection.hidden = items.length === 0;
    failedList.replaceChildren(...items.map(item => {
      const button = h('button', { type: 'button', class: 'small', 'data-job-id': item.id }, `Retry ${item.item_id}`);
      button.addEventListener('click', () => retryJob(item, button));
      return h('li', { 'data-item-id': item.item_id },
        h('div', { class: 'error-text' },
          h('strong', {}, item.item_id), ' ', badge(item.state),
          h('div', {}, item.error ? h('code', {}, item.error.code || 'error') : null,
            item.error?.message ? ` ${item.error.message}` : ''),
          h('div', { class: 'muted' }, `attempt ${item.attempt ?? 1}`)),
        button);
    }));
    if (items.length >= FAILED_PAGE) {
      failedList.append(h('li', { class: 'muted' }, `Showing the first ${FAILED_PAGE} of each state.`));
    }
  };

  // ---- gallery ----
  let galleryCursor = null;
  let syncing = null;
  const shown = new Map();

  const tileFor = (item, output) => {
    const thumb = output.thumbnail && output.thumbnail.url ? output.thumbnail : null;
    const src = thumb ? thumb.url : output.url;
    const w = thumb ? thumb.width : output.width;
    const hgt = thumb ? thumb.height : output.height;
    const label = `${item.item_id}${(item.outputs || []).length > 1 ? `, image ${output.index + 1}` : ''}`;
    const img = h('img', {
      src, alt: item.prompt ? `${label}: ${item.prompt.slice(0, 120)}` : label,
      width: w, height: hgt, loading: 'lazy', decoding: 'async',
      'data-thumbnail': thumb ? 'true' : 'false', 'data-full': output.url,
    });
    if (thumb) {
      // Outputs stored before Kiln made thumbnails have none (404): show the original instead.
      img.addEventListener('error', () => {
        img.setAttribute('data-thumbnail', 'false');
        img.width = output.width;
        img.height = output.height;
        img.src = output.url;
      }, { once: true });
    }
    const button = h('button', { type: 'button', class: 'tile', 'aria-haspopup': 'dialog' }, img);
    button.addEventListener('click', () => dialog.open(item, output, button));
    return h('li', { 'data-item-id': item.item_id, 'data-index': String(item.index ?? 0) },
      button,
      h('div', { class: 'caption' }, h('span', {}, label),
        item.cached ? h('span', { class: 'badge' }, 'cached') : null));
  };

  const addItems = items => {
    for (const item of items) {
      for (const output of item.outputs || []) {
        const key = `${item.id}/${output.index}`;
        if (shown.has(key)) continue;
        const li = tileFor(item, output);
        shown.set(key, li);
        const order = item.index ?? 0;
        const after = [...gallery.children].find(el => Number(el.dataset.index) > order);
        gallery.insertBefore(li, after || null);
      }
    }
    galleryNote.textContent = shown.size === 0
      ? (isFinalBatch(batch.state) ? 'No images in this batch.' : 'Images appear here as they are made.')
      : `${shown.size} image${shown.size === 1 ? '' : 's'} shown${galleryCursor ? ', more below' : ''}.`;
  };

  const loadGallery = async fromStart => {
    const answer = await get(`/v1/batches/${enc(id)}/items`, {
      query: { state: 'succeeded', limit: fromStart ? Math.min(1000, Math.max(PAGE, shown.size)) : PAGE, cursor: fromStart ? null : galleryCursor },
    });
    if (closed || !answer.ok) return;
    galleryCursor = answer.body.next_cursor || null;
    moreButton.hidden = !galleryCursor;
    addItems(answer.body.items || []);
  };

  // Live: re-read the pages already shown (at most every 2 s) and add what is new.
  const syncGallery = () => {
    if (syncing) return;
    syncing = loadGallery(true).finally(() => setTimeout(() => { syncing = null; }, 2000));
  };

  renderSummary();
  onBatch(batch);
  if (!isFinalBatch(batch.state)) {
    startWatch();
  }
  return () => {
    closed = true;
    stopWatch();
    dialog.close();
  };
}

/** The full image with its metadata; Escape closes it and focus goes back to the tile. */
function imageDialog() {
  const title = h('h2', { id: 'image-dialog-title' });
  const closeButton = h('button', { type: 'button', class: 'small', 'data-close': '' }, 'Close');
  const body = h('div', { class: 'dialog-body' });
  const element = h('dialog', { 'aria-labelledby': 'image-dialog-title', id: 'image-dialog' },
    h('div', { class: 'dialog-head' }, title, closeButton), body);
  let opener = null;
  closeButton.addEventListener('click', () => element.close());
  element.addEventListener('click', e => { if (e.target === element) element.close(); });
  element.addEventListener('close', () => {
    if (opener && opener.isConnected) opener.focus();
    opener = null;
  });

  const row = (label, value) => value === undefined || value === null || value === ''
    ? null : [h('dt', {}, label), h('dd', {}, value)];

  return {
    element,
    close: () => { if (element.open) element.close(); },
    open(item, output, from) {
      opener = from;
      title.textContent = `${item.item_id}${(item.outputs || []).length > 1 ? ` · image ${output.index + 1}` : ''}`;
      const params = item.parameters || Object.fromEntries(PARAMETERS.filter(p => item[p] !== undefined).map(p => [p, item[p]]));
      const paramText = Object.entries(params).map(([k, v]) => `${k}: ${v}`).join(', ');
      body.replaceChildren(
        h('div', {},
          h('img', { src: output.url, alt: item.prompt ? item.prompt.slice(0, 200) : `${item.item_id}, full size`, width: output.width, height: output.height }),
          h('p', {}, h('a', { href: output.url, target: '_blank', rel: 'noopener noreferrer' }, 'Open the original'))),
        h('dl', { class: 'meta' },
          row('Prompt', item.prompt),
          row('Parameters', paramText),
          row('Size', output.width && output.height ? `${output.width} × ${output.height}` : null),
          row('Format', output.content_type),
          row('Bytes', output.bytes !== undefined ? `${bytes(output.bytes)} (${output.bytes})` : null),
          row('SHA-256', output.sha256 ? h('code', {}, output.sha256) : null),
          row('Cost', money(item.usage?.cost_usd)),
          row('Cached', item.cached ? 'yes, from the render cache' : 'no'),
          row('Attempt', item.attempt),
          row('Job', h('code', {}, item.id)),
          row('Object key', output.key ? h('code', {}, output.key) : null),
          row('Finished', when(item.finished_at)),
          item.metadata && Object.keys(item.metadata).length
            ? row('Metadata', h('code', {}, JSON.stringify(item.metadata))) : null));
      element.showModal();
      closeButton.focus();
    },
  };
}
