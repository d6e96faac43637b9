// The console's house calls: the House calls tab (a day's bookings as a calendar — providers as rows,
// visits as blocks on a time axis — and the same visits as a table, which is what screen readers read:
// the drawing is hidden from them; each provider's utilisation; the vetting of providers over
// /v1/admin/providers with approve/reject/suspend/reinstate, audited with a reason and an
// Idempotency-Key like every console action), and the SOS banner above every page: each open alert with
// its visit, provider, position and time, acknowledged with a reason. The day is re-read on `booking_*`
// events and the banner on `booking_sos_*` ones (and every 15 s).
import { newIdempotencyKey, errorText } from '/shared/api.js';
import * as fmt from '/shared/format.js';
import { html, render, $, busy, focusHeading } from '/shared/ui.js';
import { t } from '/shared/i18n.js';

let ctx = null;
let dayShown = false;
let reloadTimer = null;
let sosTimer = null;
let day = '';
const SOS_EVERY_MS = 15000;
const OVER = ['completed', 'cancelled', 'missed'];
export const BOOKING_STATES = ['confirmed', 'on_the_way', 'arrived', 'in_progress', 'completed', 'cancelled', 'missed'];
// The calendar's axis: 06:00 to 22:00 after the day's first instant.
const AXIS_FROM_H = 6;
const AXIS_TO_H = 22;

/** Wires the module to the console: `{ api, main, setNav }`. */
export function initHouseCalls(context) {
  ctx = context;
}

/** Adds the House calls tab before the logout button (once). */
export function addHouseCallTabs() {
  if ($('[data-nav="housecalls"]')) return;
  const a = document.createElement('a');
  a.href = '#/house-calls';
  a.dataset.nav = 'housecalls';
  a.textContent = t('ops.nav.housecalls');
  $('#logout').before(a);
}

/** Routes `#/house-calls`; false for any other hash. */
export function routeHouseCalls(h) {
  dayShown = false;
  if (!h.startsWith('/house-calls')) return false;
  housecallsPage();
  return true;
}

/** An event from the stream: a `booking_*` one re-reads the day, an SOS one the banner. */
export function onHouseCallEvent(m) {
  if (typeof m.type !== 'string' || !m.type.startsWith('booking_')) return;
  if (m.type.startsWith('booking_sos_')) refreshSos();
  if (dayShown) {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(loadDay, 250);
  }
}

/** Starts watching SOS alerts (after sign-in); `stopSosWatch` on logout. */
export function startSosWatch() {
  clearInterval(sosTimer);
  sosTimer = setInterval(refreshSos, SOS_EVERY_MS);
  refreshSos();
}

export function stopSosWatch() {
  clearInterval(sosTimer);
  const el = $('#sos-banner');
  if (el) {
    el.hidden = true;
    render(el, '');
  }
}

export function bookingState(s) {
  const key = `ops.hc.state.${s}`;
  const text = t(key);
  return text === key ? s : text;
}

function stateBadge(s, late) {
  const tone = OVER.includes(s) ? (s === 'completed' ? 'ok' : 'bad') : s === 'confirmed' ? 'info' : 'warn';
  return html`<span class="badge ${tone}" data-state="${s}">${bookingState(s)}</span>${late ? html` <span class="badge bad" data-late="yes">${t('ops.hc.late')}</span>` : ''}`;
}

function reasonField(id) {
  return html`<label for="${id}">${t('console.reason')}</label>
    <textarea id="${id}" name="reason" maxlength="500" rows="2" required aria-describedby="${id}-hint"></textarea>
    <p class="hint" id="${id}-hint">${t('console.reason_hint')}</p>`;
}

// One Idempotency-Key per action and subject, kept across re-renders until the action succeeds, so that a
// retry after a lost answer is the same action.
const keys = new Map();
function keyFor(what) {
  if (!keys.has(what)) keys.set(what, newIdempotencyKey());
  return keys.get(what);
}

/** Runs an operator action from `form` (the submitter's `value` picks `paths[value]`). */
function bindAction(form, pathOf, done) {
  if (!form) return;
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const button = ev.submitter || $('button[type=submit]', form);
    const err = $('.error', form);
    const reason = String(new FormData(form).get('reason') || '').trim();
    if (!reason) {
      err.textContent = t('console.reason_hint');
      $('textarea', form).focus();
      return;
    }
    const path = pathOf(button.value);
    busy(button, err, async () => {
      await ctx.api.post(path, { reason }, { 'Idempotency-Key': keyFor(path) });
      keys.delete(path);
      await done(button.value);
    });
  });
}

// ---- the SOS banner

const announced = new Set();

