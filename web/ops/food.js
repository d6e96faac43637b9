// The console's food delivery: the Orders tab (the operators' list filtered by state and merchant, kept
// current by the `order_*` events of the event stream), an order's page (its details, its timeline read
// from /v1/admin/orders/{id}/events, and manual assignment to a courier, audited with a reason and an
// Idempotency-Key like the console's other actions), the Merchants tab (standing and what each does now:
// open, closed, paused, busy; a merchant's page with its staff and approve/suspend/reinstate), the
// Promos tab (the codes and a form to create one) and the dashboard's food tile.
//
// There is no operator cancellation of a food order in the API yet, so the order page offers none.
import { newIdempotencyKey, errorText } from '/shared/api.js';
import * as fmt from '/shared/format.js';
import { html, render, $, busy, focusHeading } from '/shared/ui.js';
import { t } from '/shared/i18n.js';

let ctx = null;
let orderOnPage = null;
let ordersShown = false;
let reloadTimer = null;
const filters = { state: '', merchant: '' };

export const ORDER_STATES = ['placed', 'accepted', 'preparing', 'ready', 'picked_up', 'delivered', 'rejected', 'cancelled', 'undeliverable'];
const OVER = ['delivered', 'rejected', 'cancelled', 'undeliverable'];

/** Wires the module to the console: `{ api, main, setNav, drivers, loadNames, personName, personLink }`. */
export function initFood(context) {
  ctx = context;
}

/** Adds the Orders, Merchants and Promos tabs before the logout button (once). */
export function addFoodTabs() {
  if ($('[data-nav="orders"]')) return;
  const logout = $('#logout');
  for (const [which, path] of [['orders', '#/orders'], ['merchants', '#/merchants'], ['promos', '#/promos']]) {
    const a = document.createElement('a');
    a.href = path;
    a.dataset.nav = which;
    a.textContent = t(`ops.nav.${which}`);
    logout.before(a);
  }
}

/** Routes `#/orders...`, `#/merchants...` and `#/promos`; false for any other hash. */
export function routeFood(h) {
  orderOnPage = null;
  ordersShown = false;
  const order = h.match(/^\/orders\/([\w-]+)$/);
  const merchant = h.match(/^\/merchants\/([\w-]+)$/);
  if (order) orderPage(order[1]);
  else if (h.startsWith('/orders')) ordersPage();
  else if (merchant) merchantPage(merchant[1]);
  else if (h.startsWith('/merchants')) merchantsPage();
  else if (h.startsWith('/promos')) promosPage();
  else return false;
  return true;
}

/** An event from the stream: an `order_*` one refreshes the list or the order on screen. */
export function onFoodEvent(m) {
  if (typeof m.type !== 'string' || !m.type.startsWith('order_')) return;
  const id = m.job_id || m.ride_id;
  if (orderOnPage && orderOnPage === id) orderPage(id, true);
  if (ordersShown) {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(loadOrders, 250);
  }
}

export function orderState(s) {
  const key = `ops.order_state.${s}`;
  const text = t(key);
  return text === key ? s : text;
}

function stateBadge(s, late) {
  const tone = OVER.includes(s) ? (s === 'delivered' ? 'ok' : 'bad') : s === 'placed' ? 'warn' : 'info';
  return html`<span class="badge ${tone}" data-state="${s}">${orderState(s)}</span>${late ? html` <span class="badge bad" data-late="yes">${t('ops.orders.late')}</span>` : ''}`;
}

function reasonField(id) {
  return html`<label for="${id}">${t('console.reason')}</label>
    <textarea id="${id}" name="reason" maxlength="500" rows="2" required aria-describedby="${id}-hint"></textarea>
    <p class="hint" id="${id}-hint">${t('console.reason_hint')}</p>`;
}

