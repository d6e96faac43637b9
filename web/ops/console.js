// The console's acting half (issue 10, item 7): people by name (search, a page per person with their
// rides, ratings, documents and the operator actions about them), the audit log, and on a ride's page its
// money (postings, balance, what is left to refund), its audit entries and the actions an operator may
// take (cancel with or without the fee, refund, waive the fee, reassign). Every action asks for a reason
// and sends an Idempotency-Key, so a double click or a retry acts once.
import { newIdempotencyKey, errorText } from '/shared/api.js';
import * as fmt from '/shared/format.js';
import { html, render, $, $$, busy, focusHeading } from '/shared/ui.js';
import { t, addMessages } from '/shared/i18n.js';
import consoleMessages from '/shared/messages/console.js';

addMessages(consoleMessages);

let ctx = null;

/** Wires the module to the console: `{ api, main, setNav, drivers, onChanged }`. */
export function initConsole(context) {
  ctx = context;
}

// ---- names

const names = new Map(); // user_id -> { name, role }

/** Looks up the names of `ids` not known yet (one request for up to 100). */
export async function loadNames(ids) {
  const missing = [...new Set(ids.filter((id) => id && !names.has(id)))];
  for (let i = 0; i < missing.length; i += 100) {
    const chunk = missing.slice(i, i + 100);
    try {
      const { people } = await ctx.api.get(`/v1/admin/people?ids=${chunk.join(',')}`);
      for (const p of people) names.set(p.user_id, { name: p.name, role: p.role });
    } catch {
      // Names are a courtesy: the ids still link.
    }
  }
}

/** A link to a person's page, by name when known. */
export function personLink(id) {
  if (!id) return t('console.nobody');
  const n = names.get(id);
  return html`<a href="#/people/${id}" data-person="${id}">${n ? n.name : `…${fmt.shortId(id)}`}</a>`;
}

/** A person's name when known, else the end of the id. */
export function personName(id) {
  const n = id && names.get(id);
  return n ? n.name : `…${fmt.shortId(id)}`;
}

// ---- shared pieces

function reasonField(id) {
  return html`<label for="${id}">${t('console.reason')}</label>
    <textarea id="${id}" name="reason" maxlength="500" rows="2" required aria-describedby="${id}-hint"></textarea>
    <p class="hint" id="${id}-hint">${t('console.reason_hint')}</p>`;
}

/** Runs an operator action from `form`: POST `path` with `body(form data)`, the reason and the form's key. */
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
      try {
        await ctx.api.post(path, { ...extra, reason }, { 'Idempotency-Key': key });
      } catch (e) {
        throw refusal(e);
      }
      await done();
    });
  });
}

/** A refusal the console explains in its own words (`console.error.<code>`), else the error as it is. */
function refusal(e) {
  const key = `console.error.${e && e.code}`;
  const known = t(key);
  return known === key ? e : new Error(known);
}

function actionText(e) {
  const amount = e.detail && typeof e.detail.amount === 'number' ? fmt.money({ amount: e.detail.amount, currency: 'USD' }) : '';
  return t(`console.action.${e.action}`, { amount });
}

function auditTable(entries, { showTarget = true } = {}) {
  if (!entries.length) return html`<p class="muted">${t('console.audit.none')}</p>`;
  return html`<div class="table-wrap"><table class="audit"><caption class="visually-hidden">${t('console.audit.about')}</caption>
    <thead><tr><th scope="col">${t('console.audit.when')}</th><th scope="col">${t('console.audit.who')}</th><th scope="col">${t('console.audit.what')}</th>
    ${showTarget ? html`<th scope="col">${t('console.audit.target')}</th>` : ''}<th scope="col">${t('console.audit.why')}</th></tr></thead>
    <tbody>${entries.map((e) => html`<tr data-action="${e.action}"><td><time datetime="${e.at}">${fmt.dateTime(e.at)}</time></td>
      <td><a href="#/people/${e.actor.user_id}">${e.actor.name || `…${fmt.shortId(e.actor.user_id)}`}</a></td>
      <td>${actionText(e)}</td>
      ${showTarget
        ? html`<td>${e.target_kind === 'ride'
            ? html`<a href="#/rides/${e.target_id}">${t('console.audit.ride', { id: fmt.shortId(e.target_id) })}</a>`
            : html`<a href="#/people/${e.target_id}">${e.target_name || `…${fmt.shortId(e.target_id)}`}</a>`}</td>`
        : ''}
      <td class="reason">${e.reason}</td></tr>`)}</tbody></table></div>`;
}

