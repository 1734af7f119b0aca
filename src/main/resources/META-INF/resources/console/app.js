// The console's entry point: who is calling, then hash routes.
//   #/batches            the tenant's batches
//   #/batches/{id}       one batch: counts, gallery, failures, actions
//   #/submit             submit a catalogue file after a dry run
//   #/key                the key prompt (authentication on)

import { apiKey, get, setApiKey } from './api.js';
import { h, focusMain } from './ui.js';
import { renderBatches } from './views/batches.js';
import { renderBatch } from './views/batch.js';
import { renderSubmit } from './views/submit.js';

const main = document.getElementById('main');
let tenant = null;
let cleanup = () => {};
let routedOnce = false;

async function whoAmI() {
  const answer = await get('/v1/tenant');
  if (answer.ok) {
    tenant = answer.body;
    return true;
  }
  tenant = null;
  return false;
}

function renderTenant() {
  const box = document.getElementById('tenant');
  box.replaceChildren();
  if (!tenant) {
    return;
  }
  box.append(h('span', {}, 'Tenant ', h('strong', { 'data-testid': 'tenant-id' }, tenant.id)));
  if (apiKey()) {
    box.append(h('button', {
      class: 'small', type: 'button',
      onclick: () => { setApiKey(null); tenant = null; renderTenant(); location.hash = '#/key'; },
    }, 'Forget key'));
  } else {
    box.append(h('span', { class: 'muted' }, '(no key needed here)'));
  }
}

function renderKeyPrompt(message) {
  const input = h('input', { id: 'api-key', name: 'api-key', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const error = h('p', { id: 'key-error', class: message ? 'notice error' : 'visually-hidden', role: 'alert' }, message || '');
  if (message) {
    input.setAttribute('aria-describedby', 'key-error');
  }
  const form = h('form', {
    class: 'key-form',
    onsubmit: async e => {
      e.preventDefault();
      setApiKey(input.value.trim());
      if (await whoAmI()) {
        renderTenant();
        const back = sessionStorage.getItem('kiln.after-key') || '#/batches';
        sessionStorage.removeItem('kiln.after-key');
        location.hash = back;
        route();
      } else {
        setApiKey(null);
        renderKeyPrompt('Kiln did not accept this key. Check it and try again.');
      }
    },
  },
  h('div', { class: 'field' },
    h('label', { for: 'api-key' }, 'API key'),
    input,
    h('span', { class: 'muted' }, 'Kept in this tab only (sessionStorage) and sent as Authorization: Bearer. Closing the tab forgets it.')),
  h('button', { class: 'primary', type: 'submit' }, 'Open the console'));
  main.replaceChildren(h('h1', {}, 'Sign in to Kiln'),
    h('p', {}, 'This Kiln needs an API key. Ask your Kiln administrator for your tenant\'s key.'),
    error, form);
  input.focus();
}

function setNav(name) {
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === name) {
      a.setAttribute('aria-current', 'page');
    } else {
      a.removeAttribute('aria-current');
    }
  }
}

async function route() {
  cleanup();
  cleanup = () => {};
  const hash = location.hash || '#/batches';
  if (!tenant && hash !== '#/key') {
    if (!(await whoAmI())) {
      sessionStorage.setItem('kiln.after-key', hash === '#/key' ? '#/batches' : hash);
      location.replace('#/key');
      return;
    }
    renderTenant();
  }
  const [path, qs] = hash.replace(/^#\/?/, '').split('?');
  const parts = path.split('/').map(decodeURIComponent);
  let done;
  if (parts[0] === 'key') {
    setNav(null);
    document.title = 'Sign in · Kiln console';
    renderKeyPrompt();
    return;
  } else if (parts[0] === 'submit') {
    setNav('submit');
    document.title = 'Submit a catalogue · Kiln console';
    done = renderSubmit(main);
  } else if (parts[0] === 'batches' && parts[1]) {
    setNav('batches');
    document.title = `Batch ${parts[1]} · Kiln console`;
    done = renderBatch(main, parts[1]);
  } else {
    setNav('batches');
    document.title = 'Batches · Kiln console';
    done = renderBatches(main, new URLSearchParams(qs || ''));
  }
  cleanup = (await done) || (() => {});
  if (routedOnce) {
    focusMain();
  }
  routedOnce = true;
}

window.addEventListener('hashchange', route);
window.addEventListener('kiln:unauthorized', () => {
  if (location.hash !== '#/key') {
    tenant = null;
    renderTenant();
    setApiKey(null);
    sessionStorage.setItem('kiln.after-key', location.hash || '#/batches');
    location.hash = '#/key';
  }
});
route();