/** Runs an operator action from `form`: POST `path` with `body(form data)`, the reason and one key per form. */
function bindAction(form, path, body, done) {
  if (!form) return;
  const key = newIdempotencyKey();
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const err = $('.error', form);
    const reason = String(f.get('reason') || '').trim();
    if (!reason) {
      err.textContent = t('console.reason_hint');
      $('textarea', form).focus();
      return;
    }
    let extra;
    try {
      extra = body(f);
    } catch (e) {
      err.textContent = e.message;
      return;
    }
    busy($('button[type=submit]', form), err, async () => {
      await ctx.api.post(path, { ...extra, reason }, { 'Idempotency-Key': key });
      await done();
    });
  });
}

// ---- merchants' names (for the filter and the list)

let merchantList = [];

async function loadMerchants() {
  const { merchants } = await ctx.api.get('/v1/admin/merchants');
  merchantList = merchants;
  return merchants;
}

// ---- the orders list

function ordersPage() {
  ctx.setNav('orders');
  ordersShown = true;
  render(ctx.main, html`<h1>${t('ops.orders.title')}</h1>
    <form class="filters" id="order-filters" role="search">
      <div><label for="order-state">${t('ops.orders.state')}</label><select id="order-state"><option value="">${t('ops.orders.any_state')}</option>
        ${ORDER_STATES.map((s) => html`<option value="${s}" ${filters.state === s ? 'selected' : ''}>${orderState(s)}</option>`)}</select></div>
      <div><label for="order-merchant">${t('ops.orders.merchant')}</label><select id="order-merchant"><option value="">${t('ops.orders.any_merchant')}</option></select></div>
    </form>
    <p role="status" id="orders-status" class="muted"></p>
    <div class="table-wrap" id="orders-table"><p class="loading">${t('ops.orders.loading')}</p></div>`);
  $('#order-filters').addEventListener('submit', (e) => e.preventDefault());
  $('#order-state').addEventListener('change', (e) => {
    filters.state = e.target.value;
    loadOrders();
  });
  $('#order-merchant').addEventListener('change', (e) => {
    filters.merchant = e.target.value;
    loadOrders();
  });
  focusHeading(ctx.main);
  loadMerchants().then((list) => {
    const sel = $('#order-merchant');
    if (!sel) return;
    render(sel, html`<option value="">${t('ops.orders.any_merchant')}</option>
      ${list.map((m) => html`<option value="${m.merchant_id}" ${filters.merchant === m.merchant_id ? 'selected' : ''}>${m.name}</option>`)}`);
  }, () => {});
  loadOrders();
}

async function loadOrders() {
  const table = $('#orders-table');
  if (!table || !ordersShown) return;
  const params = new URLSearchParams({ limit: '100' });
  if (filters.state) params.set('state', filters.state);
  if (filters.merchant) params.set('merchant_id', filters.merchant);
  try {
    const { orders } = await ctx.api.get(`/v1/admin/orders?${params}`);
    if (!table.isConnected) return;
    $('#orders-status').textContent = t(orders.length === 100 ? 'ops.orders.count_more' : 'ops.orders.count', { count: orders.length });
    render(table, orders.length
      ? html`<table><caption class="visually-hidden">${t('ops.orders.caption')}</caption>
      <thead><tr><th scope="col">${t('ops.orders.order')}</th><th scope="col">${t('ops.orders.state')}</th><th scope="col">${t('ops.orders.merchant')}</th>
      <th scope="col">${t('ops.orders.customer')}</th><th scope="col">${t('ops.orders.courier')}</th><th scope="col">${t('ops.orders.placed')}</th>
      <th scope="col">${t('ops.orders.promised')}</th><th scope="col">${t('ops.orders.eta')}</th><th scope="col" class="num">${t('ops.orders.total')}</th></tr></thead>
      <tbody>${orders.map((o) => html`<tr data-order="${o.id}" data-state="${o.state}"><td><a href="#/orders/${o.id}">…${fmt.shortId(o.id)}</a></td>
        <td>${stateBadge(o.state, o.late)}</td><td><a href="#/merchants/${o.merchant_id}">${o.merchant_name}</a></td>
        <td>${o.customer_name || `…${fmt.shortId(o.customer_id)}`}</td><td data-courier="${o.courier_id || ''}">${o.courier_id ? o.courier_name || `…${fmt.shortId(o.courier_id)}` : '—'}</td>
        <td>${fmt.time(o.placed_at)}</td><td>${fmt.shortTime(o.promised_at)}</td><td>${fmt.shortTime(o.eta)}</td><td class="num">${fmt.money(o.total)}</td></tr>`)}</tbody></table>`
      : html`<p class="muted" id="orders-none">${t('ops.orders.none')}</p>`);
  } catch (e) {
    if (table.isConnected) render(table, html`<p class="error" role="alert">${errorText(e)}</p>`);
  }
}