function statusOf(p) {
  if (p.suspended_at) return t('console.status.suspended');
  if (p.approval) return t(`console.status.${p.approval}`);
  return t('console.status.active');
}

// ---- a ride's money, audit and actions (inside the ride page)

/** Draws the acting part of a ride's page into `el`: actions, money, audit entries. */
export async function rideConsole(el, ride) {
  await loadNames([ride.rider_id, ride.driver_id]);
  for (const a of $$('[data-person]')) a.textContent = personName(a.dataset.person);
  const [ledger, audit] = await Promise.all([
    ctx.api.get(`/v1/admin/rides/${ride.ride_id}/ledger`),
    ctx.api.get(`/v1/admin/audit?target=${ride.ride_id}`),
  ]);
  if (!el.isConnected) return;
  const currency = ledger.refundable.currency;
  const digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
  const cancellable = ['requested', 'driver_assigned', 'driver_arrived'].includes(ride.state);
  const reassignable = ['driver_assigned', 'driver_arrived'].includes(ride.state);
  const feeCharged = ledger.postings.some((p) => p.kind === 'cancellation_fee');
  const feeWaived = ledger.postings.some((p) => p.waiver);
  const fee = ledger.postings.find((p) => p.kind === 'cancellation_fee');
  const feeAmount = fee ? fee.entries.find((e) => e.account.startsWith('rider:')) : null;
  const candidates = reassignable ? nearbyFreeDrivers(ride) : [];
  await loadNames(candidates.map((c) => c.id));
  const actions = [];
  if (cancellable)
    actions.push(html`<form class="action" id="act-cancel" novalidate><h3>${t('console.cancel.title')}</h3>
      <label class="check"><input type="checkbox" name="charge_fee" id="cancel-fee"> ${t('console.cancel.fee')}</label>
      ${reasonField('cancel-reason')}<p class="error" role="alert"></p>
      <button type="submit" class="danger" id="cancel-submit">${t('console.cancel.submit')}</button></form>`);
  if (reassignable)
    actions.push(html`<form class="action" id="act-reassign" novalidate><h3>${t('console.reassign.title')}</h3>
      <label for="reassign-to">${t('console.reassign.to')}</label>
      <select id="reassign-to" name="driver_id"><option value="">${t('console.reassign.dispatch')}</option>
        ${candidates.map((c) => html`<option value="${c.id}">${t('console.reassign.driver', { name: personName(c.id), distance: fmt.distance(c.metres) })}</option>`)}</select>
      ${reasonField('reassign-reason')}<p class="error" role="alert"></p>
      <button type="submit" class="secondary" id="reassign-submit">${t('console.reassign.submit')}</button></form>`);
  if (ledger.refundable.amount > 0)
    actions.push(html`<form class="action" id="act-refund" novalidate><h3>${t('console.refund.title')}</h3>
      <label for="refund-amount">${t('console.refund.amount', { currency, max: fmt.money(ledger.refundable) })}</label>
      <input id="refund-amount" name="amount" inputmode="decimal" autocomplete="off" required>
      ${reasonField('refund-reason')}<p class="error" role="alert"></p>
      <button type="submit" class="secondary" id="refund-submit">${t('console.refund.submit')}</button></form>`);
  if (feeCharged && !feeWaived && feeAmount)
    actions.push(html`<form class="action" id="act-waive" novalidate><h3>${t('console.waive.title')}</h3>
      <p>${t('console.waive.text', { fee: fmt.money({ ...feeAmount.amount, amount: -feeAmount.amount.amount }) })}</p>
      ${reasonField('waive-reason')}<p class="error" role="alert"></p>
      <button type="submit" class="secondary" id="waive-submit">${t('console.waive.submit')}</button></form>`);
  const total = { amount: ledger.total, currency };
  render(el, html`<section class="card" aria-labelledby="actions-title"><h2 id="actions-title">${t('console.actions')}</h2>
      ${actions.length ? actions : html`<p class="muted">${t('console.no_actions')}</p>`}
      <p role="status" id="action-status" class="muted"></p></section>
    <section class="card" aria-labelledby="ledger-title"><h2 id="ledger-title">${t('console.ledger.title')}</h2>
      ${ledger.postings.length
        ? html`<table class="ledger"><caption class="visually-hidden">${t('console.ledger.title')}</caption>
            <thead><tr><th scope="col">${t('console.ledger.kind')}</th><th scope="col">${t('console.ledger.account')}</th><th scope="col" class="num">${t('console.ledger.amount')}</th></tr></thead>
            <tbody>${ledger.postings.map((p) => p.entries.map((e, i) => html`<tr data-posting="${p.kind}" data-key="${p.key}">
              <td>${i === 0 ? (p.waiver ? t('console.ledger.waiver') : fmt.lineKind(p.kind)) : ''}</td><td>${accountName(e.account)}</td>
              <td class="num">${fmt.money(e.amount)}</td></tr>`))}</tbody></table>
          <p id="ledger-total" data-total="${ledger.total}" class="${ledger.total === 0 ? 'ok' : 'error'}">${ledger.total === 0 ? t('console.ledger.balanced', { total: fmt.money(total) }) : t('console.ledger.unbalanced', { total: fmt.money(total) })}</p>`
        : html`<p class="muted">${t('console.ledger.none')}</p>`}
      <p id="ledger-refundable" data-amount="${ledger.refundable.amount}">${t('console.ledger.refundable', { amount: fmt.money(ledger.refundable) })}</p></section>
    <section class="card" aria-labelledby="ride-audit-title"><h2 id="ride-audit-title">${t('console.audit.about')}</h2>
      ${auditTable(audit.entries, { showTarget: false })}</section>`);
  const after = async () => {
    await ctx.onChanged(ride.ride_id);
    const s = $('#action-status');
    if (s) s.textContent = t('console.done');
  };
  const base = `/v1/admin/rides/${ride.ride_id}`;
  bindAction($('#act-cancel', el), `${base}/cancel`, (f) => ({ charge_fee: f.get('charge_fee') === 'on' }), after);
  bindAction($('#act-reassign', el), `${base}/reassign`, (f) => ({ driver_id: f.get('driver_id') || null }), after);
  bindAction($('#act-waive', el), `${base}/waive-fee`, () => ({}), after);
  bindAction($('#act-refund', el), `${base}/refund`, (f) => {
    const text = String(f.get('amount') || '').trim().replace(',', '.');
    const minor = Math.round(Number(text) * 10 ** digits);
    if (!/^\d+(\.\d+)?$/.test(text) || !(minor > 0) || minor > ledger.refundable.amount)
      throw new Error(t('console.refund.invalid', { max: fmt.money(ledger.refundable) }));
    return { amount: minor };
  }, after);
}