async function refreshSos() {
  const el = $('#sos-banner');
  if (!el || !ctx || !ctx.api.token) return;
  let list;
  try {
    list = await ctx.api.get('/v1/admin/sos-alerts');
  } catch {
    return;
  }
  const open = list.alerts.filter((a) => !a.acknowledged_at);
  const fresh = open.filter((a) => !announced.has(a.alert_id));
  for (const a of open) announced.add(a.alert_id);
  el.hidden = open.length === 0;
  if (!open.length) {
    render(el, '');
    return;
  }
  // Keep what an operator is typing: only re-render when the set of open alerts changed.
  const ids = open.map((a) => a.alert_id).join(',');
  if (el.dataset.ids === ids) return;
  el.dataset.ids = ids;
  render(el, html`<section aria-labelledby="sos-title"><h2 id="sos-title">${t('ops.sos.title', { count: open.length })}</h2>
    <p class="visually-hidden" role="alert">${fresh.length ? t('ops.sos.new', { provider: fresh[0].provider_name || '' }) : ''}</p>
    <ul class="sos-list">${open.map((a) => html`<li data-alert="${a.alert_id}">
      <p><strong>${t('ops.sos.from', { provider: a.provider_name || `…${fmt.shortId(a.provider_id)}` })}</strong> ·
        <time datetime="${a.raised_at}">${t('ops.sos.raised', { time: fmt.time(a.raised_at) })}</time></p>
      <p>${t('ops.sos.visit', { id: fmt.shortId(a.booking_id), start: fmt.dateTime(a.booking_start), state: bookingState(a.booking_state || '') })}
        · ${t('ops.sos.customer', { customer: a.customer_name || '—' })} · ${a.address || '—'}</p>
      <p>${a.position
        ? t('ops.sos.position', { lat: a.position.lat.toFixed(5), lng: a.position.lng.toFixed(5), time: fmt.shortTime(a.position.at) })
        : t('ops.sos.no_position')}${a.note ? html` · <q>${a.note}</q>` : ''}</p>
      <form class="action sos-ack" id="ack-${a.alert_id}" novalidate>
        ${reasonField(`ack-reason-${a.alert_id}`)}<p class="error" role="alert"></p>
        <button type="submit" class="primary" value="${a.alert_id}">${t('ops.sos.acknowledge')}</button></form></li>`)}</ul></section>`);
  for (const a of open) {
    bindAction($(`#ack-${a.alert_id}`), (id) => `/v1/admin/sos-alerts/${id}/acknowledge`, async () => {
      el.dataset.ids = '';
      await refreshSos();
      const s = $('#sos-status');
      if (s) s.textContent = t('ops.sos.acknowledged');
    });
  }
}

// ---- the House calls tab

function housecallsPage() {
  ctx.setNav('housecalls');
  dayShown = true;
  render(ctx.main, html`<h1>${t('ops.hc.title')}</h1>
    <form class="filters" id="hc-filters" role="search">
      <div><label for="hc-date">${t('ops.hc.date')}</label><input id="hc-date" type="date" value="${day}"></div>
    </form>
    <p role="status" id="sos-status" class="muted"></p>
    <ul class="kpis" id="hc-kpis" aria-label="${t('ops.hc.kpis')}"><li class="loading">${t('ops.hc.loading')}</li></ul>
    <section class="card" aria-labelledby="hc-cal-title"><h2 id="hc-cal-title">${t('ops.hc.calendar')}</h2>
      <div id="hc-calendar"></div>
      <h3 id="hc-list-title">${t('ops.hc.list')}</h3><div class="table-wrap" id="hc-list"></div></section>
    <section class="card" aria-labelledby="hc-util-title"><h2 id="hc-util-title">${t('ops.hc.utilisation')}</h2>
      <div id="hc-util"></div><p class="hint">${t('ops.hc.util_hint')}</p></section>
    <section class="card" aria-labelledby="hc-vet-title"><h2 id="hc-vet-title">${t('ops.hc.vetting')}</h2>
      <p role="status" id="vet-status" class="muted"></p><div id="hc-vetting"><p class="loading">…</p></div></section>`);
  $('#hc-filters').addEventListener('submit', (e) => e.preventDefault());
  $('#hc-date').addEventListener('change', (e) => {
    if (/^\d{4}-\d{2}-\d{2}$/.test(e.target.value)) {
      day = e.target.value;
      loadDay();
    }
  });
  focusHeading(ctx.main);
  loadDay();
  loadVetting();
}