// ---- one order

/** Online couriers free now, nearest the restaurant first (at most 15), from the live fleet. */
function freeCouriers(pickup) {
  const out = [];
  for (const [id, d] of ctx.drivers) {
    if (d.status !== 'available' || typeof d.lat !== 'number') continue;
    const dy = (d.lat - pickup.lat) * 111320;
    const dx = (d.lng - pickup.lng) * 111320 * Math.cos((pickup.lat * Math.PI) / 180);
    out.push({ id, metres: Math.hypot(dx, dy) });
  }
  return out.sort((a, b) => a.metres - b.metres).slice(0, 15);
}

function describe(e) {
  const who = (id) => (id ? ctx.personName(id) : '');
  switch (e.type) {
    case 'order_placed': return t('ops.order_event.placed', { total: fmt.money(e.total), promised: fmt.shortTime(e.promised_at) });
    case 'order_accepted': return t('ops.order_event.accepted', { ready: fmt.shortTime(e.ready_at) });
    case 'order_preparing': return t('ops.order_event.preparing');
    case 'order_ready': return t('ops.order_event.ready');
    case 'order_rejected': return t('ops.order_event.rejected', { reason: e.reason.replace(/_/g, ' ') });
    case 'order_cancelled': return t('ops.order_event.cancelled');
    case 'order_offered': return t('ops.order_event.offered', { courier: who(e.courier) });
    case 'order_courier_assigned': return t('ops.order_event.courier_assigned', { courier: who(e.courier) });
    case 'order_courier_at_restaurant': return t('ops.order_event.at_restaurant', { courier: who(e.courier) });
    case 'order_picked_up': return t('ops.order_event.picked_up', { courier: who(e.courier) });
    case 'order_handover_attempt_failed': return t('ops.order_event.handover_failed');
    case 'order_delivered': return t('ops.order_event.delivered', { courier: who(e.courier) });
    case 'order_undeliverable': return t('ops.order_event.undeliverable');
    default: return e.type;
  }
}

