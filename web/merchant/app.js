// The merchant (restaurant) tablet app: the evening's orders on a board (new, in the kitchen, ready for
// the courier, done today), a loud alert for every new order until someone acknowledges it (banner, badge,
// title and a WebAudio chime that repeats; a mute toggle), accept with a prep time or reject with a
// reason, preparing and ready; taking orders (pause, busy mode, a cap on open orders); the menu editor
// (categories and items, sold out, option groups as JSON, import and export of the whole menu, the
// server's refusals shown beside the field they name); opening hours and exceptions; today's sales.
//
// The order list is `GET /v1/merchants/{id}/orders` (the last 24 hours). The event stream rings the
// doorbell (`order_*` events make the board re-read it), and a poll every 10 s is the safety net.
import { Api, errorText } from '/shared/api.js';
import { EventStream, bindConnectionBanner } from '/shared/events.js';
import * as fmt from '/shared/format.js';
import { html, render, $, $$, busy, authScreen, confirmDialog, focusHeading } from '/shared/ui.js';
import { ring, notify, keepAwake } from '/shared/alerts.js';
import { t, addMessages, locale } from '/shared/i18n.js';
import merchantMessages from '/shared/messages/merchant.js';

addMessages(merchantMessages);

const PAGE_TITLE = t('merchant.page_title');
document.title = PAGE_TITLE;
for (const el of $$('[data-i18n]')) el.textContent = t(el.dataset.i18n);
for (const el of $$('[data-i18n-aria-label]')) el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));

const api = new Api('merchant');
const panel = $('#panel');
const alertEl = $('#new-alert');
const muteBtn = $('#mute');

const PREP_CHOICES = [10, 15, 20, 30];
const PAUSE_CHOICES = [15, 30, 60, 120];
const BUSY_CHOICES = [10, 15, 20, 30];
const BUSY_FOR_CHOICES = [30, 60, 120];
const REJECT_REASONS = ['item_unavailable', 'too_busy', 'closing', 'other'];
const DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
const KITCHEN = ['accepted', 'preparing'];
const DONE = ['picked_up', 'delivered', 'rejected', 'cancelled', 'undeliverable'];
const OPEN = ['placed', 'accepted', 'preparing', 'ready', 'picked_up'];
const POLL_MS = 10000;
const CHIME_EVERY_MS = 4000;
const ACK_KEY = 'doorstep.merchant.ack';
const MUTE_KEY = 'doorstep.merchant.muted';

const st = {
  screen: 'loading',
  merchant: null,
  orders: [],
  ack: new Set(JSON.parse(localStorage.getItem(ACK_KEY) || '[]')),
  muted: localStorage.getItem(MUTE_KEY) === '1',
  notified: new Set(),
  prep: {}, // order id -> the custom prep time typed
  reason: {}, // order id -> the reject reason chosen
  menu: null, // the editor: { version, currency, categories: [...], errors: {path: message}, general: [], notice, dirty }
  hours: null, // the editor: { weekly: {day: [{open, close}]}, exceptions: [{date, ranges}], errors, notice }
};
let stream = null;
let timers = [];
let chimeTimer = null;

// For the end-to-end tests and debugging from the console.
window.doorstepMerchant = st;

function mid() {
  return st.merchant.merchant_id;
}

// ---- time: the restaurant's day is New York's

const NY_DATE = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York', year: 'numeric', month: '2-digit', day: '2-digit' });

function nyDate(d) {
  return NY_DATE.format(d);
}

function placedToday(o) {
  return nyDate(new Date(o.placed_at)) === nyDate(new Date());
}

function stateName(s) {
  const key = `merchant.state.${s}`;
  return t(key) === key ? s : t(key);
}

function stateBadge(s) {
  const cls = s === 'placed' ? 'warn' : s === 'ready' || s === 'delivered' ? 'ok' : ['rejected', 'cancelled', 'undeliverable'].includes(s) ? 'bad' : 'info';
  return html`<span class="badge ${cls}">${stateName(s)}</span>`;
}

// ---- the new-order alert

function saveAck() {
  // Only ids still in the list matter: the list covers 24 hours.
  const live = new Set(st.orders.map((o) => o.id));
  const kept = [...st.ack].filter((id) => live.has(id) || st.orders.length === 0);
  localStorage.setItem(ACK_KEY, JSON.stringify(kept.slice(-500)));
}

function unacknowledged() {
  return st.orders.filter((o) => o.state === 'placed' && !st.ack.has(o.id));
}

function acknowledge(ids = unacknowledged().map((o) => o.id)) {
  for (const id of ids) st.ack.add(id);
  saveAck();
  updateAlert();
}

function chime() {
  if (st.muted || unacknowledged().length === 0) return;
  if (ring(2)) {
    alertEl.dataset.chimes = String(Number(alertEl.dataset.chimes || 0) + 1);
  }
}

function drawMute() {
  muteBtn.textContent = t('merchant.sound.mute');
  muteBtn.title = st.muted ? t('merchant.sound.muted') : t('merchant.sound.on');
  muteBtn.setAttribute('aria-label', t('merchant.sound.label'));
  muteBtn.setAttribute('aria-pressed', st.muted ? 'true' : 'false');
}

muteBtn.addEventListener('click', () => {
  st.muted = !st.muted;
  localStorage.setItem(MUTE_KEY, st.muted ? '1' : '0');
  drawMute();
  updateAlert();
});

/** Banner, badge, title and sound follow the orders waiting for an answer. */
function updateAlert() {
  const fresh = unacknowledged();
  const n = fresh.length;
  const placed = st.orders.filter((o) => o.state === 'placed').length;
  const badge = $('#nav-badge');
  badge.hidden = placed === 0;
  badge.textContent = placed ? t('merchant.badge.new', { n: placed }) : '';
  document.title = n ? `(${n}) ${t('merchant.alert.title', { n })} — ${PAGE_TITLE}` : PAGE_TITLE;
  const ringing = n > 0 && !st.muted;
  if (Number(alertEl.dataset.count || 0) !== n || alertEl.hidden !== (n === 0)) {
    alertEl.dataset.count = String(n);
    alertEl.hidden = n === 0;
    render(alertEl, n ? html`<span id="new-alert-text">${t('merchant.alert.new', { n })}</span>
      <button type="button" id="ack">${t('merchant.alert.ack')}</button>` : '');
  }
  alertEl.dataset.ringing = ringing ? 'true' : 'false';
  if (ringing && !chimeTimer) {
    chime();
    chimeTimer = setInterval(chime, CHIME_EVERY_MS);
  } else if (!ringing && chimeTimer) {
    clearInterval(chimeTimer);
    chimeTimer = null;
  }
  for (const o of fresh) {
    if (st.notified.has(o.id)) continue;
    st.notified.add(o.id);
    notify({ title: t('merchant.alert.title', { n: 1 }), body: t('merchant.alert.body'), tag: `order-${o.id}` });
  }
}