async function loadDay() {
  const cal = $('#hc-calendar');
  if (!cal || !dayShown) return;
  try {
    const q = day ? `?date=${day}` : '';
    const summary = await ctx.api.get(`/v1/admin/house-calls/summary${q}`);
    day = summary.date;
    const { bookings } = await ctx.api.get(`/v1/admin/house-calls/bookings?date=${day}`);
    if (!cal.isConnected) return;
    const input = $('#hc-date');
    if (input && input.value !== day) input.value = day;
    renderKpis(summary);
    renderCalendar(cal, summary, bookings);
    renderList($('#hc-list'), bookings);
    renderUtilisation($('#hc-util'), summary);
  } catch (e) {
    if (cal.isConnected) render(cal, html`<p class="error" role="alert">${errorText(e)}</p>`);
  }
}

function renderKpis(s) {
  const tiles = [
    ['hc-total', s.total, t('ops.hc.kpi.total')],
    ['hc-late', s.late, t('ops.hc.kpi.late')],
    ['hc-working', s.providers.working, t('ops.hc.kpi.working')],
    ['hc-pending', s.providers.pending, t('ops.hc.kpi.pending')],
    ['hc-sos', s.open_sos, t('ops.hc.kpi.sos')],
  ];
  render($('#hc-kpis'), tiles.map(([id, v, k]) => html`<li class="kpi" id="${id}"><span class="v">${v}</span><span class="k">${k}</span></li>`));
}

/** The drawing: one row per provider, working hours shaded, visits as blocks. Hidden from screen
 * readers (the table below says the same); nothing in it takes focus. */
function renderCalendar(el, summary, bookings) {
  const from = Date.parse(summary.from) + AXIS_FROM_H * 3600000;
  const to = Date.parse(summary.from) + AXIS_TO_H * 3600000;
  const pct = (iso) => Math.min(100, Math.max(0, ((Date.parse(iso) - from) / (to - from)) * 100));
  const rows = new Map();
  for (const d of summary.utilisation) rows.set(d.provider_id, { name: d.name, working: d.working, visits: [] });
  for (const b of bookings) {
    if (!rows.has(b.provider_id)) rows.set(b.provider_id, { name: b.provider_name || `…${fmt.shortId(b.provider_id)}`, working: [], visits: [] });
    rows.get(b.provider_id).visits.push(b);
  }
  if (!rows.size) {
    render(el, html`<p class="muted" id="hc-none">${t('ops.hc.none')}</p>`);
    return;
  }
  const hours = [];
  for (let h = AXIS_FROM_H; h <= AXIS_TO_H; h += 2) hours.push(new Date(Date.parse(summary.from) + h * 3600000).toISOString());
  render(el, html`<div class="hc-cal" aria-hidden="true">
    <div class="hc-row hc-axis"><span class="hc-name"></span><span class="hc-track">${hours.map((iso) => html`<span class="hc-tick" style="left:${pct(iso).toFixed(2)}%">${fmt.shortTime(iso)}</span>`)}</span></div>
    ${[...rows.entries()].map(([id, r]) => html`<div class="hc-row" data-provider="${id}"><span class="hc-name">${r.name}</span><span class="hc-track">
      ${r.working.map((w) => html`<span class="hc-work" style="left:${pct(w.from).toFixed(2)}%;width:${(pct(w.to) - pct(w.from)).toFixed(2)}%"></span>`)}
      ${r.visits.map((b) => html`<span class="hc-visit s-${b.state}${b.late ? ' late' : ''}" data-booking="${b.id}" title="${fmt.shortTime(b.start)} ${b.customer_name || ''} · ${bookingState(b.state)}"
        style="left:${pct(b.start).toFixed(2)}%;width:${Math.max(0.8, pct(b.end) - pct(b.start)).toFixed(2)}%">${fmt.shortTime(b.start)} ${b.customer_name || ''}</span>`)}
    </span></div>`)}</div>`);
}

function renderList(el, bookings) {
  if (!el) return;
  render(el, bookings.length
    ? html`<table aria-labelledby="hc-list-title"><thead><tr><th scope="col">${t('ops.hc.start')}</th><th scope="col">${t('ops.hc.end')}</th>
      <th scope="col">${t('ops.hc.provider')}</th><th scope="col">${t('ops.hc.customer')}</th><th scope="col">${t('ops.hc.service')}</th>
      <th scope="col">${t('ops.hc.state')}</th><th scope="col">${t('ops.hc.address')}</th></tr></thead>
      <tbody>${bookings.map((b) => html`<tr data-booking="${b.id}" data-state="${b.state}"><td>${fmt.shortTime(b.start)}</td><td>${fmt.shortTime(b.end)}</td>
        <td>${b.provider_name || `…${fmt.shortId(b.provider_id)}`}</td><td>${b.customer_name || `…${fmt.shortId(b.customer_id)}`}</td>
        <td>${b.service_name}</td><td>${stateBadge(b.state, b.late)}</td><td>${b.address}</td></tr>`)}</tbody></table>`
    : html`<p class="muted">${t('ops.hc.none')}</p>`);
}