async function orderPage(id, quiet = false) {
  ctx.setNav('orders');
  orderOnPage = id;
  const back = html`<p><a href="#/orders">${t('ops.order.back')}</a></p>`;
  if (!quiet) render(ctx.main, html`${back}<h1>${t('ops.order.title', { id: fmt.shortId(id) })}</h1><p class="loading">${t('ops.orders.loading')}</p>`);
  try {
    const [o, ev] = await Promise.all([ctx.api.get(`/v1/orders/${id}`), ctx.api.get(`/v1/admin/orders/${id}/events`)]);
    if (!merchantList.length) await loadMerchants().catch(() => {});
    const candidates = ['accepted', 'preparing', 'ready'].includes(o.state) && !o.courier_id ? freeCouriers(o.pickup) : [];
    await ctx.loadNames([o.customer_id, o.courier_id, ...candidates.map((c) => c.id), ...ev.events.map((e) => e.courier)]);
    if (orderOnPage !== id) return;
    const merchant = merchantList.find((m) => m.merchant_id === o.merchant_id);
    const assignable = ['accepted', 'preparing', 'ready'].includes(o.state) && !o.courier_id;
    render(ctx.main, html`${back}
      <h1>${t('ops.order.title', { id: fmt.shortId(id) })} <span id="order-page-state" data-state="${o.state}">${stateBadge(o.state, false)}</span></h1>
      <p class="muted">${o.id}</p>
      <div class="ride-page">
        <div>
          <section class="card" aria-labelledby="order-details"><h2 id="order-details">${t('ops.order.details')}</h2>
            <dl class="kv"><dt>${t('ops.orders.merchant')}</dt><dd><a href="#/merchants/${o.merchant_id}">${merchant ? merchant.name : `…${fmt.shortId(o.merchant_id)}`}</a></dd>
            <dt>${t('ops.orders.customer')}</dt><dd>${ctx.personLink(o.customer_id)}</dd>
            <dt>${t('ops.orders.courier')}</dt><dd id="order-courier" data-courier="${o.courier_id || ''}">${o.courier_id ? ctx.personLink(o.courier_id) : t('console.nobody')}</dd>
            <dt>${t('ops.order.address')}</dt><dd>${o.address}</dd>
            <dt>${t('ops.orders.placed')}</dt><dd>${fmt.dateTime(o.placed_at)}</dd>
            <dt>${t('ops.order.ready_at')}</dt><dd>${fmt.shortTime(o.ready_at)}</dd>
            <dt>${t('ops.orders.promised')}</dt><dd>${fmt.shortTime(o.promised_at)}</dd>
            <dt>${t('ops.orders.eta')}</dt><dd>${fmt.shortTime(o.eta)}</dd>
            <dt>${t('ops.orders.total')}</dt><dd>${fmt.money(o.price.total)}</dd></dl>
            <h3>${t('ops.order.lines')}</h3>
            <ul class="docs">${o.lines.map((l) => html`<li>${l.quantity} × ${l.name}${l.options.length ? ` (${l.options.map((x) => x.name).join(', ')})` : ''} · ${fmt.money(l.total)}</li>`)}</ul></section>
          <section class="card" aria-labelledby="order-actions"><h2 id="order-actions">${t('console.actions')}</h2>
            ${assignable
              ? html`<form class="action" id="act-assign" novalidate><h3>${t('ops.order.assign')}</h3>
                <label for="assign-to">${t('ops.order.assign_to')}</label>
                <select id="assign-to" name="courier_id" required>${candidates.length
                  ? candidates.map((c) => html`<option value="${c.id}">${t('ops.order.courier_option', { name: ctx.personName(c.id), distance: fmt.distance(c.metres) })}</option>`)
                  : html`<option value="">${t('ops.order.no_free_courier')}</option>`}</select>
                ${reasonField('assign-reason')}<p class="error" role="alert"></p>
                <button type="submit" class="primary" id="assign-submit">${t('ops.order.assign_submit')}</button></form>`
              : html`<p class="muted">${t('console.no_actions')}</p>`}
            <p class="hint">${t('ops.order.no_cancel')}</p>
            <p role="status" id="action-status" class="muted"></p></section>
        </div>
        <div>
          <section class="card" aria-labelledby="order-tl"><h2 id="order-tl">${t('ops.ride.timeline')}</h2>
            <ol class="timeline" id="order-timeline">${ev.events.map((e) => html`<li data-type="${e.type}"><time datetime="${e.at}">${fmt.time(e.at)}</time><br>${describe(e)}</li>`)}</ol></section>
        </div>
      </div>`);
    bindAction($('#act-assign'), `/v1/admin/orders/${id}/assign`, (f) => {
      const courier = String(f.get('courier_id') || '');
      if (!courier) throw new Error(t('ops.order.no_free_courier'));
      return { courier_id: courier };
    }, async () => {
      await orderPage(id, true);
      const s = $('#action-status');
      if (s) s.textContent = t('console.done');
    });
    if (!quiet) focusHeading(ctx.main);
  } catch (e) {
    render(ctx.main, html`${back}<h1>${t('ops.order.title', { id: fmt.shortId(id) })}</h1><p class="error" role="alert">${errorText(e)}</p>`);
  }
}

// ---- merchants

/** What a merchant does now: `suspended`, `pending`, `paused`, `busy`, `open` or `closed`. */
export function merchantNow(m) {
  if (m.status !== 'approved') return m.status;
  if (m.intake.paused) return 'paused';
  if (m.open_now && m.intake.busy_minutes > 0) return 'busy';
  return m.open_now ? 'open' : 'closed';
}

