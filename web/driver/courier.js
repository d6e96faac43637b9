// Food deliveries in the driver app: the delivery offer the live dispatcher makes a worker (one order, or a
// batch taken or left whole) and the courier's task screen once it is taken — the next stop (the
// restaurant, then the customer's door) with the way there, "Arrived at restaurant" and "Picked up" per
// order, the customer's hand-over code at the door (the tries left after a wrong one), and "Can't deliver"
// with its reason. The app (app.js) owns the screen, the map and the car's position; this module holds the
// courier's offer and orders and draws their part of the screen.
//
// The server's word is final: every step is a POST whose answer (or refusal) the screen follows, and the
// orders are read again (GET /v1/couriers/me/orders) on each order event and every few seconds.
import { metres } from '/shared/map.js';
import { navigateUrl } from '/shared/route.js';
import * as fmt from '/shared/format.js';
import { html, $, $$, busy, confirmDialog } from '/shared/ui.js';
import { errorText } from '/shared/api.js';
import { offerAlert } from '/shared/alerts.js';
import { t } from '/shared/i18n.js';

/** An order's states while a courier still has something to do with it. */
const BEFORE_PICKUP = ['placed', 'accepted', 'preparing', 'ready'];
const UNDELIVERABLE_REASONS = ['pickup_unavailable', 'customer_unreachable'];
/** How an order ends (each has its word in the catalogue). */
const ENDED_STATES = ['delivered', 'undeliverable', 'cancelled', 'rejected'];
const STORE_KEY = 'doorstep.driver.courier';

/**
 * The courier's side of the driver app. `ctx` gives what the app owns: `api`, `pos()` (the car's
 * position), `reportPositionNow()` (resolves once the server has the car's position), `redraw(focus)`,
 * `onScreen()` (whether the drive screen shows), `zoneName(point)`.
 */
export class Courier {
  constructor(ctx) {
    this.ctx = ctx;
    this.api = ctx.api;
    /** The pending delivery offer shown, or null. */
    this.offer = null;
    /** The orders not over yet (GET /v1/couriers/me/orders), in the order of their stops. */
    this.orders = [];
    /** Orders this courier finished since the task screen last showed (delivered or not): the summary. */
    this.finished = [];
    /** Merchants by id: {name, address, lat, lng} (GET /v1/merchants/{id}), filled as orders come. */
    this.merchants = new Map();
    const saved = JSON.parse(localStorage.getItem(STORE_KEY) || '{}');
    /** Orders whose courier is at the restaurant (the arrival is not part of the order's view). */
    this.arrived = new Set(saved.arrived || []);
    /** The planned stops of the accepted offer: [{order_id, kind}], else pickups first. */
    this.plan = saved.plan || [];
    /** Per order: the tries left after a wrong hand-over code, or 0 when the code is locked. */
    this.triesLeft = new Map();
    /** Whether the "Can't deliver" reasons are open. */
    this.cantOpen = false;
  }

  persist() {
    localStorage.setItem(STORE_KEY, JSON.stringify({ arrived: [...this.arrived], plan: this.plan }));
  }

  /** Whether the courier has orders in hand (or a summary to dismiss): the task screen shows. */
  busy() {
    return this.orders.length > 0 || this.finished.length > 0;
  }

  /** Whether the courier carries or collects orders now (the app keeps reporting the position). */
  working() {
    return this.orders.length > 0;
  }

  // ---- reading the server

  async refreshOffers() {
    try {
      const { offers } = await this.api.get('/v1/delivery-offers');
      const live = offers.filter((o) => Date.parse(o.expires_at) > Date.now());
      const before = this.offer && this.offer.offer_id;
      this.offer = live[0] || null;
      const now = this.offer && this.offer.offer_id;
      if (now !== before) {
        if (this.offer) {
          for (const o of this.offer.orders) this.merchants.set(o.merchant_id, { ...(this.merchants.get(o.merchant_id) || {}), name: o.merchant_name });
          this.alert(this.offer);
        }
        this.cantOpen = false;
        if (this.ctx.onScreen()) this.ctx.redraw(true);
      }
    } catch (e) {
      if (e.status !== 403) console.warn('delivery offers', e);
    }
  }