function accountName(key) {
  const [kind, rest] = key.split(':');
  if (kind === 'rider' || kind === 'driver' || kind === 'tips') {
    const who = personName(rest);
    return kind === 'tips' ? `${who} (${fmt.lineKind('tip')})` : `${who} (${t(`console.${kind}`)})`;
  }
  return fmt.lineKind(`${kind}_${rest}`);
}

/** Free drivers nearest the pickup, from the live fleet (at most 15). */
function nearbyFreeDrivers(ride) {
  const out = [];
  for (const [id, d] of ctx.drivers) {
    if (d.status !== 'available' || id === ride.driver_id || typeof d.lat !== 'number') continue;
    const dy = (d.lat - ride.pickup.lat) * 111320;
    const dx = (d.lng - ride.pickup.lng) * 111320 * Math.cos((ride.pickup.lat * Math.PI) / 180);
    out.push({ id, metres: Math.hypot(dx, dy) });
  }
  return out.sort((a, b) => a.metres - b.metres).slice(0, 15);
}

// ---- people

const peopleSearch = { q: '' };
let peopleTimer = null;

export function peoplePage() {
  ctx.setNav('people');
  render(ctx.main, html`<h1>${t('console.people.title')}</h1>
    <form class="filters" id="people-filters" role="search">
      <div><label for="people-q">${t('console.people.search')}</label><input id="people-q" type="search" value="${peopleSearch.q}" autocomplete="off"></div>
    </form>
    <p role="status" id="people-status" class="muted"></p>
    <div id="people-table"></div>`);
  $('#people-filters').addEventListener('submit', (e) => {
    e.preventDefault();
    loadPeople();
  });
  $('#people-q').addEventListener('input', (e) => {
    peopleSearch.q = e.target.value.trim();
    clearTimeout(peopleTimer);
    peopleTimer = setTimeout(loadPeople, 300);
  });
  focusHeading(ctx.main);
  loadPeople();
}