function nowBadge(m) {
  const now = merchantNow(m);
  const tone = { open: 'ok', busy: 'warn', paused: 'warn', closed: '', pending: 'info', suspended: 'bad' }[now];
  return html`<span class="badge ${tone}" data-now="${now}">${t(`ops.merchant_now.${now}`)}</span>`;
}

async function merchantsPage() {
  ctx.setNav('merchants');
  render(ctx.main, html`<h1>${t('ops.merchants.title')}</h1><p role="status" id="merchants-status" class="muted"></p>
    <div class="table-wrap" id="merchants-table"><p class="loading">${t('ops.orders.loading')}</p></div>`);
  focusHeading(ctx.main);
  const table = $('#merchants-table');
  try {
    const list = await loadMerchants();
    if (!table.isConnected) return;
    $('#merchants-status').textContent = t('ops.merchants.count', { count: list.length });
    render(table, list.length
      ? html`<table><caption class="visually-hidden">${t('ops.merchants.title')}</caption>
        <thead><tr><th scope="col">${t('ops.merchants.name')}</th><th scope="col">${t('ops.merchants.now')}</th><th scope="col">${t('ops.merchants.address')}</th>
        <th scope="col">${t('ops.merchants.cuisines')}</th><th scope="col" class="num">${t('ops.merchants.prep')}</th></tr></thead>
        <tbody>${list.map((m) => html`<tr data-merchant="${m.merchant_id}" data-status="${m.status}"><td><a href="#/merchants/${m.merchant_id}">${m.name}</a></td>
          <td>${nowBadge(m)}</td><td>${m.address}</td><td>${m.cuisines.join(', ')}</td><td class="num">${t('common.unit.min', { n: m.prep_minutes })}</td></tr>`)}</tbody></table>`
      : html`<p class="muted">${t('ops.merchants.none')}</p>`);
  } catch (e) {
    if (table.isConnected) render(table, html`<p class="error" role="alert">${errorText(e)}</p>`);
  }
}

async function merchantPage(id, quiet = false) {
  ctx.setNav('merchants');
  const back = html`<p><a href="#/merchants">${t('ops.merchant.back')}</a></p>`;
  let m;
  try {
    m = await ctx.api.get(`/v1/admin/merchants/${id}`);
  } catch (e) {
    render(ctx.main, html`${back}<h1>${t('ops.merchants.title')}</h1><p class="error" role="alert">${errorText(e)}</p>`);
    return;
  }
  const actions = [];
  const action = (which, tone) => html`<form class="action" id="act-${which}" novalidate><h3>${t(`ops.merchant.${which}`)}</h3>
    ${reasonField(`${which}-reason`)}<p class="error" role="alert"></p>
    <button type="submit" class="${tone}" id="${which}-submit">${t(`ops.merchant.${which}`)}</button></form>`;
  if (m.status === 'pending') actions.push(action('approve', 'primary'));
  if (m.status === 'suspended') actions.push(action('reinstate', 'primary'));
  if (m.status !== 'suspended') actions.push(action('suspend', 'danger'));
  render(ctx.main, html`${back}
    <h1>${m.name} <span id="merchant-status" data-status="${m.status}">${nowBadge(m)}</span></h1>
    <div class="ride-page">
      <div>
        <section class="card" aria-labelledby="merchant-profile"><h2 id="merchant-profile">${t('ops.merchant.profile')}</h2>
          <dl class="kv"><dt>${t('ops.merchant.standing')}</dt><dd>${t(`ops.merchant_now.${m.status}`)}</dd>
          <dt>${t('ops.merchants.address')}</dt><dd>${m.address}</dd><dt>${t('ops.merchants.cuisines')}</dt><dd>${m.cuisines.join(', ') || '—'}</dd>
          <dt>${t('ops.merchants.prep')}</dt><dd>${t('common.unit.min', { n: m.prep_minutes })}</dd>
          <dt>${t('ops.merchant.radius')}</dt><dd>${fmt.distance(m.delivery_radius_m)}</dd>
          <dt>${t('ops.merchant.next_opening')}</dt><dd>${m.next_opening ? fmt.dateTime(m.next_opening) : '—'}</dd></dl></section>
        <section class="card" aria-labelledby="merchant-staff"><h2 id="merchant-staff">${t('ops.merchant.staff')}</h2>
          ${m.staff && m.staff.length
            ? html`<ul class="docs" id="staff-list">${m.staff.map((s) => html`<li data-staff="${s.user_id}"><a href="#/people/${s.user_id}">${s.name}</a> · ${s.email}</li>`)}</ul>`
            : html`<p class="muted">${t('ops.merchant.no_staff')}</p>`}</section>
      </div>
      <div>
        <section class="card" aria-labelledby="merchant-actions"><h2 id="merchant-actions">${t('console.actions')}</h2>
          ${actions}<p role="status" id="action-status" class="muted"></p></section>
      </div>
    </div>`);
  const after = async () => {
    await merchantPage(id, true);
    const s = $('#action-status');
    if (s) s.textContent = t('console.done');
    const h = $('#merchant-actions');
    if (h) {
      h.setAttribute('tabindex', '-1');
      h.focus();
    }
  };
  for (const which of ['approve', 'suspend', 'reinstate'])
    bindAction($(`#act-${which}`), `/v1/admin/merchants/${id}/${which}`, () => ({}), after);
  if (!quiet) focusHeading(ctx.main);
}