  async refreshOrders() {
    try {
      const { orders } = await this.api.get('/v1/couriers/me/orders');
      const ids = new Set(orders.map((o) => o.id));
      // An order that left the list ended: delivered by us, or ended by someone else (cancelled, undeliverable).
      const gone = this.orders.filter((o) => !ids.has(o.id));
      for (const o of gone) {
        const ended = await this.api.get(`/v1/orders/${o.id}`).catch(() => ({ ...o, state: 'cancelled' }));
        this.finish(ended);
      }
      const before = this.signature();
      this.orders = this.sorted(orders);
      await this.loadMerchants();
      if (this.signature() !== before && this.ctx.onScreen()) this.ctx.redraw(this.orders.length === 0 || gone.length > 0);
      return this.orders;
    } catch (e) {
      if (e.status !== 403) console.warn('courier orders', e);
      return this.orders;
    }
  }

  signature() {
    return JSON.stringify([this.orders.map((o) => [o.id, o.state, o.version]), this.finished.map((o) => o.id)]);
  }

  finish(order) {
    if (!this.finished.some((o) => o.id === order.id)) this.finished.push(order);
    this.orders = this.orders.filter((o) => o.id !== order.id);
    this.arrived.delete(order.id);
    this.triesLeft.delete(order.id);
    if (this.orders.length === 0) this.plan = [];
    this.persist();
  }

  async loadMerchants() {
    const want = [...new Set(this.orders.map((o) => o.merchant_id))].filter((id) => !(this.merchants.get(id) || {}).address);
    await Promise.all(
      want.map((id) =>
        this.api.get(`/v1/merchants/${id}`).then(
          (m) => this.merchants.set(id, { name: m.name, address: m.address, lat: m.lat, lng: m.lng }),
          () => {},
        ),
      ),
    );
  }

  /** The orders in the order of the plan (the offer's stops), else as listed. */
  sorted(orders) {
    const rank = (o) => {
      const i = this.plan.findIndex((s) => s.order_id === o.id);
      return i < 0 ? Number.MAX_SAFE_INTEGER : i;
    };
    return [...orders].sort((a, b) => rank(a) - rank(b));
  }

  /** An order event on the socket: an offer for this courier, or a change of one of its orders. */
  onEvent(m, me) {
    if (m.type === 'order_offered') {
      if (!m.courier || m.courier === me) this.refreshOffers();
      return;
    }
    const id = m.job_id || m.ride_id;
    if (this.offer && this.offer.orders.some((o) => o.order_id === id)) this.refreshOffers();
    if (this.orders.some((o) => o.id === id) || m.type === 'order_courier_assigned') this.refreshOrders();
  }

  /** Rings, vibrates and (page hidden) notifies: an offer lasts seconds. */
  alert(o) {
    offerAlert({
      kind: 'delivery',
      id: o.offer_id,
      pickup: this.restaurantNames(o),
      take: fmt.money(o.pay),
      secondsLeft: (Date.parse(o.expires_at) - Date.now()) / 1000,
    });
  }

  /** Called every second: the offer's countdown, and its end. */
  tick() {
    if (this.working()) this.moved();
    if (!this.offer) return;
    const left = (Date.parse(this.offer.expires_at) - Date.now()) / 1000;
    if (left <= 0) {
      this.offer = null;
      if (this.ctx.onScreen()) this.ctx.redraw();
      this.refreshOffers();
      return;
    }
    const el = $('#delivery-countdown');
    if (el) el.textContent = fmt.countdown(left);
  }

  /** Updates the distance to the next stop as the car moves (called with the app's map redraw). */
  moved() {
    const d = this.nextStop();
    const to = $('#to-target');
    if (!d || !to || !this.ctx.pos()) return;
    const m = metres(this.ctx.pos(), d.point);
    to.textContent = fmt.distance(m);
    const card = $('#next-stop');
    if (card) card.dataset.distanceM = String(Math.round(m));
  }

  // ---- the plan

  restaurantNames(o) {
    return [...new Set(o.orders.map((x) => x.merchant_name))].join(', ');
  }

  merchant(order) {
    return this.merchants.get(order.merchant_id) || { name: '', address: '' };
  }

  /** The stops still to visit, in order: a pickup until the food is collected, then its drop-off. */
  stops() {
    const planned = this.plan.length
      ? this.plan.filter((s) => this.orders.some((o) => o.id === s.order_id))
      : [];
    for (const o of this.orders) {
      for (const kind of ['pickup', 'dropoff'])
        if (!planned.some((s) => s.order_id === o.id && s.kind === kind)) planned.push({ order_id: o.id, kind });
    }
    // Pickups planned after a drop-off stay after it; a drop-off never comes before its own pickup.
    const out = [];
    for (const s of planned) {
      const o = this.orders.find((x) => x.id === s.order_id);
      if (!o) continue;
      if (s.kind === 'pickup' && !BEFORE_PICKUP.includes(o.state)) continue;
      if (s.kind === 'dropoff' && o.state !== 'picked_up' && !out.some((p) => p.order_id === o.id && p.kind === 'pickup')) continue;
      out.push({ ...s, order: o, point: s.kind === 'pickup' ? o.pickup : o.dropoff });
    }
    return out;
  }