async function loadPeople() {
  const table = $('#people-table');
  if (!table) return;
  try {
    const { people } = await ctx.api.get(`/v1/admin/people?q=${encodeURIComponent(peopleSearch.q)}`);
    if (!table.isConnected) return;
    for (const p of people) names.set(p.user_id, { name: p.name, role: p.role });
    $('#people-status').textContent = people.length ? t('console.people.count', { count: people.length }) : t('console.people.none');
    render(table, people.length
      ? html`<div class="table-wrap"><table><caption class="visually-hidden">${t('console.people.title')}</caption>
        <thead><tr><th scope="col">${t('console.people.name')}</th><th scope="col">${t('console.people.role')}</th><th scope="col">${t('console.people.email')}</th>
        <th scope="col">${t('console.people.phone')}</th><th scope="col">${t('console.people.status')}</th></tr></thead>
        <tbody>${people.map((p) => html`<tr data-person-row="${p.user_id}"><td><a href="#/people/${p.user_id}">${p.name}</a></td><td>${t(`console.role.${p.role}`)}</td>
          <td>${p.email}</td><td>${p.phone || '—'}</td><td>${statusOf(p)}</td></tr>`)}</tbody></table></div>`
      : '');
  } catch (e) {
    if (table.isConnected) render(table, html`<p class="error" role="alert">${errorText(e)}</p>`);
  }
}