// ---- promo codes

async function promosPage() {
  ctx.setNav('promos');
  render(ctx.main, html`<h1>${t('ops.promos.title')}</h1>
    <div class="ride-page">
      <section class="card" aria-labelledby="promo-new"><h2 id="promo-new">${t('ops.promos.new')}</h2>
        <form class="action" id="act-promo" novalidate>
          <label for="promo-code">${t('ops.promos.code')}</label><input id="promo-code" name="code" required autocomplete="off" maxlength="32" aria-describedby="promo-code-hint">
          <p class="hint" id="promo-code-hint">${t('ops.promos.code_hint')}</p>
          <label for="promo-kind">${t('ops.promos.kind')}</label><select id="promo-kind" name="kind">
            <option value="percent">${t('ops.promos.kind_percent')}</option><option value="amount">${t('ops.promos.kind_amount')}</option></select>
          <label for="promo-value">${t('ops.promos.value')}</label><input id="promo-value" name="value" inputmode="decimal" required autocomplete="off" aria-describedby="promo-value-hint">
          <p class="hint" id="promo-value-hint">${t('ops.promos.value_hint')}</p>
          <label for="promo-min">${t('ops.promos.min_order')}</label><input id="promo-min" name="min_order" inputmode="decimal" value="0" autocomplete="off">
          <label for="promo-per-user">${t('ops.promos.per_user')}</label><input id="promo-per-user" name="per_user_limit" type="number" min="1" value="1">
          <label for="promo-total">${t('ops.promos.total_limit')}</label><input id="promo-total" name="total_limit" type="number" min="1" value="100">
          <label for="promo-expires">${t('ops.promos.expires')}</label><input id="promo-expires" name="expires_at" type="datetime-local" required>
          ${reasonField('promo-reason')}<p class="error" role="alert"></p>
          <button type="submit" class="primary" id="promo-submit">${t('ops.promos.create')}</button></form>
        <p role="status" id="action-status" class="muted"></p></section>
      <section class="card" aria-labelledby="promo-list-title"><h2 id="promo-list-title">${t('ops.promos.list')}</h2><div id="promo-list"><p class="loading">…</p></div></section>
    </div>`);
  const week = new Date(Date.now() + 7 * 86400000);
  const pad = (n) => String(n).padStart(2, '0');
  $('#promo-expires').value = `${week.getFullYear()}-${pad(week.getMonth() + 1)}-${pad(week.getDate())}T23:59`;
  focusHeading(ctx.main);
  const cents = (text) => {
    const v = String(text || '').trim().replace(',', '.');
    if (!/^\d+(\.\d{1,2})?$/.test(v)) throw new Error(t('ops.promos.invalid_amount'));
    return Math.round(Number(v) * 100);
  };
  bindAction($('#act-promo'), '/v1/admin/promos', (f) => {
    const kind = f.get('kind');
    const value = String(f.get('value') || '').trim();
    const body = {
      code: String(f.get('code') || '').trim(),
      min_order: cents(f.get('min_order') || '0'),
      per_user_limit: Number(f.get('per_user_limit')),
      total_limit: Number(f.get('total_limit')),
      expires_at: new Date(String(f.get('expires_at'))).toISOString(),
    };
    if (kind === 'percent') {
      const pct = Number(value.replace(',', '.'));
      if (!(pct > 0 && pct <= 100)) throw new Error(t('ops.promos.invalid_percent'));
      body.percent_bps = Math.round(pct * 100);
    } else {
      body.amount_off = cents(value);
      if (!(body.amount_off > 0)) throw new Error(t('ops.promos.invalid_amount'));
    }
    return body;
  }, async () => {
    await loadPromos();
    const form = $('#act-promo');
    if (form) {
      form.reset();
      $('#promo-expires').value = `${week.getFullYear()}-${pad(week.getMonth() + 1)}-${pad(week.getDate())}T23:59`;
    }
    const s = $('#action-status');
    if (s) s.textContent = t('console.done');
  });
  loadPromos();
}