  /** The next stop: the first one whose order can be served there now. */
  nextStop(stops = this.stops()) {
    return stops.find((s) => s.kind === 'pickup' || s.order.state === 'picked_up') || null;
  }

  /** Where the simulated car drives: the next stop. */
  target() {
    const s = this.nextStop();
    return s ? s.point : null;
  }

  /** Draws the offer's or the task's stops on the map; returns whether it drew anything. */
  drawMap(map, keep, routeTo) {
    let stops;
    if (this.offer) {
      stops = this.offer.stops.map((s) => ({ kind: s.kind, point: { lat: s.lat, lng: s.lng }, order_id: s.order_id }));
    } else if (this.working()) {
      stops = this.stops();
    } else return false;
    const names = this.offer ? new Map(this.offer.orders.map((o) => [o.order_id, o.merchant_name])) : null;
    stops.forEach((s, i) => {
      const id = `stop-${i}`;
      const name = s.kind === 'pickup'
        ? (names ? names.get(s.order_id) : this.merchant(s.order).name) || t('driver.delivery.restaurant')
        : t('driver.delivery.customer');
      map.setMarker(id, { ...s.point, kind: s.kind, text: String(i + 1), label: t('driver.delivery.stop_label', { n: i + 1, name }) });
      keep.add(id);
    });
    if (stops.length) routeTo(stops[0].point);
    // A new offer or a new next stop: the map shows the car and the stops ahead.
    const key = this.offer ? `offer:${this.offer.offer_id}` : stops.length ? `${stops[0].order_id}:${stops[0].kind}:${stops.length}` : '';
    if (key !== this.fitted) {
      this.fitted = key;
      map.fitPoints([this.ctx.pos(), ...stops.map((s) => s.point)].filter(Boolean), 120);
    }
    return true;
  }

  // ---- the screens

  /** The offer card (`level` 1 alone, 2 beside a ride offer). */
  offerHtml(level = 1) {
    const o = this.offer;
    const names = new Map(o.orders.map((x) => [x.order_id, x.merchant_name]));
    const heading = level === 1
      ? html`<h1 id="delivery-offer-title">${t('driver.delivery.offer_title')}</h1>`
      : html`<h2 id="delivery-offer-title">${t('driver.delivery.offer_title')}</h2>`;
    return html`<section class="card offer" id="delivery-offer" aria-labelledby="delivery-offer-title" data-offer="${o.offer_id}" data-orders="${o.orders.length}">
      ${heading}
      <p role="status" class="notice warn" id="delivery-alert">${t('driver.delivery.offer_alert')}</p>
      <p>${t('driver.delivery.answer_within')} <span class="countdown" id="delivery-countdown">${fmt.countdown((Date.parse(o.expires_at) - Date.now()) / 1000)}</span></p>
      <dl class="kv">
        <dt>${t('driver.delivery.restaurants', { n: new Set(o.orders.map((x) => x.merchant_id)).size })}</dt><dd id="delivery-restaurants">${this.restaurantNames(o)}</dd>
        <dt>${t('driver.delivery.orders_label')}</dt><dd id="delivery-count">${o.orders.length > 1 ? t('driver.delivery.batch', { n: o.orders.length }) : t('driver.delivery.one_order')}</dd>
        <dt>${t('driver.delivery.to_first_pickup')}</dt><dd id="delivery-distance">${fmt.distance(o.distance_m)} · ${fmt.duration(o.eta_s)}</dd>
      </dl>
      ${level === 1 ? html`<h2 class="small">${t('driver.delivery.stops_title')}</h2>` : html`<h3 class="small">${t('driver.delivery.stops_title')}</h3>`}
      <ol class="stop-list" id="delivery-stops">
        ${o.stops.map((s) => html`<li data-kind="${s.kind}">${s.kind === 'pickup'
          ? t('driver.delivery.stop_pickup', { name: names.get(s.order_id) || '' })
          : t('driver.delivery.stop_dropoff', { zone: this.ctx.zoneName(s) })}</li>`)}
      </ol>
      <p class="take"><span class="muted">${t('money.youEarn')}</span> <span id="delivery-pay">${fmt.money(o.pay)}</span></p>
      <p class="hint">${t('driver.delivery.tips_on_top')}</p>
      <p class="error" role="alert" id="delivery-offer-error"></p>
    </section>
    <div class="row actionbar"><button class="secondary" id="delivery-decline">${t('driver.decline')}</button><button class="primary" id="delivery-accept">${t('driver.accept')}</button></div>`;
  }