export async function personPage(id, quiet = false) {
  ctx.setNav('people');
  if (!quiet) render(ctx.main, html`<p><a href="#/people">${t('console.person.back')}</a></p><h1>${personName(id)}</h1><p class="loading">…</p>`);
  let page;
  try {
    page = await ctx.api.get(`/v1/admin/people/${id}`);
  } catch (e) {
    render(ctx.main, html`<p><a href="#/people">${t('console.person.back')}</a></p><h1>${personName(id)}</h1><p class="error" role="alert">${errorText(e)}</p>`);
    return;
  }
  const p = page.person;
  names.set(p.user_id, { name: p.name, role: p.role });
  await loadNames(page.rides.flatMap((r) => [r.rider_id, r.driver_id]));
  const o = page.onboarding;
  const actions = [];
  if (p.role === 'rider' || p.role === 'driver') {
    const suspended = !!p.suspended_at;
    actions.push(html`<form class="action" id="act-${suspended ? 'reinstate' : 'suspend'}" novalidate>
      <h3>${suspended ? t('console.person.reinstate') : t('console.person.suspend')}</h3>
      ${reasonField('suspend-reason')}<p class="error" role="alert"></p>
      <button type="submit" class="${suspended ? 'primary' : 'danger'}" id="${suspended ? 'reinstate' : 'suspend'}-submit">${suspended ? t('console.person.reinstate') : t('console.person.suspend')}</button></form>`);
  }
  if (p.role === 'driver' && !p.suspended_at) {
    if (p.approval !== 'approved')
      actions.push(html`<form class="action" id="act-approve" novalidate><h3>${t('console.person.approve')}</h3>
        ${reasonField('approve-reason')}<p class="error" role="alert"></p>
        <button type="submit" class="primary" id="approve-submit">${t('console.person.approve')}</button></form>`);
    if (p.approval !== 'rejected')
      actions.push(html`<form class="action" id="act-reject" novalidate><h3>${t('console.person.reject')}</h3>
        ${reasonField('reject-reason')}<p class="error" role="alert"></p>
        <button type="submit" class="danger" id="reject-submit">${t('console.person.reject')}</button></form>`);
  }
  const kinds = (list) => list.map((k) => t(`console.doc.${k}`)).join(', ');
  render(ctx.main, html`<p><a href="#/people">${t('console.person.back')}</a></p>
    <h1>${p.name} <span class="badge" id="person-status" data-approval="${p.approval || ''}" data-suspended="${p.suspended_at ? 'yes' : 'no'}">${statusOf(p)}</span></h1>
    <div class="ride-page">
      <div>
        <section class="card" aria-labelledby="profile-title"><h2 id="profile-title">${t('console.person.profile')}</h2>
          <dl class="kv"><dt>${t('console.people.role')}</dt><dd>${t(`console.role.${p.role}`)}</dd>
          <dt>${t('console.people.email')}</dt><dd>${p.email}</dd><dt>${t('console.people.phone')}</dt><dd>${p.phone || '—'}</dd>
          <dt>${t('console.person.joined')}</dt><dd>${fmt.dateTime(p.created_at)}</dd>
          <dt>${t('console.person.rating')}</dt><dd>${page.ratings ? t('console.person.rating_value', { stars: page.rating.toFixed(1), count: page.ratings }) : t('console.person.no_rating')}</dd>
          ${p.approval_reason ? html`<dt>${t('console.person.decision')}</dt><dd>${p.approval_reason}</dd>` : ''}</dl></section>
        ${o
          ? html`<section class="card" aria-labelledby="vehicle-title"><h2 id="vehicle-title">${t('console.person.vehicle')}</h2>
            ${o.vehicle
              ? html`<dl class="kv" id="person-vehicle" data-plate="${o.vehicle.plate}"><dt>${t('console.person.make')}</dt><dd>${o.vehicle.make}</dd>
                <dt>${t('console.person.model')}</dt><dd>${o.vehicle.model}</dd><dt>${t('console.person.colour')}</dt><dd>${o.vehicle.colour}</dd>
                <dt>${t('console.person.plate')}</dt><dd>${o.vehicle.plate}</dd></dl>`
              : html`<p class="muted" id="person-no-vehicle">${t('console.person.no_vehicle')}</p>`}</section>`
          : ''}
        ${o
          ? html`<section class="card" aria-labelledby="docs-title"><h2 id="docs-title">${t('console.person.documents')}</h2>
            ${o.documents.length
              ? html`<ul class="docs">${o.documents.map((d) => html`<li data-doc="${d.kind}">${t(`console.doc.${d.kind}`)}: ${d.number} ·
                  ${d.expired ? html`<span class="badge bad">${t('console.person.expired', { date: d.expires_on })}</span>` : t('console.person.expires', { date: d.expires_on })}</li>`)}</ul>`
              : html`<p class="muted">${t('console.person.no_documents')}</p>`}
            ${o.missing.length ? html`<p>${t('console.person.missing', { kinds: kinds(o.missing) })}</p>` : ''}</section>`
          : ''}
        <section class="card" aria-labelledby="person-rides-title"><h2 id="person-rides-title">${t('console.person.rides')}</h2>
          ${page.rides.length
            ? html`<ul class="open-list">${page.rides.map((r) => html`<li><a href="#/rides/${r.ride_id}">…${fmt.shortId(r.ride_id)} · ${fmt.dateTime(r.requested_at)}</a>
                <span>${fmt.rideState(r.state)} · ${fmt.money(r.final_fare || r.fare)}</span></li>`)}</ul>`
            : html`<p class="muted">${t('console.person.no_rides')}</p>`}</section>
      </div>
      <div>
        <section class="card" aria-labelledby="person-actions-title"><h2 id="person-actions-title">${t('console.actions')}</h2>
          ${actions.length ? actions : html`<p class="muted">${t('console.no_actions')}</p>`}
          <p role="status" id="action-status" class="muted"></p></section>
        <section class="card" aria-labelledby="person-audit-title"><h2 id="person-audit-title">${t('console.audit.about')}</h2>
          ${auditTable(page.audit, { showTarget: false })}</section>
      </div>
    </div>`);
  const after = async () => {
    await personPage(id, true);
    const s = $('#action-status');
    if (s) s.textContent = t('console.done');
    const h = $('#person-actions-title');
    if (h) {
      h.setAttribute('tabindex', '-1');
      h.focus();
    }
  };
  const base = `/v1/admin/people/${id}`;
  bindAction($('#act-suspend'), `${base}/suspend`, () => ({}), after);
  bindAction($('#act-reinstate'), `${base}/reinstate`, () => ({}), after);
  bindAction($('#act-approve'), `/v1/admin/drivers/${id}/approve`, () => ({}), after);
  bindAction($('#act-reject'), `/v1/admin/drivers/${id}/reject`, () => ({}), after);
  if (!quiet) focusHeading(ctx.main);
}

// ---- the audit log

export async function auditPage() {
  ctx.setNav('audit');
  render(ctx.main, html`<h1>${t('console.audit.title')}</h1><div id="audit-list"><p class="loading">…</p></div>
    <button type="button" class="secondary" id="audit-more" hidden>${t('console.audit.older')}</button>`);
  focusHeading(ctx.main);
  const entries = [];
  let cursor = null;
  const more = async () => {
    const page = await ctx.api.get(`/v1/admin/audit?limit=50${cursor ? `&cursor=${cursor}` : ''}`);
    entries.push(...page.entries);
    cursor = page.next_cursor;
    const list = $('#audit-list');
    if (!list) return;
    render(list, auditTable(entries));
    $('#audit-more').hidden = !cursor;
  };
  $('#audit-more').addEventListener('click', (e) => busy(e.target, null, more));
  try {
    await more();
  } catch (e) {
    const list = $('#audit-list');
    if (list) render(list, html`<p class="error" role="alert">${errorText(e)}</p>`);
  }
}
