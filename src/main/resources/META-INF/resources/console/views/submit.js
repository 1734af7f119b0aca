// Submit a catalogue file: read it in the browser (JSON, NDJSON or CSV), ask Kiln for a dry run,
// show the estimate or the validation errors next to the file, then submit on confirmation.

import { post, rememberSubmitted } from '../api.js';
import { CatalogueError, parseCatalogue, whereInFile } from '../catalogue.js';
import { announce, costRange, duration, h } from '../ui.js';

const FORMAT_NAMES = { json: 'JSON', ndjson: 'NDJSON', csv: 'CSV' };

export async function renderSubmit(main) {
  let parsed = null;
  let idempotencyKey = null;

  const input = h('input', {
    type: 'file', id: 'catalogue-file', name: 'catalogue',
    accept: '.json,.ndjson,.jsonl,.csv,application/json,application/x-ndjson,text/csv',
    'aria-describedby': 'catalogue-help',
  });
  const zone = h('label', { class: 'dropzone', for: 'catalogue-file', id: 'dropzone' },
    h('strong', {}, 'Drop a catalogue file here'), h('br'), h('span', {}, 'or choose one: '), input);
  const fileBox = h('div', { id: 'file-summary', 'aria-live': 'polite' });
  const errorsBox = h('div', { id: 'file-errors' });
  const estimateBox = h('section', { id: 'estimate', 'aria-labelledby': 'estimate-h', hidden: true });
  const confirm = h('button', { type: 'button', class: 'primary', id: 'confirm-submit', hidden: true }, 'Submit batch');
  const resultBox = h('div', { id: 'submit-result', role: 'status' });

  main.replaceChildren(
    h('h1', {}, 'Submit a catalogue'),
    h('div', { id: 'catalogue-help' },
      h('p', {}, 'Kiln first checks the file and estimates the batch (a dry run, nothing is rendered); you confirm before anything is queued. Accepted files:'),
      h('ul', {},
        h('li', {}, h('strong', {}, 'JSON'), ': the body of POST /v1/batches (', h('code', {}, '{"defaults": {…}, "items": […]}'), ') or an array of items;'),
        h('li', {}, h('strong', {}, 'NDJSON'), ': an optional first line ', h('code', {}, '{"batch": {…}}'), ', then one item a line;'),
        h('li', {}, h('strong', {}, 'CSV'), ': columns ', h('code', {}, 'id,prompt'), ' plus any parameter (',
          h('code', {}, 'size'), ', ', h('code', {}, 'quality'), ', ', h('code', {}, 'output_format'), ', ', h('code', {}, 'n'), ', …), ',
          h('code', {}, 'reference_images'), ' separated by |, and ', h('code', {}, 'metadata.*'), ' columns.'))),
    zone, fileBox, errorsBox, estimateBox,
    h('div', { class: 'actions' }, confirm), resultBox);

  const showErrors = (title, errors = []) => {
    errorsBox.replaceChildren(h('div', { class: 'notice error', role: 'alert', 'data-testid': 'validation-errors' },
      h('p', {}, h('strong', {}, title)),
      errors.length ? h('ul', { class: 'errors' }, errors.map(e => {
        const where = parsed ? whereInFile(parsed.format, parsed.body, e.field) : null;
        return h('li', {}, h('code', {}, e.field || 'body'), where ? ` (${where})` : '', `: ${e.reason || e.message || ''}`);
      })) : null));
    input.setAttribute('aria-invalid', 'true');
  };

  const reset = () => {
    errorsBox.replaceChildren();
    estimateBox.hidden = true;
    estimateBox.replaceChildren();
    confirm.hidden = true;
    resultBox.replaceChildren();
    input.removeAttribute('aria-invalid');
  };

  const read = async file => {
    reset();
    parsed = null;
    const text = await file.text();
    try {
      parsed = parseCatalogue(file.name, text);
    } catch (e) {
      fileBox.replaceChildren(h('p', {}, h('strong', {}, file.name)));
      showErrors(e instanceof CatalogueError ? `This file cannot be read: ${e.message}` : `This file cannot be read: ${e}`);
      return;
    }
    idempotencyKey = `console-${crypto.randomUUID()}`;
    const n = parsed.body.items.length;
    fileBox.replaceChildren(h('p', { 'data-testid': 'file-summary' },
      h('strong', {}, file.name), `: ${FORMAT_NAMES[parsed.format]}, ${n} item${n === 1 ? '' : 's'}. Checking with Kiln…`));
    await dryRun(file.name);
  };

  const dryRun = async name => {
    const answer = await post('/v1/batches', { query: { dry_run: 'true' }, body: parsed.body });
    const n = parsed.body.items.length;
    fileBox.replaceChildren(h('p', { 'data-testid': 'file-summary' },
      h('strong', {}, name), `: ${FORMAT_NAMES[parsed.format]}, ${n} item${n === 1 ? '' : 's'}.`));
    if (!answer.ok) {
      showErrors(answer.status === 400 ? `Kiln refuses this catalogue: ${answer.message}` : `The dry run failed: ${answer.message}`, answer.errors);
      announce('The catalogue has errors');
      return;
    }
    renderEstimate(answer.body);
    confirm.hidden = false;
    confirm.disabled = false;
    announce('Estimate ready. Review it, then submit the batch.');
  };

  const renderEstimate = est => {
    const cache = est.cache_hits ?? est.cached_images ?? est.cached;
    const groups = est.by_quality_and_size || [];
    estimateBox.hidden = false;
    estimateBox.replaceChildren(
      h('h2', { id: 'estimate-h' }, 'Estimate'),
      h('dl', { class: 'stats' },
        stat('Images', est.images, 'estimate-images'),
        stat('Jobs', est.jobs),
        stat('Cost', costRange(est.estimated_cost_usd), 'estimate-cost'),
        stat('Duration', est.estimated_duration_seconds !== undefined && est.estimated_duration_seconds !== null
          ? `≥ ${duration(est.estimated_duration_seconds)}` : 'no rate limit set', 'estimate-duration'),
        cache !== undefined && cache !== null ? stat('Cache hits', cache, 'estimate-cache') : null),
      est.estimated_duration_seconds === undefined || est.estimated_duration_seconds === null
        ? h('p', { class: 'muted' }, 'The duration is the floor that the rate limits impose; render time comes on top.') : null,
      groups.length ? h('table', {},
        h('caption', { class: 'visually-hidden' }, 'Estimate by quality and size'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Quality'), h('th', { scope: 'col' }, 'Size'),
          h('th', { scope: 'col', class: 'num' }, 'Images'), h('th', { scope: 'col', class: 'num' }, 'Cost'))),
        h('tbody', {}, groups.map(g => h('tr', {},
          h('td', {}, g.quality), h('td', {}, g.size), h('td', { class: 'num' }, String(g.images)),
          h('td', { class: 'num' }, costRange(g.cost_usd)))))) : null);
  };

  const stat = (label, value, testid) => h('div', { 'data-testid': testid },
    h('dt', {}, label), h('dd', {}, String(value ?? '–')));

  confirm.addEventListener('click', async () => {
    if (!parsed) return;
    confirm.disabled = true;
    // The same key for every click on this file: a double click or a retry after a lost answer
    // names the same batch instead of creating a second one.
    const answer = await post('/v1/batches', { body: parsed.body, headers: { 'Idempotency-Key': idempotencyKey } });
    if (answer.ok && answer.body?.id) {
      rememberSubmitted(answer.body.id);
      announce(`Batch ${answer.body.id} submitted`);
      location.hash = `#/batches/${encodeURIComponent(answer.body.id)}`;
      return;
    }
    confirm.disabled = false;
    if (answer.status === 400 || answer.status === 422) {
      showErrors(`Kiln refused the batch: ${answer.message}`, answer.errors);
    } else {
      resultBox.replaceChildren(h('p', { class: 'notice error', role: 'alert' },
        `The batch was not accepted (HTTP ${answer.status}): ${answer.message}`
        + (answer.status === 503 || answer.status === 0 ? ' Submitting again is safe: it uses the same Idempotency-Key.' : '')));
    }
  });

  input.addEventListener('change', () => {
    if (input.files && input.files[0]) read(input.files[0]);
  });
  zone.addEventListener('dragover', e => { e.preventDefault(); zone.classList.add('dragging'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
  zone.addEventListener('drop', e => {
    e.preventDefault();
    zone.classList.remove('dragging');
    const file = e.dataTransfer?.files?.[0];
    if (file) read(file);
  });
  return () => {};
}