  /** The task screen: the next stop, its action in the bottom bar, each order's progress. */
  taskHtml() {
    if (!this.working()) return this.summaryHtml();
    const stops = this.stops();
    const next = this.nextStop(stops);
    const o = next.order;
    const m = this.merchant(o);
    const pos = this.ctx.pos();
    const away = pos ? Math.round(metres(pos, next.point)) : null;
    const batch = this.orders.length > 1;
    const ref = batch ? t('driver.delivery.order_ref', { id: fmt.shortId(o.id) }) : '';
    let step;
    let title;
    let action;
    let where;
    if (next.kind === 'pickup') {
      step = this.arrived.has(o.id) ? 'at_restaurant' : 'to_restaurant';
      title = step === 'at_restaurant' ? t('driver.delivery.collect_title') : t('driver.delivery.to_restaurant_title');
      where = html`<h2 id="stop-name">${m.name || t('driver.delivery.restaurant')}</h2>
        <p id="stop-address">${m.address || this.ctx.zoneName(next.point)}</p>`;
      action = step === 'at_restaurant'
        ? html`<button class="primary" id="courier-picked-up">${batch ? t('driver.delivery.picked_up_ref', { ref }) : t('driver.delivery.picked_up')}</button>`
        : html`<button class="primary" id="courier-arrived">${t('driver.delivery.arrived_restaurant')}</button>`;
    } else {
      step = 'to_customer';
      title = t('driver.delivery.to_customer_title');
      where = html`<h2 id="stop-name">${t('driver.delivery.customer')}</h2>
        <p id="stop-address">${o.address}</p>`;
      action = html`<button class="primary" id="courier-delivered" type="submit" form="handover-form">${t('driver.delivery.delivered')}</button>`;
    }
    const left = this.triesLeft.get(o.id);
    const codeStatus = left === undefined ? '' : left === 0 ? t('driver.delivery.code_locked') : t('driver.delivery.code_wrong', { n: left });
    // Counted over the whole plan (stops done included), as the offer listed them.
    const total = Math.max(this.plan.filter((p) => this.orders.some((x) => x.id === p.order_id) || this.finished.some((x) => x.id === p.order_id)).length, stops.length);
    const index = total - stops.length + stops.indexOf(next) + 1;
    return html`<h1 id="delivery-state" data-step="${step}" data-order="${o.id}">${title}</h1>
      <section class="card" id="next-stop" aria-labelledby="stop-name" data-kind="${next.kind}" data-order="${o.id}" data-distance-m="${away === null ? '' : away}">
        <p class="muted" id="stop-position">${t('driver.delivery.stop_of', { n: index, total })}${ref ? html` · ${ref}` : ''}</p>
        ${where}
        <p>${t('driver.delivery.away')} <strong id="to-target">${fmt.distance(away)}</strong></p>
        <a class="navigate" id="navigate" href="${navigateUrl(next.point, next.kind === 'pickup' ? m.name : o.address)}" target="_blank" rel="noopener">${t('map.navigate_to', { stop: next.kind === 'pickup' ? (m.name || t('driver.delivery.restaurant')) : t('driver.delivery.customer') })}</a>
        ${next.kind === 'pickup'
          ? html`<h3 class="small">${t('driver.delivery.items')}</h3>
            <ul class="items" id="stop-items">${o.lines.map((l) => html`<li>${l.quantity} × ${l.name}${l.options && l.options.length ? html` <span class="muted">(${l.options.map((x) => x.name).join(', ')})</span>` : ''}${l.note ? html`<br><span class="muted">${t('driver.delivery.note', { note: l.note })}</span>` : ''}</li>`)}</ul>`
          : html`<form id="handover-form" novalidate>
              <label for="handover-code">${t('driver.delivery.code_label')}</label>
              <p class="hint" id="handover-hint">${t('driver.delivery.code_hint')}</p>
              <input id="handover-code" name="code" inputmode="numeric" pattern="[0-9]{4}" maxlength="4" autocomplete="one-time-code" aria-describedby="handover-hint handover-status" ${left === 0 ? html`aria-invalid="true"` : ''} required>
              <div id="handover-status" class="notice ${left === 0 ? 'bad' : 'warn'}" role="alert" data-tries-left="${left === undefined ? '' : left}">${codeStatus}</div>
            </form>`}
      </section>
      <p class="error" role="alert" id="courier-error"></p>
      ${this.progressHtml()}
      <section class="card" aria-labelledby="cant-title">
        <h2 id="cant-title" class="small">${t('driver.delivery.problem')}</h2>
        <button class="link" id="cant-deliver" aria-expanded="${this.cantOpen ? 'true' : 'false'}" aria-controls="cant-reasons">${t('driver.delivery.cant_deliver')}</button>
        <div id="cant-reasons" ${this.cantOpen ? '' : 'hidden'}>
          <p class="hint">${t('driver.delivery.cant_hint')}</p>
          ${UNDELIVERABLE_REASONS.map((r) => html`<button class="secondary cant-reason" data-reason="${r}" id="cant-${r}">${t(`driver.delivery.reason.${r}`)}</button>`)}
        </div>
      </section>
      <div class="actionbar">${action}</div>`;
  }