alertEl.addEventListener('click', (e) => {
  if (e.target.closest('#ack')) {
    acknowledge();
    const first = $('.order[data-state="placed"] button');
    if (st.screen === 'orders' && first) first.focus();
  }
});

// ---- loading

let refreshing = null;
let again = false;

/** Re-reads the order list (one request at a time; a call during one runs once more after it). */
async function refreshOrders() {
  if (!st.merchant || !api.token) return;
  if (refreshing) {
    again = true;
    return refreshing;
  }
  refreshing = (async () => {
    try {
      do {
        again = false;
        const { orders } = await api.get(`/v1/merchants/${mid()}/orders`);
        st.orders = orders;
      } while (again);
      updateAlert();
      if (st.screen === 'orders') drawOrders();
      if (st.screen === 'sales') drawSales();
    } catch (e) {
      if (e.status !== 401) console.warn('orders', e);
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

async function refreshMerchant() {
  st.merchant = await api.get('/v1/merchants/mine');
  if (st.screen === 'orders') drawOrders();
}

function onMessage(m) {
  if (typeof m.type === 'string' && m.type.startsWith('order_')) refreshOrders();
}

function stop() {
  if (stream) stream.close();
  stream = null;
  for (const id of timers) clearInterval(id);
  timers = [];
  if (chimeTimer) clearInterval(chimeTimer);
  chimeTimer = null;
  keepAwake(false);
}

api.onUnauthorized = () => {
  stop();
  api.saveSession(null);
  showAuth();
};

function setNav(current) {
  $('#nav').hidden = !api.session || !st.merchant;
  for (const b of $$('.navbtn[data-go]')) {
    if (b.dataset.go === current) b.setAttribute('aria-current', 'page');
    else b.removeAttribute('aria-current');
  }
}

$('#nav').addEventListener('click', (e) => {
  const b = e.target.closest('[data-go]');
  if (!b) return;
  go(b.dataset.go);
});

$('#logout').addEventListener('click', async () => {
  stop();
  await api.logout();
  st.merchant = null;
  st.orders = [];
  updateAlert();
  showAuth();
});

function go(screen) {
  st.screen = screen;
  setNav(screen);
  if (screen === 'orders') drawOrders();
  else if (screen === 'menu') openMenu();
  else if (screen === 'hours') openHours();
  else if (screen === 'sales') drawSales();
  focusHeading(panel);
}

function showAuth() {
  st.screen = 'auth';
  setNav(null);
  authScreen(panel, api, { title: t('merchant.auth_title'), expectRole: 'merchant', onDone: () => start() });
  const form = $('#auth-form', panel);
  if (form) form.insertAdjacentHTML('afterend', html`<p class="hint">${t('merchant.auth_hint')}</p>`.s);
}

async function start() {
  render(panel, html`<p class="loading">${t('merchant.loading_account')}</p>`);
  try {
    try {
      st.merchant = await api.get('/v1/merchants/mine');
    } catch (e) {
      if (e.code === 'merchant_not_found') {
        render(panel, html`<section class="card"><h1>${t('merchant.error_title')}</h1><p>${t('merchant.no_merchant')}</p></section>`);
        return;
      }
      throw e;
    }
    const { orders } = await api.get(`/v1/merchants/${mid()}/orders`);
    st.orders = orders;
    stream = new EventStream(() => api.token, { onMessage, onResume: refreshOrders });
    bindConnectionBanner($('#conn'), stream);
    timers.push(setInterval(refreshOrders, POLL_MS));
    timers.push(setInterval(() => refreshMerchant().catch(() => {}), 30000));
    // The kitchen tablet stays on while the app is open.
    keepAwake(true);
    drawMute();
    updateAlert();
    go('orders');
  } catch (e) {
    if (e.status === 401) return;
    render(panel, html`<section class="card"><h1>${t('merchant.error_title')}</h1><p class="error" role="alert">${errorText(e)}</p>
      <button class="primary" id="retry">${t('merchant.retry')}</button></section>`);
    $('#retry').addEventListener('click', start);
  }
}

// ---- the orders board

function intakeStatus(m) {
  if (m.status === 'pending') return ['bad', t('merchant.intake.not_approved')];
  if (m.status === 'suspended') return ['bad', t('merchant.intake.suspended')];
  if (m.intake.paused)
    return ['warn', m.intake.paused_until ? t('merchant.intake.paused_until', { time: fmt.shortTime(m.intake.paused_until) }) : t('merchant.intake.paused')];
  if (!m.open_now) return ['warn', t('merchant.intake.closed')];
  return ['ok', t('merchant.intake.open')];
}

function statusHtml() {
  const m = st.merchant;
  const [cls, status] = intakeStatus(m);
  const i = m.intake;
  const busyText = i.busy_until
    ? t('merchant.intake.busy_until', { n: i.busy_minutes, time: fmt.shortTime(i.busy_until) })
    : t('merchant.intake.busy_on', { n: i.busy_minutes });
  return html`<div class="statusline">
    <p class="status ${cls}" id="intake-status" data-paused="${i.paused ? 'true' : 'false'}">${status}</p>
    ${i.busy_minutes > 0 ? html`<p class="status warn" id="busy-status" data-busy="${i.busy_minutes}">${busyText}</p>` : ''}
    <p class="hint">${t('merchant.intake.prep', { n: m.prep_minutes })} · <span id="cap-status">${i.max_open_orders ? t('merchant.intake.cap_now', { n: i.max_open_orders }) : t('merchant.intake.no_cap')}</span></p>
  </div>`;
}

function intakeHtml() {
  const m = st.merchant;
  const i = m.intake;
  return html`<section class="intake-section" aria-labelledby="intake-title">
    <h2 id="intake-title">${t('merchant.intake.title')}</h2>
    <div class="intake">
    <div class="card">
      ${i.paused
        ? html`<button type="button" class="secondary" id="resume">${t('merchant.intake.resume')}</button>`
        : html`<form id="pause-form"><div><label for="pause-for">${t('merchant.intake.pause_for')}</label>
            <select id="pause-for">${PAUSE_CHOICES.map((n) => html`<option value="${n}">${t('merchant.intake.minutes', { n })}</option>`)}
              <option value="">${t('merchant.intake.until_resumed')}</option></select></div>
            <button type="submit" class="secondary" id="pause">${t('merchant.intake.pause')}</button></form>`}
      <p class="error" role="alert" id="pause-error"></p>
    </div>
    <div class="card">
      ${i.busy_minutes > 0
        ? html`<button type="button" class="secondary" id="busy-off">${t('merchant.intake.busy_off')}</button>`
        : html`<form id="busy-form"><div><label for="busy-add">${t('merchant.intake.busy_add')}</label>
            <select id="busy-add">${BUSY_CHOICES.map((n) => html`<option value="${n}">${t('merchant.intake.minutes', { n })}</option>`)}</select></div>
            <div><label for="busy-for">${t('merchant.intake.busy_for')}</label>
            <select id="busy-for">${BUSY_FOR_CHOICES.map((n) => html`<option value="${n}">${t('merchant.intake.minutes', { n })}</option>`)}
              <option value="">${t('merchant.intake.until_off')}</option></select></div>
            <button type="submit" class="secondary" id="busy-on">${t('merchant.intake.busy')}</button></form>`}
      <p class="error" role="alert" id="busy-error"></p>
    </div>
    <div class="card">
      <form id="cap-form"><div><label for="cap">${t('merchant.intake.cap')}</label>
        <input id="cap" type="number" inputmode="numeric" min="1" max="500" value="${i.max_open_orders ?? ''}"></div>
        <button type="submit" class="secondary" id="cap-save">${t('merchant.intake.cap_save')}</button></form>
      <p class="error" role="alert" id="cap-error"></p>
    </div>
    </div>
  </section>`;
}

function linesHtml(o) {
  return html`<ul class="items" aria-label="${t('merchant.order.items')}">${o.lines.map(
    (l) => html`<li><span class="qty">${l.quantity}×</span> ${l.name}
      ${l.options.length ? html`<ul class="opts">${l.options.map((op) => html`<li>${op.name}</li>`)}</ul>` : ''}
      ${l.note ? html`<p class="note">${t('merchant.order.note', { note: l.note })}</p>` : ''}</li>`,
  )}</ul>`;
}

function orderCard(o) {
  const id = o.id;
  const short = fmt.shortId(id);
  const meta = [t('merchant.order.placed', { time: fmt.shortTime(o.placed_at) })];
  if (o.scheduled_for) meta.push(t('merchant.order.scheduled', { time: fmt.dateTime(o.scheduled_for) }));
  if (KITCHEN.includes(o.state)) meta.push(t('merchant.order.ready_by', { time: fmt.shortTime(o.ready_at) }));
  if (o.state === 'ready') meta.push(t('merchant.order.ready_at', { time: fmt.shortTime(o.ready_at) }));
  let actions = '';
  if (o.state === 'placed') {
    const reason = st.reason[id] || REJECT_REASONS[0];
    actions = html`<fieldset><legend>${t('merchant.accept.legend')}</legend>
        <div class="prep-choices">${PREP_CHOICES.map((n) => html`<button type="button" data-accept="${n}">${t('merchant.accept.min', { n })}</button>`)}</div>
        <div class="custom-prep"><div><label for="prep-${id}">${t('merchant.accept.custom')}</label>
          <input id="prep-${id}" data-prep="${id}" type="number" inputmode="numeric" min="1" max="120" value="${st.prep[id] ?? ''}"></div>
          <button type="button" class="secondary" data-accept-custom>${t('merchant.accept.custom_button')}</button></div>
      </fieldset>
      <div class="reject-row"><div><label for="reason-${id}">${t('merchant.reject.label')}</label>
        <select id="reason-${id}" data-reason="${id}">${REJECT_REASONS.map((r) => html`<option value="${r}" ${r === reason ? 'selected' : ''}>${t(`merchant.reject.${r}`)}</option>`)}</select></div>
        <button type="button" class="danger" data-reject id="reject-${id}">${t('merchant.reject.button')}</button></div>`;
  } else if (o.state === 'accepted') {
    actions = html`<div class="actions"><button type="button" class="secondary" data-step="preparing">${t('merchant.preparing')}</button>
      <button type="button" class="primary" data-step="ready">${t('merchant.ready')}</button></div>`;
  } else if (o.state === 'preparing') {
    actions = html`<div class="actions"><button type="button" class="primary" data-step="ready">${t('merchant.ready')}</button></div>`;
  } else if (o.state === 'ready') {
    actions = html`<p class="meta">${o.courier_id ? t('merchant.order.courier') : t('merchant.order.no_courier')}</p>`;
  }
  return html`<li><section class="card order" data-order="${id}" data-state="${o.state}" aria-labelledby="o-${id}">
    <h3 id="o-${id}"><span>${t('merchant.order.title', { id: short })}</span>${stateBadge(o.state)}</h3>
    <p class="meta">${meta.join(' · ')}</p>
    ${linesHtml(o)}
    <p class="food"><span>${t('merchant.order.food')}</span><span>${fmt.money(o.price.subtotal)}</span></p>
    ${actions}
    <p class="error" role="alert" id="err-${id}"></p>
  </section></li>`;
}

function doneRow(o) {
  const why = o.reject_reason ? ` · ${t(`merchant.reject.${o.reject_reason}`)}` : '';
  return html`<li data-order="${o.id}" data-state="${o.state}"><span>${t('merchant.order.title', { id: fmt.shortId(o.id) })} · ${fmt.shortTime(o.placed_at)}${why}</span>${stateBadge(o.state)}</li>`;
}

function column(key, list, body) {
  return html`<section class="column" id="col-${key}" aria-labelledby="col-${key}-title">
    <h2 id="col-${key}-title"><span>${t(`merchant.col.${key}`)}</span> <span class="count badge">${list.length}</span></h2>
    ${list.length ? body : html`<p class="muted">${t('merchant.col.empty')}</p>`}
  </section>`;
}

function drawOrders() {
  if (!st.merchant) return;
  // Oldest first in the working columns: the first in is the first out.
  const byPlaced = (a, b) => a.placed_at.localeCompare(b.placed_at);
  const fresh = st.orders.filter((o) => o.state === 'placed').sort(byPlaced);
  const kitchen = st.orders.filter((o) => KITCHEN.includes(o.state)).sort(byPlaced);
  const ready = st.orders.filter((o) => o.state === 'ready').sort(byPlaced);
  const done = st.orders.filter((o) => DONE.includes(o.state) && placedToday(o));
  render(
    panel,
    html`<h1 id="orders-title">${st.merchant.name}</h1>
    ${statusHtml()}
    <div class="board">
      ${column('new', fresh, html`<ul class="orders-list">${fresh.map(orderCard)}</ul>`)}
      ${column('kitchen', kitchen, html`<ul class="orders-list">${kitchen.map(orderCard)}</ul>`)}
      ${column('ready', ready, html`<ul class="orders-list">${ready.map(orderCard)}</ul>`)}
      ${column('done', done, html`<ul class="orders-list done-list">${done.map(doneRow)}</ul>`)}
    </div>
    ${intakeHtml()}`,
  );
}

/** Runs an order action from its card, then re-reads the list. */
function orderAction(button, id, action) {
  return busy(button, $(`#err-${id}`), async () => {
    await action();
    delete st.prep[id];
    await refreshOrders();
  });
}

panel.addEventListener('input', (e) => {
  const el = e.target;
  if (el.dataset.prep) st.prep[el.dataset.prep] = el.value;
  if (el.dataset.reason) st.reason[el.dataset.reason] = el.value;
});
panel.addEventListener('change', (e) => {
  const el = e.target;
  if (el.dataset.reason) st.reason[el.dataset.reason] = el.value;
});

panel.addEventListener('click', async (e) => {
  if (st.screen !== 'orders') return;
  const button = e.target.closest('button');
  if (!button) return;
  const card = button.closest('[data-order]');
  if (card) {
    const id = card.dataset.order;
    const accept = (minutes) => {
      acknowledge([id]);
      return orderAction(button, id, () => api.post(`/v1/orders/${id}/accept`, { prep_minutes: minutes }));
    };
    if (button.dataset.accept) return accept(Number(button.dataset.accept));
    if ('acceptCustom' in button.dataset) {
      const n = Number($(`#prep-${id}`).value);
      if (!Number.isInteger(n) || n < 1 || n > 120) {
        $(`#err-${id}`).textContent = t('merchant.accept.invalid');
        $(`#prep-${id}`).focus();
        return;
      }
      return accept(n);
    }
    if ('reject' in button.dataset) {
      const reason = $(`#reason-${id}`).value;
      acknowledge([id]);
      const ok = await confirmDialog({
        title: t('merchant.reject.confirm_title'),
        body: `${t(`merchant.reject.${reason}`)} — ${t('merchant.reject.confirm_body')}`,
        confirm: t('merchant.reject.button'),
        danger: true,
      });
      if (!ok) return;
      return orderAction($(`#reject-${id}`) || button, id, () => api.post(`/v1/orders/${id}/reject`, { reason }));
    }
    if (button.dataset.step) return orderAction(button, id, () => api.post(`/v1/orders/${id}/${button.dataset.step}`));
    return;
  }
  if (button.id === 'resume') return intakeAction(button, '#pause-error', () => api.post(`/v1/merchants/${mid()}/resume`));
  if (button.id === 'busy-off') return intakeAction(button, '#busy-error', () => api.request('DELETE', `/v1/merchants/${mid()}/busy`));
});

function intakeAction(button, errSel, action) {
  return busy(button, $(errSel), async () => {
    st.merchant = await action();
    drawOrders();
    const again = $(`#${button.id}`) || $('#intake-status');
    if (again) again.focus();
  });
}

panel.addEventListener('submit', (e) => {
  if (st.screen !== 'orders') return;
  const form = e.target;
  e.preventDefault();
  if (form.id === 'pause-form') {
    const v = $('#pause-for').value;
    return intakeAction($('#pause'), '#pause-error', () => api.post(`/v1/merchants/${mid()}/pause`, { minutes: v ? Number(v) : null }));
  }
  if (form.id === 'busy-form') {
    const extra = Number($('#busy-add').value);
    const v = $('#busy-for').value;
    return intakeAction($('#busy-on'), '#busy-error', () =>
      api.put(`/v1/merchants/${mid()}/busy`, { extra_minutes: extra, for_minutes: v ? Number(v) : null }));
  }
  if (form.id === 'cap-form') {
    const v = $('#cap').value.trim();
    return intakeAction($('#cap-save'), '#cap-error', () =>
      api.put(`/v1/merchants/${mid()}/max-open-orders`, { max_open_orders: v ? Number(v) : null }));
  }
});

// ---- the menu editor

function minorDigits(currency) {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
  } catch {
    return 2;
  }
}

function rangesText(ranges) {
  return (ranges || []).map((r) => `${r.open}-${r.close}`).join(', ');
}

/** `11:00-15:00, 18:00-22:00` as ranges, or null if it does not read so. */
function parseRanges(text) {
  const s = text.trim();
  if (!s) return [];
  const out = [];
  for (const part of s.split(/[,;，]/)) {
    const m = part.trim().match(/^(\d{1,2}:\d{2})\s*[-–]\s*(\d{1,2}:\d{2})$/);
    if (!m) return null;
    const pad = (x) => x.padStart(5, '0');
    out.push({ open: pad(m[1]), close: pad(m[2]) });
  }
  return out;
}

/** The editor's copy of a menu document: the text of each field as typed. */
function menuDraft(doc, version) {
  const digits = minorDigits(doc.currency || 'USD');
  return {
    version,
    currency: doc.currency || 'USD',
    digits,
    categories: (doc.categories || []).map((c) => ({
      id: c.id ?? null,
      name: c.name ?? '',
      items: (c.items || []).map((i) => ({
        id: i.id ?? null,
        name: i.name ?? '',
        description: i.description ?? '',
        price: typeof i.price === 'number' ? (i.price / 10 ** digits).toFixed(digits) : '',
        sold_out: !!i.sold_out,
        availability: rangesText(i.availability),
        options: JSON.stringify(i.option_groups || [], null, 1),
      })),
    })),
    errors: {},
    general: [],
    notice: '',
    dirty: false,
  };
}

/** The document to import from the editor, or null with the errors set on the fields. */
function menuDocument(d) {
  const errors = {};
  const doc = {
    version: d.version,
    currency: d.currency,
    categories: d.categories.map((c, ci) => ({
      id: c.id,
      name: c.name.trim(),
      items: c.items.map((i, ii) => {
        const p = `categories[${ci}].items[${ii}]`;
        const priceText = String(i.price).trim().replace(',', '.');
        let price = NaN;
        if (/^\d+(\.\d+)?$/.test(priceText)) price = Math.round(Number(priceText) * 10 ** d.digits);
        if (!Number.isFinite(price)) errors[`${p}.price`] = t('merchant.menu.bad_price');
        const availability = parseRanges(i.availability);
        if (availability === null) errors[`${p}.availability`] = t('merchant.menu.bad_range');
        let groups = [];
        try {
          groups = i.options.trim() ? JSON.parse(i.options) : [];
          if (!Array.isArray(groups)) throw new Error('[ … ]');
        } catch (e) {
          errors[`${p}.option_groups`] = t('merchant.menu.options_bad', { error: e.message });
        }
        return { id: i.id, name: i.name.trim(), description: i.description.trim(), price, sold_out: i.sold_out, availability: availability || [], option_groups: groups };
      }),
    })),
  };
  d.errors = errors;
  d.general = [];
  return Object.keys(errors).length ? null : doc;
}

/** The server's `invalid_menu` message ("2 refused: path: problem; path: problem") as {path: problem}. */
function refusals(message) {
  const out = [];
  const body = message.replace(/^\d+ refused: /, '');
  for (const part of body.split('; ')) {
    const at = part.indexOf(': ');
    if (at > 0) out.push([part.slice(0, at), part.slice(at + 2)]);
    else out.push(['', part]);
  }
  return out;
}

/** The editor's field that shows an error of `path`: the field itself, else the nearest one above it. */
function fieldOf(path, d) {
  const m = path.match(/^categories\[(\d+)\](?:\.(name|items)(?:\[(\d+)\](?:\.(\w+))?)?)?/);
  if (!m) return null;
  const [, ci, what, ii, field] = m;
  if (!d.categories[ci]) return null;
  if (what === 'name') return `categories[${ci}].name`;
  if (what === 'items' && ii !== undefined && d.categories[ci].items[ii]) {
    const base = `categories[${ci}].items[${ii}]`;
    if (['name', 'description', 'price', 'availability', 'option_groups'].includes(field)) return `${base}.${field}`;
    return `${base}.name`;
  }
  return `categories[${ci}].name`;
}

function fieldError(path) {
  const msg = st.menu.errors[path] || '';
  return html`<p class="field-error" id="err-${path}">${msg}</p>`;
}

/** `aria-describedby` and `aria-invalid` of a field with an error. */
function invalid(path) {
  return st.menu.errors[path] ? html`aria-invalid="true" aria-describedby="err-${path}"` : '';
}

async function openMenu(force = false) {
  if (!st.menu || force) {
    render(panel, html`<p class="loading">${t('merchant.loading')}</p>`);
    try {
      const doc = await api.get(`/v1/merchants/${mid()}/menu/export`);
      st.menu = menuDraft(doc, doc.version);
    } catch (e) {
      render(panel, html`<section class="card"><h1>${t('merchant.menu.title')}</h1><p class="error" role="alert">${errorText(e)}</p></section>`);
      return;
    }
  }
  drawMenu();
}

function itemHtml(item, ci, ii) {
  const p = `categories[${ci}].items[${ii}]`;
  const f = (name) => `${p}.${name}`;
  const idOf = (name) => `m-${ci}-${ii}-${name}`;
  return html`<div class="item" data-item="${item.id || ''}" data-path="${p}">
    <h3 id="${idOf('title')}">${item.name || t('merchant.menu.new_item')}</h3>
    <div class="item-grid">
      <div><label for="${idOf('name')}">${t('merchant.menu.item_name')}</label>
        <input id="${idOf('name')}" data-field="${f('name')}" value="${item.name}" maxlength="100" ${invalid(f('name'))}>${fieldError(f('name'))}</div>
      <div><label for="${idOf('price')}">${t('merchant.menu.price', { currency: st.menu.currency })}</label>
        <input id="${idOf('price')}" data-field="${f('price')}" value="${item.price}" inputmode="decimal" ${invalid(f('price'))}>${fieldError(f('price'))}</div>
      <div class="wide"><label for="${idOf('description')}">${t('merchant.menu.description')}</label>
        <textarea id="${idOf('description')}" data-field="${f('description')}" maxlength="1000" ${invalid(f('description'))}>${item.description}</textarea>${fieldError(f('description'))}</div>
      <div><label for="${idOf('availability')}">${t('merchant.menu.availability')}</label>
        <input id="${idOf('availability')}" data-field="${f('availability')}" value="${item.availability}" placeholder="11:00-15:00" ${invalid(f('availability'))}>${fieldError(f('availability'))}</div>
      <div><label class="check" for="${idOf('sold_out')}"><input type="checkbox" id="${idOf('sold_out')}" data-soldout="${ci}:${ii}" ${item.sold_out ? 'checked' : ''}> ${t('merchant.menu.sold_out')}</label></div>
      <div class="wide"><label for="${idOf('options')}">${t('merchant.menu.options')}</label>
        <textarea class="json" id="${idOf('options')}" data-field="${f('option_groups')}" spellcheck="false" aria-describedby="${idOf('options-hint')}${st.menu.errors[f('option_groups')] ? ` err-${f('option_groups')}` : ''}" ${st.menu.errors[f('option_groups')] ? 'aria-invalid="true"' : ''}>${item.options}</textarea>
        <p class="hint" id="${idOf('options-hint')}">${t('merchant.menu.options_hint')}</p>${fieldError(f('option_groups'))}</div>
    </div>
    <button type="button" class="link" data-remove-item="${ci}:${ii}">${t('merchant.menu.remove_item', { name: item.name || t('merchant.menu.new_item') })}</button>
  </div>`;
}

function drawMenu() {
  const d = st.menu;
  render(
    panel,
    html`<h1 id="menu-title">${t('merchant.menu.title')} <span class="badge" id="menu-version">${t('merchant.menu.version', { n: d.version ?? 0 })}</span>
      ${d.dirty ? html`<span class="badge warn">${t('merchant.menu.unsaved')}</span>` : ''}</h1>
    <div class="toolbar">
      <button type="button" class="primary" id="menu-save">${t('merchant.menu.save')}</button>
      <button type="button" class="secondary" id="menu-reload">${t('merchant.menu.reload')}</button>
      <button type="button" class="secondary" id="menu-export">${t('merchant.menu.export')}</button>
      <label class="filepick" for="menu-file">${t('merchant.menu.import')}<input type="file" id="menu-file" accept="application/json,.json"></label>
    </div>
    <p role="status" id="menu-status" class="hint">${d.notice}</p>
    <div id="menu-errors" role="alert">${d.general.length ? html`<ul class="errors-list error">${d.general.map((g) => html`<li>${g}</li>`)}</ul>` : ''}</div>
    ${d.categories.length ? '' : html`<p>${t('merchant.menu.empty')}</p>`}
    ${d.categories.map((c, ci) => html`<section class="card category" aria-labelledby="cat-${ci}-title">
      <h2 id="cat-${ci}-title">${c.name || t('merchant.menu.new_category')}</h2>
      <div class="row"><div><label for="cat-${ci}-name">${t('merchant.menu.category')}</label>
        <input id="cat-${ci}-name" data-field="categories[${ci}].name" value="${c.name}" maxlength="100" ${invalid(`categories[${ci}].name`)}>${fieldError(`categories[${ci}].name`)}</div></div>
      ${c.items.map((item, ii) => itemHtml(item, ci, ii))}
      <div class="toolbar">
        <button type="button" class="secondary" data-add-item="${ci}">${t('merchant.menu.add_item', { name: c.name || t('merchant.menu.new_category') })}</button>
        <button type="button" class="link" data-remove-category="${ci}">${t('merchant.menu.remove_category', { name: c.name || t('merchant.menu.new_category') })}</button>
      </div>
    </section>`)}
    <button type="button" class="secondary" id="add-category">${t('merchant.menu.add_category')}</button>`,
  );
}

/** Sets a field of the draft from its path (`categories[0].items[1].price`). */
function setDraftField(path, value) {
  const m = path.match(/^categories\[(\d+)\]\.(?:name|items\[(\d+)\]\.(\w+))$/);
  if (!m) return;
  const c = st.menu.categories[Number(m[1])];
  if (m[2] === undefined) c.name = value;
  else {
    const key = m[3] === 'option_groups' ? 'options' : m[3];
    c.items[Number(m[2])][key] = value;
  }
  st.menu.dirty = true;
}

panel.addEventListener('input', (e) => {
  if (st.screen !== 'menu') return;
  const el = e.target;
  if (el.dataset.field) setDraftField(el.dataset.field, el.value);
});

panel.addEventListener('change', async (e) => {
  if (st.screen !== 'menu') return;
  const el = e.target;
  if (el.dataset.soldout) {
    const [ci, ii] = el.dataset.soldout.split(':').map(Number);
    const item = st.menu.categories[ci].items[ii];
    const want = el.checked;
    if (!item.id) {
      item.sold_out = want;
      st.menu.dirty = true;
      return;
    }
    el.disabled = true;
    try {
      const r = await api.put(`/v1/merchants/${mid()}/menu/items/${item.id}/sold-out`, { sold_out: want });
      item.sold_out = r.sold_out;
      st.menu.version = r.version;
      st.menu.notice = t(want ? 'merchant.menu.sold_out_saved' : 'merchant.menu.in_stock_saved', { name: item.name });
      st.menu.general = [];
    } catch (err) {
      el.checked = !want;
      st.menu.general = [errorText(err)];
    }
    drawMenu();
    const again = document.getElementById(el.id);
    if (again) again.focus();
    return;
  }
  if (el.id === 'menu-file' && el.files && el.files[0]) {
    const file = el.files[0];
    try {
      const doc = JSON.parse(await file.text());
      if (!doc || !Array.isArray(doc.categories)) throw new Error('not a menu');
      const version = st.menu.version;
      st.menu = menuDraft(doc, version);
      st.menu.dirty = true;
      st.menu.notice = t('merchant.menu.imported');
    } catch {
      st.menu.general = [t('merchant.menu.bad_file')];
    }
    drawMenu();
    $('#menu-save').focus();
  }
});

panel.addEventListener('click', async (e) => {
  if (st.screen !== 'menu') return;
  const b = e.target.closest('button');
  if (!b) return;
  const d = st.menu;
  if (b.id === 'add-category') {
    d.categories.push({ id: null, name: '', items: [] });
    d.dirty = true;
    drawMenu();
    $(`#cat-${d.categories.length - 1}-name`).focus();
  } else if (b.dataset.addItem !== undefined) {
    const ci = Number(b.dataset.addItem);
    d.categories[ci].items.push({ id: null, name: '', description: '', price: '', sold_out: false, availability: '', options: '[]' });
    d.dirty = true;
    drawMenu();
    $(`#m-${ci}-${d.categories[ci].items.length - 1}-name`).focus();
  } else if (b.dataset.removeItem) {
    const [ci, ii] = b.dataset.removeItem.split(':').map(Number);
    d.categories[ci].items.splice(ii, 1);
    d.errors = {};
    d.dirty = true;
    drawMenu();
    $('#menu-title').focus();
  } else if (b.dataset.removeCategory !== undefined) {
    d.categories.splice(Number(b.dataset.removeCategory), 1);
    d.errors = {};
    d.dirty = true;
    drawMenu();
    $('#menu-title').focus();
  } else if (b.id === 'menu-reload') {
    await openMenu(true);
  } else if (b.id === 'menu-export') {
    await busy(b, null, async () => {
      const doc = await api.get(`/v1/merchants/${mid()}/menu/export`);
      const blob = new Blob([JSON.stringify(doc, null, 2)], { type: 'application/json' });
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = `menu-${st.merchant.name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-v${doc.version}.json`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    });
  } else if (b.id === 'menu-save') {
    await saveMenu(b);
  }
});

async function saveMenu(button) {
  const d = st.menu;
  d.notice = '';
  const doc = menuDocument(d);
  if (!doc) {
    d.general = [t('merchant.menu.refused', { n: Object.keys(d.errors).length })];
    drawMenu();
    focusFirstError();
    return;
  }
  button.disabled = true;
  try {
    const saved = await api.put(`/v1/merchants/${mid()}/menu`, doc);
    st.menu = menuDraft(saved, saved.version);
    st.menu.notice = t('merchant.menu.saved', { n: saved.version });
    drawMenu();
    $('#menu-save').focus();
  } catch (e) {
    d.errors = {};
    d.general = [];
    if (e.code === 'invalid_menu') {
      const list = refusals(e.message);
      for (const [path, problem] of list) {
        const field = path && fieldOf(path, d);
        if (field) d.errors[field] = d.errors[field] ? `${d.errors[field]}; ${path}: ${problem}` : path === field ? problem : `${path}: ${problem}`;
        else d.general.push(path ? `${path}: ${problem}` : problem);
      }
      d.general.unshift(t('merchant.menu.refused', { n: list.length }));
    } else if (e.code === 'menu_changed') {
      d.general = [t('merchant.menu.changed')];
    } else {
      d.general = [errorText(e)];
    }
    drawMenu();
    focusFirstError();
  }
}

function focusFirstError() {
  const el = $('[aria-invalid="true"]', panel) || $('#menu-errors', panel);
  if (el) {
    if (!el.matches('input, textarea, select')) el.setAttribute('tabindex', '-1');
    el.focus();
  }
}

// ---- opening hours

function hoursDraft(h) {
  const weekly = {};
  for (const day of DAYS) weekly[day] = (h.weekly[day] || []).map((r) => ({ ...r }));
  return {
    weekly,
    exceptions: (h.exceptions || []).map((e) => ({ date: e.date, ranges: rangesText(e.ranges) })),
    errors: {},
    general: '',
    notice: '',
  };
}

function openHours() {
  st.hours = hoursDraft(st.merchant.hours);
  drawHours();
}

function hoursError(key) {
  const msg = st.hours.errors[key] || '';
  return html`<p class="field-error" id="herr-${key}">${msg}</p>`;
}

function drawHours() {
  const h = st.hours;
  render(
    panel,
    html`<h1 id="hours-title">${t('merchant.hours.title')}</h1>
    <p class="hint">${t('merchant.hours.zone')}</p>
    <form id="hours-form" novalidate>
      <section class="card" aria-labelledby="weekly-title">
        <h2 id="weekly-title">${t('merchant.hours.weekly')}</h2>
        ${DAYS.map((day) => {
          const dayName = t(`merchant.day.${day}`);
          return html`<div class="day" data-day="${day}">
            <h3 id="day-${day}">${dayName}</h3>
            <div>
              ${h.weekly[day].length ? '' : html`<p class="muted">${t('merchant.hours.closed')}</p>`}
              ${h.weekly[day].map((r, i) => html`<div class="range">
                <div><label for="h-${day}-${i}-open">${t('merchant.hours.open')}</label>
                  <input id="h-${day}-${i}-open" data-hours="${day}:${i}:open" value="${r.open}" placeholder="HH:MM" inputmode="numeric" maxlength="5" aria-describedby="day-${day}"></div>
                <div><label for="h-${day}-${i}-close">${t('merchant.hours.close')}</label>
                  <input id="h-${day}-${i}-close" data-hours="${day}:${i}:close" value="${r.close}" placeholder="HH:MM" inputmode="numeric" maxlength="5" aria-describedby="day-${day}"></div>
                <button type="button" class="secondary" data-remove-range="${day}:${i}">${t('merchant.hours.remove_range', { day: dayName, open: r.open, close: r.close })}</button>
              </div>`)}
              ${hoursError(`weekly.${day}`)}
              ${h.weekly[day].length < 4 ? html`<button type="button" class="link" data-add-range="${day}">${t('merchant.hours.add_range', { day: dayName })}</button>` : ''}
            </div>
          </div>`;
        })}
      </section>
      <section class="card" aria-labelledby="exceptions-title">
        <h2 id="exceptions-title">${t('merchant.hours.exceptions')}</h2>
        ${h.exceptions.length ? '' : html`<p class="muted">${t('merchant.hours.no_exceptions')}</p>`}
        ${h.exceptions.map((x, i) => html`<div class="exception">
          <div><label for="x-${i}-date">${t('merchant.hours.date')}</label>
            <input id="x-${i}-date" type="date" data-exception="${i}:date" value="${x.date}"></div>
          <div><label for="x-${i}-ranges">${t('merchant.hours.ranges')}</label>
            <input id="x-${i}-ranges" data-exception="${i}:ranges" value="${x.ranges}" placeholder="12:00-16:00"></div>
          <button type="button" class="secondary" data-remove-exception="${i}">${t('merchant.hours.remove_exception', { date: x.date || '—' })}</button>
          ${hoursError(`exceptions[${i}]`)}
        </div>`)}
        <button type="button" class="link" id="add-exception">${t('merchant.hours.add_exception')}</button>
      </section>
      <p role="status" class="hint" id="hours-status">${h.notice}</p>
      <p class="error" role="alert" id="hours-error">${h.general}</p>
      <div class="actionbar"><button type="submit" class="primary" id="hours-save">${t('merchant.hours.save')}</button></div>
    </form>`,
  );
}

panel.addEventListener('input', (e) => {
  if (st.screen !== 'hours') return;
  const el = e.target;
  if (el.dataset.hours) {
    const [day, i, key] = el.dataset.hours.split(':');
    st.hours.weekly[day][Number(i)][key] = el.value.trim();
  } else if (el.dataset.exception) {
    const [i, key] = el.dataset.exception.split(':');
    st.hours.exceptions[Number(i)][key] = el.value;
  }
});

panel.addEventListener('click', (e) => {
  if (st.screen !== 'hours') return;
  const b = e.target.closest('button');
  if (!b) return;
  const h = st.hours;
  if (b.dataset.addRange) {
    const day = b.dataset.addRange;
    const last = h.weekly[day][h.weekly[day].length - 1];
    h.weekly[day].push(last ? { open: last.close, close: last.close } : { open: '11:00', close: '22:00' });
    drawHours();
    $(`#h-${day}-${h.weekly[day].length - 1}-open`).focus();
  } else if (b.dataset.removeRange) {
    const [day, i] = b.dataset.removeRange.split(':');
    h.weekly[day].splice(Number(i), 1);
    drawHours();
    $(`#day-${day}`).setAttribute('tabindex', '-1');
    $(`#day-${day}`).focus();
  } else if (b.id === 'add-exception') {
    h.exceptions.push({ date: nyDate(new Date()), ranges: '' });
    drawHours();
    $(`#x-${h.exceptions.length - 1}-date`).focus();
  } else if (b.dataset.removeException !== undefined) {
    h.exceptions.splice(Number(b.dataset.removeException), 1);
    drawHours();
    $('#exceptions-title').setAttribute('tabindex', '-1');
    $('#exceptions-title').focus();
  }
});

panel.addEventListener('submit', (e) => {
  if (st.screen !== 'hours') return;
  e.preventDefault();
  const h = st.hours;
  h.errors = {};
  h.general = '';
  h.notice = '';
  const exceptions = [];
  h.exceptions.forEach((x, i) => {
    const ranges = parseRanges(x.ranges);
    if (ranges === null) h.errors[`exceptions[${i}]`] = t('merchant.menu.bad_range');
    exceptions.push({ date: x.date, ranges: ranges || [] });
  });
  if (Object.keys(h.errors).length) {
    drawHours();
    return;
  }
  const button = $('#hours-save');
  button.disabled = true;
  (async () => {
    try {
      st.merchant = await api.put(`/v1/merchants/${mid()}/hours`, { weekly: h.weekly, exceptions });
      st.hours = hoursDraft(st.merchant.hours);
      st.hours.notice = t('merchant.hours.saved');
    } catch (err) {
      // `invalid_hours` names the day or exception: "weekly.friday[0]: ..." or "exceptions[1].date: ...".
      const m = err.code === 'invalid_hours' && err.message.match(/^(weekly\.\w+|exceptions\[\d+\])/);
      if (m && (h.weekly[m[1].slice(7)] || m[1].startsWith('exceptions'))) h.errors[m[1]] = err.message;
      else h.general = errorText(err);
    }
    drawHours();
    const bad = $('.field-error:not(:empty)', panel);
    if (bad) {
      bad.setAttribute('tabindex', '-1');
      bad.focus();
    } else $('#hours-save').focus();
  })();
});

// ---- today's sales

function sum(list, pick) {
  const currency = (list.find((o) => pick(o)) && pick(list.find((o) => pick(o))).currency) || 'USD';
  return { amount: list.reduce((a, o) => a + ((pick(o) && pick(o).amount) || 0), 0), currency };
}

/** Today's date in New York (the statement's days are New York days), `YYYY-MM-DD`. */
function newYorkToday() {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
}

function drawSales() {
  const today = st.orders.filter(placedToday);
  const delivered = today.filter((o) => o.state === 'delivered');
  const subtotal = sum(delivered, (o) => o.price.subtotal);
  const discounts = sum(delivered, (o) => o.price.discount);
  const cancelled = today.filter((o) => o.state === 'cancelled');
  const fees = sum(cancelled, (o) => o.cancel_fee);
  const kpi = (id, k, v) => html`<li><span class="v" id="${id}">${v}</span><span class="k">${k}</span></li>`;
  // What Doorstep owes for today, from the ledger (the statement), not recomputed here.
  const owed = st.statement && st.statement.day === newYorkToday() ? st.statement.totals : null;
  render(
    panel,
    html`<h1 id="sales-title">${t('merchant.sales.title')}</h1>
    <p class="hint">${t('merchant.sales.window')}</p>
    <ul class="sales">
      ${kpi('sales-delivered', t('merchant.sales.delivered'), delivered.length)}
      ${kpi('sales-subtotal', t('merchant.sales.subtotal'), fmt.money(subtotal))}
      ${kpi('sales-discounts', t('merchant.sales.discounts'), fmt.money(discounts))}
      ${kpi('sales-open', t('merchant.sales.open'), today.filter((o) => OPEN.includes(o.state)).length)}
      ${kpi('sales-rejected', t('merchant.sales.rejected'), today.filter((o) => o.state === 'rejected').length)}
      ${kpi('sales-cancel-fees', t('merchant.sales.cancel_fees'), fmt.money(fees))}
      ${owed ? kpi('sales-commission', t('merchant.sales.commission'), fmt.money(owed.commission)) : ''}
      ${owed ? kpi('sales-payable', t('merchant.sales.payable'), fmt.money(owed.net)) : ''}
    </ul>
    ${owed ? '' : html`<p class="notice warn" id="sales-payable-note">${t('merchant.sales.payable_note')}</p>`}
    ${delivered.length
      ? html`<section class="card" aria-labelledby="sales-table-title"><h2 id="sales-table-title">${t('merchant.sales.table')}</h2>
        <table><thead><tr><th scope="col">${t('merchant.sales.order')}</th><th scope="col">${t('merchant.sales.time')}</th><th scope="col" class="num">${t('merchant.sales.amount')}</th></tr></thead>
        <tbody>${delivered.map((o) => html`<tr><td>${fmt.shortId(o.id)}</td><td>${fmt.shortTime(o.placed_at)}</td><td class="num">${fmt.money(o.price.subtotal)}</td></tr>`)}</tbody></table></section>`
      : ''}`,
  );
  // Fetch today's statement once per visit; redraw when it comes.
  const day = newYorkToday();
  if (!st.statementLoading && (!st.statement || st.statement.day !== day || !st.statement.fresh)) {
    st.statementLoading = true;
    api
      .get(`/v1/merchants/${mid()}/statement?from=${day}&to=${day}`)
      .then((s) => {
        st.statement = { day, totals: s.totals, fresh: true };
        if (st.screen === 'sales') drawSales();
      })
      .catch(() => {})
      .finally(() => {
        st.statementLoading = false;
      });
  } else if (st.statement) {
    // The next visit reads it again.
    st.statement.fresh = false;
  }
}

// ---- go

document.documentElement.dataset.locale = locale();
drawMute();
if (api.session && api.session.role === 'merchant') start();
else showAuth();