function renderUtilisation(el, s) {
  if (!el) return;
  render(el, s.utilisation.length
    ? html`<div class="table-wrap"><table><caption class="visually-hidden">${t('ops.hc.utilisation')}</caption>
      <thead><tr><th scope="col">${t('ops.hc.provider')}</th><th scope="col" class="num">${t('ops.hc.visits')}</th>
      <th scope="col" class="num">${t('ops.hc.working_min')}</th><th scope="col" class="num">${t('ops.hc.booked_min')}</th>
      <th scope="col" class="num">${t('ops.hc.travel_min')}</th><th scope="col">${t('ops.hc.utilisation_col')}</th></tr></thead>
      <tbody>${s.utilisation.map((d) => {
        const share = d.utilisation_bps === null ? null : d.utilisation_bps / 10000;
        return html`<tr data-provider="${d.provider_id}"><td>${d.name}</td><td class="num">${d.visits}</td><td class="num">${d.working_min}</td>
          <td class="num">${d.booked_min}</td><td class="num">${d.travel_min}</td>
          <td>${share === null ? '—' : html`<meter min="0" max="1" value="${share}" aria-label="${t('ops.hc.utilisation_of', { name: d.name })}"></meter> ${fmt.percent(share)}`}</td></tr>`;
      })}</tbody></table></div>`
    : html`<p class="muted">${t('ops.hc.no_providers')}</p>`);
}

// ---- vetting

/** The decisions that apply to an approval (as `Approval::decide` allows them). */
function decisions(approval) {
  switch (approval) {
    case 'pending': return ['approve', 'reject'];
    case 'rejected': return ['approve'];
    case 'approved': return ['suspend', 'reject'];
    case 'suspended': return ['reinstate', 'reject'];
    default: return [];
  }
}

async function loadVetting() {
  const el = $('#hc-vetting');
  if (!el) return;
  try {
    const { providers } = await ctx.api.get('/v1/admin/providers');
    if (!el.isConnected) return;
    if (!providers.length) {
      render(el, html`<p class="muted">${t('ops.hc.no_providers')}</p>`);
      return;
    }
    // Those waiting for a decision first.
    const order = { pending: 0, suspended: 1, rejected: 2, approved: 3 };
    providers.sort((a, b) => (order[a.approval] ?? 9) - (order[b.approval] ?? 9) || a.name.localeCompare(b.name));
    render(el, html`<ul class="vet-list">${providers.map((p) => {
      const can = p.has_profile ? decisions(p.approval) : [];
      return html`<li data-provider="${p.user_id}" data-approval="${p.approval}"><h3 id="vet-${p.user_id}">${p.name}
        <span class="badge ${p.approval === 'approved' ? 'ok' : p.approval === 'pending' ? 'warn' : 'bad'}">${t(`ops.hc.approval.${p.approval}`)}</span></h3>
        <p class="muted">${p.email} · ${p.bookable ? t('ops.hc.bookable') : t(`ops.hc.not_bookable.${p.not_bookable}`)}</p>
        <p>${t('ops.hc.documents', { count: p.documents.length })}${p.missing_documents.length ? html` · ${t('ops.hc.missing', { kinds: p.missing_documents.map((k) => k.replace(/_/g, ' ')).join(', ') })}` : ''}</p>
        ${can.length
          ? html`<form class="action" id="vet-form-${p.user_id}" novalidate aria-labelledby="vet-${p.user_id}">${reasonField(`vet-reason-${p.user_id}`)}<p class="error" role="alert"></p>
            ${can.map((d) => html`<button type="submit" class="${d === 'approve' || d === 'reinstate' ? 'primary' : ''}" value="${d}" id="vet-${d}-${p.user_id}">${t(`ops.hc.decide.${d}`, { name: p.name })}</button> `)}</form>`
          : html`<p class="hint">${p.has_profile ? '' : t('ops.hc.no_profile')}</p>`}</li>`;
    })}</ul>`);
    for (const p of providers) {
      bindAction($(`#vet-form-${p.user_id}`), (d) => `/v1/admin/providers/${p.user_id}/${d}`, async () => {
        await loadVetting();
        const s = $('#vet-status');
        if (s) s.textContent = t('console.done');
        loadDay();
      });
    }
  } catch (e) {
    if (el.isConnected) render(el, html`<p class="error" role="alert">${errorText(e)}</p>`);
  }
}