  /** Each order's progress (a batch's orders one under the other). */
  progressHtml() {
    const steps = ['to_restaurant', 'at_restaurant', 'picked_up', 'delivered'];
    const reached = (o) => (o.state === 'picked_up' ? 2 : this.arrived.has(o.id) ? 1 : 0);
    return html`<section class="card" aria-labelledby="orders-title">
      <h2 id="orders-title">${t('driver.delivery.orders_title', { n: this.orders.length })}</h2>
      <ul class="history" id="courier-orders">
        ${this.orders.map((o) => {
          const at = reached(o);
          return html`<li data-order="${o.id}" data-state="${o.state}">
            <p><strong>${this.merchant(o).name}</strong> · ${t('driver.delivery.order_ref', { id: fmt.shortId(o.id) })}<br><span class="muted">${o.address}</span></p>
            <ol class="steps" aria-label="${t('driver.delivery.progress_label', { id: fmt.shortId(o.id) })}">
              ${steps.map((s, i) => html`<li class="${i < at ? 'done' : ''}" ${i === at ? html`aria-current="step"` : ''}>${t(`driver.delivery.step.${s}`)}</li>`)}
            </ol></li>`;
        })}
      </ul></section>`;
  }

  /** After the last order: what happened to each, and back to offers. */
  summaryHtml() {
    const all = this.finished.every((o) => o.state === 'delivered');
    return html`<h1 id="delivery-state" data-step="done">${all ? t('driver.delivery.done_title') : t('driver.delivery.ended_title')}</h1>
      <ul class="history card" id="finished-orders">
        ${this.finished.map((o) => html`<li data-order="${o.id}" data-state="${o.state}"><p><strong>${this.merchant(o).name}</strong> · ${t('driver.delivery.order_ref', { id: fmt.shortId(o.id) })}<br>
          <span class="badge ${o.state === 'delivered' ? 'ok' : 'warn'}">${ENDED_STATES.includes(o.state) ? t(`driver.delivery.state.${o.state}`) : o.state}</span>
          ${UNDELIVERABLE_REASONS.includes(o.undeliverable_reason) ? html` <span class="muted">${t(`driver.delivery.reason.${o.undeliverable_reason}`)}</span>` : ''}</p></li>`)}
      </ul>
      <div class="actionbar"><button class="primary" id="courier-next">${t('driver.back_to_offers')}</button></div>`;
  }

  // ---- the courier's actions