async function loadPromos() {
  const el = $('#promo-list');
  if (!el) return;
  try {
    const { promos } = await ctx.api.get('/v1/admin/promos');
    if (!el.isConnected) return;
    render(el, promos.length
      ? html`<div class="table-wrap"><table><caption class="visually-hidden">${t('ops.promos.list')}</caption>
        <thead><tr><th scope="col">${t('ops.promos.code')}</th><th scope="col">${t('ops.promos.value')}</th><th scope="col" class="num">${t('ops.promos.used')}</th>
        <th scope="col">${t('ops.promos.expires')}</th></tr></thead>
        <tbody>${promos.map((p) => html`<tr data-promo="${p.code}"><td>${p.code}</td>
          <td>${p.kind === 'percent' ? t('ops.promos.percent_off', { n: p.percent_bps / 100 }) : t('ops.promos.amount_off', { amount: fmt.money(p.amount_off) })}</td>
          <td class="num">${p.used} / ${p.total_limit}</td><td>${fmt.dateTime(p.expires_at)}</td></tr>`)}</tbody></table></div>`
      : html`<p class="muted">${t('ops.promos.none')}</p>`);
  } catch (e) {
    if (el.isConnected) render(el, html`<p class="error" role="alert">${errorText(e)}</p>`);
  }
}

// ---- the dashboard's food tile

let summary = null;

/** Refreshes the food tile's numbers (with the KPIs). */
export async function refreshFoodSummary() {
  summary = await ctx.api.get('/v1/admin/food/summary');
}

/** Draws the food tile into `el`. */
export function renderFoodTile(el) {
  if (!el) return;
  if (!summary) {
    render(el, html`<p class="loading">${t('ops.food.loading')}</p>`);
    return;
  }
  const s = summary;
  const byState = Object.fromEntries(s.today.map((c) => [c.state, c.count]));
  const m = s.merchants;
  render(el, html`<ul class="kpis food-kpis">
      <li class="kpi" id="food-today"><span class="v">${s.today_total}</span><span class="k">${t('ops.food.today')}</span></li>
      <li class="kpi" id="food-late"><span class="v">${s.late}</span><span class="k">${t('ops.food.late')}</span></li>
      <li class="kpi" id="food-waiting"><span class="v">${s.waiting_for_courier}</span><span class="k">${t('ops.food.waiting')}</span></li>
      <li class="kpi" id="food-couriers"><span class="v">${s.couriers_with_orders}</span><span class="k">${t('ops.food.couriers', { carrying: s.couriers_carrying })}</span></li>
    </ul>
    <p class="hint" id="food-states">${ORDER_STATES.filter((st) => byState[st]).map((st) => `${orderState(st)} ${byState[st]}`).join(' · ') || t('ops.food.no_orders')}</p>
    <p class="hint" id="food-merchants">${t('ops.food.merchants', { open: m.open, closed: m.closed, paused: m.paused, busy: m.busy })}</p>`);
}
