// The tenant's batches, newest first, filtered by state, each row following its batch live.

import { get, submittedBatches } from '../api.js';
import { BATCH_STATES, badge, eta, h, isFinalBatch, money, progressBar, stateLabel, when } from '../ui.js';
import { watchBatch } from '../watch.js';

const PAGE = 25;

/** Reads GET /v1/batches' page, whatever the array is called: {batches|items|data: [...], next_cursor}. */
function listOf(body) {
  if (Array.isArray(body)) return body;
  return body?.batches ?? body?.items ?? body?.data ?? [];
}

export async function renderBatches(main, params) {
  const state = params.get('state') || '';
  const stops = [];
  let cursor = null;

  const filter = h('select', {
    id: 'state-filter', name: 'state',
    onchange: () => { location.hash = filter.value ? `#/batches?state=${filter.value}` : '#/batches'; },
  }, h('option', { value: '' }, 'All states'),
  BATCH_STATES.map(s => h('option', { value: s, selected: s === state }, stateLabel(s))));

  const tbody = h('tbody');
  const table = h('table', { class: 'responsive', 'data-testid': 'batches' },
    h('caption', { class: 'visually-hidden' }, 'Batches, newest first'),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'Batch'),
      h('th', { scope: 'col' }, 'State'),
      h('th', { scope: 'col' }, 'Progress'),
      h('th', { scope: 'col', class: 'num' }, 'Items'),
      h('th', { scope: 'col', class: 'num' }, 'Cost'),
      h('th', { scope: 'col' }, 'ETA'),
      h('th', { scope: 'col' }, 'Created'))),
    tbody);
  const notes = h('div');
  const more = h('button', { type: 'button', hidden: true, onclick: () => loadPage() }, 'Older batches');
  const empty = h('p', { class: 'muted', hidden: true }, 'No batches yet. ',
    h('a', { href: '#/submit' }, 'Submit a catalogue'), '.');

  main.replaceChildren(
    h('h1', {}, 'Batches'),
    h('div', { class: 'toolbar' },
      h('div', { class: 'field' }, h('label', { for: 'state-filter' }, 'Filter by state'), filter),
      h('a', { class: 'button', href: '#/submit' }, 'Submit a catalogue')),
    notes, table, empty, more);

  const addRow = batch => {
    const tr = h('tr', { 'data-batch-id': batch.id });
    const fill = b => {
      tr.replaceChildren(
        h('td', { 'data-label': 'Batch' },
          h('a', { class: 'batch-id', href: `#/batches/${encodeURIComponent(b.id)}` }, b.id),
          b.external_id ? h('div', { class: 'muted' }, b.external_id) : null),
        h('td', { 'data-label': 'State' }, badge(b.state)),
        h('td', { 'data-label': 'Progress', class: 'progress-cell' }, progressBar(b)),
        h('td', { 'data-label': 'Items', class: 'num' }, String(b.items ?? '–')),
        h('td', { 'data-label': 'Cost', class: 'num' }, money(b.usage?.cost_usd)),
        h('td', { 'data-label': 'ETA' }, eta(b)),
        h('td', { 'data-label': 'Created' }, when(b.created_at)));
    };
    fill(batch);
    tbody.append(tr);
    if (!isFinalBatch(batch.state)) {
      stops.push(watchBatch(batch.id, fill));
    }
  };

  const loadPage = async () => {
    more.disabled = true;
    const answer = await get('/v1/batches', { query: { state, cursor, limit: PAGE } });
    more.disabled = false;
    if (answer.notBuilt) {
      return loadFromThisTab();
    }
    if (!answer.ok) {
      notes.replaceChildren(h('p', { class: 'notice error', role: 'alert' }, `Could not list batches: ${answer.message}`));
      return;
    }
    const batches = listOf(answer.body);
    batches.forEach(addRow);
    cursor = answer.body?.next_cursor || null;
    more.hidden = !cursor;
    empty.hidden = tbody.children.length > 0;
  };

  // GET /v1/batches is not offered by this Kiln yet: show what this tab submitted.
  const loadFromThisTab = async () => {
    notes.replaceChildren(h('p', { class: 'notice subtle', 'data-testid': 'local-list' },
      'This Kiln does not list batches yet, so this shows the batches submitted from this browser tab.'));
    const ids = submittedBatches();
    const answers = await Promise.all(ids.map(id => get(`/v1/batches/${encodeURIComponent(id)}`)));
    answers.filter(a => a.ok && (!state || a.body.state === state)).forEach(a => addRow(a.body));
    more.hidden = true;
    empty.hidden = tbody.children.length > 0;
  };

  await loadPage();
  return () => stops.forEach(stop => stop());
}