  /** Binds the offer card's and the task screen's controls on `panel`. */
  bind(panel) {
    const on = (id, fn) => {
      const el = document.getElementById(id);
      if (el) el.addEventListener('click', fn);
    };
    on('delivery-accept', (e) =>
      busy(e.target, $('#delivery-offer-error'), async () => {
        const o = this.offer;
        try {
          const { orders } = await this.api.post(`/v1/delivery-offers/${o.offer_id}/accept`);
          this.plan = o.stops.map((s) => ({ order_id: s.order_id, kind: s.kind }));
          this.arrived.clear();
          this.finished = [];
          this.orders = this.sorted(orders);
          this.persist();
        } finally {
          this.offer = null;
        }
        await this.loadMerchants();
        this.ctx.redraw(true);
      }).then(() => {
        if (!this.working()) setTimeout(() => this.ctx.redraw(), 2500);
      }),
    );
    on('delivery-decline', (e) =>
      busy(e.target, $('#delivery-offer-error'), async () => {
        await this.api.post(`/v1/delivery-offers/${this.offer.offer_id}/decline`);
        this.offer = null;
        this.ctx.redraw(true);
      }),
    );
    const next = this.working() ? this.nextStop() : null;
    on('courier-arrived', (e) =>
      busy(e.target, $('#courier-error'), async () => {
        await this.ctx.reportPositionNow();
        try {
          await this.step(next.order, 'arrived');
        } catch (err) {
          // Already at the restaurant (the arrival was recorded before a reload): go on to the pickup.
          if (err.code !== 'invalid_order_state') throw this.explain(err, next);
        }
        this.arrived.add(next.order.id);
        this.persist();
        this.ctx.redraw(true);
      }),
    );
    on('courier-picked-up', (e) =>
      busy(e.target, $('#courier-error'), async () => {
        await this.ctx.reportPositionNow();
        await this.step(next.order, 'picked-up').catch((err) => {
          throw this.explain(err, next);
        });
        this.arrived.delete(next.order.id);
        this.persist();
        this.ctx.redraw(true);
      }),
    );
    const form = $('#handover-form');
    if (form)
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        const input = $('#handover-code');
        const code = input.value.trim();
        if (!/^\d{4}$/.test(code)) {
          $('#courier-error').textContent = t('driver.delivery.code_digits');
          input.focus();
          return;
        }
        busy($('#courier-delivered'), $('#courier-error'), async () => {
          await this.ctx.reportPositionNow();
          try {
            await this.step(next.order, 'delivered', { code });
            this.ctx.redraw(true);
          } catch (err) {
            if (err.code === 'wrong_handover_code') {
              const m = /(\d+)/.exec(err.message || '');
              this.triesLeft.set(next.order.id, m ? Number(m[1]) : 0);
              this.ctx.redraw();
              $('#handover-code')?.focus();
              $('#handover-status')?.scrollIntoView({ block: 'center' });
              return;
            }
            if (err.code === 'handover_code_locked') {
              this.triesLeft.set(next.order.id, 0);
              this.ctx.redraw();
              return;
            }
            throw this.explain(err, next);
          }
        });
      });
    on('cant-deliver', () => {
      this.cantOpen = !this.cantOpen;
      const box = $('#cant-reasons');
      box.hidden = !this.cantOpen;
      $('#cant-deliver').setAttribute('aria-expanded', String(this.cantOpen));
      if (this.cantOpen) $('.cant-reason', box)?.focus();
    });
    for (const b of $$('.cant-reason', panel))
      b.addEventListener('click', async () => {
        const reason = b.dataset.reason;
        const ok = await confirmDialog({
          title: t('driver.delivery.cant_confirm_title'),
          body: html`<p>${t(`driver.delivery.reason.${reason}`)}</p><p>${t('driver.delivery.cant_confirm_body')}</p>`,
          confirm: t('driver.delivery.cant_confirm'),
          cancel: t('driver.delivery.keep_delivering'),
          danger: true,
        });
        if (!ok) return;
        await busy(b, $('#courier-error'), async () => {
          this.cantOpen = false;
          await this.step(next.order, 'undeliverable', { reason });
          this.ctx.redraw(true);
        });
      });
    on('courier-next', () => {
      this.finished = [];
      this.ctx.redraw(true);
      this.ctx.afterTask();
    });
  }

  /** One step of an order; the order as the server has it now replaces the one shown. An order that ended
   *  goes to the summary. */
  async step(order, what, body) {
    const updated = await this.api.post(`/v1/orders/${order.id}/${what}`, body);
    if (ENDED_STATES.includes(updated.state)) this.finish(updated);
    else this.orders = this.orders.map((o) => (o.id === updated.id ? updated : o));
    this.triesLeft.delete(updated.id);
    return updated;
  }

  /** The courier's sentence for a refusal of a step. */
  explain(err, stop) {
    if (err.code === 'not_at_stop')
      return new Error(t(stop.kind === 'pickup' ? 'driver.delivery.not_at_restaurant' : 'driver.delivery.not_at_door'));
    if (err.code === 'invalid_order_state') return new Error(t('driver.delivery.changed'));
    return new Error(errorText(err));
  }
}
