// The Services tab of the customer app: house calls (docs/house-calls.md). The customer chooses a service
// from the catalogue, an address (the same address search as the ride and food flows, web/shared/places.js)
// and a day of the next seven; the day's free slots (`GET /v1/house-calls/availability`) are shown grouped
// by morning, afternoon and evening, with "any provider" by default. A slot picked is held for five minutes
// (`POST /v1/house-calls/holds`), then booked under an Idempotency-Key kept for that hold; a 409
// `slot_unavailable` says the slot was just taken and shows the times still free that day from the
// answer's body. The booking card shows the state, the start, who comes, the check-in code, cancel (the
// server decides the fee; a warning within 24 hours, the fee charged shown after) and reschedule; while
// the provider is on the way, their position on the map. The upcoming visits are listed under the form.
//
// Like food.js it lives beside the ride flow in app.js, which owns the page (the panel, the shared map,
// the event stream) and hands this module what it needs through `ctx`. Dates and times are the city's
// (America/New_York), as the API's are.
import { ApiError, errorText, newIdempotencyKey } from '/shared/api.js';
import { addressCombobox } from '/shared/places.js';
import { clearRoute } from '/shared/route.js';
import * as fmt from '/shared/format.js';
import { html, render, $, $$, busy, confirmDialog, focusHeading } from '/shared/ui.js';
import { t, addMessages, locale } from '/shared/i18n.js';
import servicesMessages from '/shared/messages/services.js';

addMessages(servicesMessages);

/** The city's time zone: availability dates and every time shown. */
export const TZ = 'America/New_York';
/** Booking states before the visit ends. */
export const OPEN_BOOKING_STATES = ['confirmed', 'on_the_way', 'arrived', 'in_progress'];
/** States in which the customer may still cancel or move the visit (the server has the last word). */
const CANCELLABLE = ['confirmed', 'on_the_way'];
const RESCHEDULABLE = ['confirmed'];
const DAYS_AHEAD = 7;

const NY_DATE = new Intl.DateTimeFormat('en-CA', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit' });
const NY_HOUR = new Intl.DateTimeFormat('en-GB', { timeZone: TZ, hour: '2-digit', hourCycle: 'h23' });

/** The city's date (YYYY-MM-DD) of an instant. */
export function nyDate(d = new Date()) {
  return NY_DATE.format(d);
}

/** A date `n` days after `ymd`. */
export function addDays(ymd, n) {
  const d = new Date(`${ymd}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** A date's name ("Thu, Nov 26") in the current language. */
export function dayLabel(ymd) {
  return new Date(`${ymd}T12:00:00Z`).toLocaleDateString(locale(), { weekday: 'short', month: 'short', day: 'numeric', timeZone: 'UTC' });
}

/** A time of day in the city ("9:15 AM"). */
export function clock(iso) {
  return new Date(iso).toLocaleTimeString(locale(), { hour: 'numeric', minute: '2-digit', timeZone: TZ });
}

/** A day and time in the city ("Thu, Nov 26, 9:15 AM"). */
export function when(iso) {
  return new Date(iso).toLocaleString(locale(), { weekday: 'short', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZone: TZ });
}

function part(iso) {
  const h = Number(NY_HOUR.format(new Date(iso))) % 24;
  return h < 12 ? 'morning' : h < 17 ? 'afternoon' : 'evening';
}

/** A provider named by the end of their id (the API gives no names to customers yet). */
function providerName(id) {
  return t('services.provider_short', { id: fmt.shortId(id) });
}

function stateName(s) {
  const key = `services.state.${s}`;
  return t(key) === key ? s : t(key);
}

/** A user-facing sentence for an API error of house calls, by its code (`services.error.<code>`). */
export function servicesErrorText(e) {
  if (e && e.code) {
    const key = `services.error.${e.code}`;
    const text = t(key);
    if (text !== key) return text;
  }
  return errorText(e);
}

function showError(el, e) {
  if (!el) return;
  el.textContent = servicesErrorText(e);
  el.dataset.code = (e && e.code) || '';
}

export class Services {
  /**
   * @param {{api: import('/shared/api.js').Api, panel: HTMLElement, showMap: (on: boolean, tall?: boolean) => void,
   *   map: () => any, zones: () => any[], setNav: (current: string|null) => void, setScreen: (s: string) => void,
   *   openRide: () => void, openFood: () => void}} ctx
   */
  constructor(ctx) {
    this.ctx = ctx;
    this.api = ctx.api;
    this.panel = ctx.panel;
    this.screen = null;
    this.reset();
    // The Services tab of the Ride | Food | Services switch (Ride and Food are food.js's `data-tab`).
    this.panel.addEventListener('click', (e) => {
      if (e.target.closest('[data-svc-tab]')) this.open();
    });
    // A safety net under the socket: re-read the visit on screen every 15 s while it is under way.
    setInterval(() => {
      if (this.screen === 'booking' && this.booking && OPEN_BOOKING_STATES.includes(this.booking.state) && document.visibilityState === 'visible') this.refreshBooking();
    }, 15000);
  }

  storeKey(what) {
    const user = (this.api.session && this.api.session.user_id) || 'anon';
    return `doorstep.rider.services.${what}.${user}`;
  }

  /** After sign-in or a change of account. */
  reset() {
    this.services = null; // the catalogue, or [] when there is none (404)
    this.serviceId = null;
    this.day = nyDate();
    this.providerId = ''; // '' is any provider
    this.knownProviders = new Set();
    this.avail = null;
    this.availKey = null;
    this.taken = false;
    this.hold = null;
    this.bookKey = null;
    this.booking = null;
    this.bookings = null;
    this.notice = '';
    this.unit = '';
    this.payMethods = null;
    try {
      this.address = JSON.parse(localStorage.getItem(this.storeKey('address')) || 'null');
    } catch {
      this.address = null;
    }
  }

  /** The Ride | Food | Services switch (replaces food.js's two tabs wherever a screen draws them). */
  tabsHtml(current) {
    const cur = (tab) => (current === tab ? html`aria-current="page"` : '');
    return html`<nav class="svc-tabs" aria-label="${t('food.tabs_label')}">
      <button type="button" data-tab="ride" ${cur('ride')}>${t('food.tab_ride')}</button>
      <button type="button" data-tab="food" ${cur('food')}>${t('food.tab_food')}</button>
      <button type="button" data-svc-tab="services" ${cur('services')}>${t('services.tab')}</button>
    </nav>`;
  }

  go(screen) {
    this.screen = screen;
    this.ctx.setScreen(`services-${screen}`);
    const screens = {
      book: () => this.bookScreen(),
      confirm: () => this.confirmScreen(),
      booking: () => this.bookingScreen(),
      reschedule: () => this.rescheduleScreen(),
    };
    screens[screen]();
    focusHeading(this.panel);
  }

  open() {
    this.go('book');
  }

  /** Leaves the map to the other screens: hidden, without this module's markers. */
  hideMap() {
    const m = this.ctx.map();
    if (m) m.pruneMarkers((id) => !id.startsWith('hc-'));
    this.ctx.showMap(false);
  }

  /** A request whose refusal keeps its body (the fresh slots of a 409 `slot_unavailable`). */
  async send(path, body, headers = {}) {
    const h = { accept: 'application/json', 'content-type': 'application/json', ...headers };
    if (this.api.token) h.authorization = `Bearer ${this.api.token}`;
    let res;
    try {
      res = await fetch(path, { method: 'POST', headers: h, body: JSON.stringify(body) });
    } catch {
      throw new ApiError(0, 'network', t('common.error.network'));
    }
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!res.ok) {
      if (res.status === 401 && this.api.token) this.api.onUnauthorized();
      const e = new ApiError(res.status, (data && data.code) || `http_${res.status}`, (data && data.message) || res.statusText);
      e.slots = data && Array.isArray(data.slots) ? data.slots : null;
      throw e;
    }
    return data;
  }

  // ---- the catalogue, the address, the day

  async loadServices() {
    try {
      const r = await this.api.get('/v1/house-calls/services');
      this.services = (r.services || []).filter((s) => s.active !== false);
    } catch (e) {
      // The catalogue's list is not on every server yet: no list is no service to offer.
      if (e.status === 404) this.services = [];
      else throw e;
    }
    if (!this.services.some((s) => s.id === this.serviceId)) this.serviceId = this.services.length ? this.services[0].id : null;
  }

  async loadBookings() {
    try {
      const { bookings } = await this.api.get('/v1/house-calls/bookings?days=60');
      this.bookings = bookings;
    } catch (e) {
      this.bookings = [];
      if (e.status !== 404) console.warn('bookings', e);
    }
  }

  setAddress(p, label) {
    this.address = { lat: p.lat, lng: p.lng, label };
    localStorage.setItem(this.storeKey('address'), JSON.stringify(this.address));
    this.avail = null;
    this.loadSlots();
  }

  days() {
    const today = nyDate();
    return Array.from({ length: DAYS_AHEAD }, (_, i) => addDays(today, i));
  }

  async bookScreen() {
    this.ctx.setNav('home');
    this.hideMap();
    if (!this.days().includes(this.day)) this.day = nyDate();
    render(this.panel, html`${this.tabsHtml('services')}<h1>${t('services.title')}</h1><p class="loading">${t('services.loading_services')}</p>`);
    try {
      await Promise.all([this.services ? null : this.loadServices(), this.loadBookings()]);
    } catch (e) {
      if (this.screen !== 'book') return;
      render(this.panel, html`${this.tabsHtml('services')}<h1>${t('services.title')}</h1><p class="error" role="alert">${servicesErrorText(e)}</p>`);
      return;
    }
    if (this.screen !== 'book') return;
    const placeholder = t('places.search_placeholder');
    const days = this.days();
    const svc = this.services.find((s) => s.id === this.serviceId);
    render(
      this.panel,
      html`${this.tabsHtml('services')}
        <h1>${t('services.title')}</h1>
        ${this.notice ? html`<p class="notice" role="status" id="hc-notice">${this.notice}</p>` : ''}
        ${this.services.length === 0
          ? html`<p class="muted" id="hc-no-services">${t('services.no_services')}</p>`
          : html`<form id="hc-form" novalidate>
            <label for="hc-service">${t('services.service')}</label>
            <select id="hc-service">${this.services.map((s) => html`<option value="${s.id}" ${s.id === this.serviceId ? 'selected' : ''}>${s.name}</option>`)}</select>
            ${svc ? html`<p class="hint" id="hc-service-hint">${svc.description ? `${svc.description} · ` : ''}${t('services.summary', { duration: t('services.minutes', { n: svc.duration_min }), price: fmt.money(svc.price) })}</p>` : ''}
            <label for="hc-address">${t('services.address')}</label>
            <div class="ac"><input id="hc-address" placeholder="${placeholder}" value="${this.address ? this.address.label : ''}"></div>
            <p class="error" role="alert" id="hc-address-error"></p>
            <label for="hc-unit">${t('services.unit')}</label>
            <input id="hc-unit" maxlength="60" autocomplete="address-line2" value="${this.unit}">
            <fieldset class="days"><legend>${t('services.day')}</legend>
              ${days.map((d, i) => html`<label><input type="radio" name="hc-day" value="${d}" ${d === this.day ? 'checked' : ''}><span>${i === 0 ? t('services.today') : dayLabel(d)}</span></label>`)}
            </fieldset>
            <label for="hc-provider">${t('services.provider')}</label>
            <select id="hc-provider">${this.providerOptions()}</select>
          </form>
          <section id="hc-slots" aria-labelledby="hc-slots-title">${this.address ? '' : html`<p class="hint">${t('services.address_first')}</p>`}</section>`}
        <section class="upcoming" aria-labelledby="hc-upcoming-title">
          <h2 class="small" id="hc-upcoming-title">${t('services.upcoming')}</h2>
          ${this.upcomingHtml()}
        </section>`,
    );
    this.notice = '';
    for (const b of $$('[data-booking]', this.panel)) b.addEventListener('click', () => this.openBooking(b.dataset.booking));
    if (!this.services.length) return;
    const input = $('#hc-address', this.panel);
    input.combobox = addressCombobox(input, {
      api: this.api,
      zones: this.ctx.zones(),
      label: t('services.address'),
      near: () => this.address,
      onError: (e, text) => {
        const el = $('#hc-address-error');
        if (el) el.textContent = text || errorText(e);
      },
      onPick: (r) => {
        $('#hc-address-error').textContent = '';
        this.setAddress({ lat: r.lat, lng: r.lng }, r.label);
      },
    });
    $('#hc-form').addEventListener('submit', (e) => e.preventDefault());
    $('#hc-unit').addEventListener('input', (e) => (this.unit = e.target.value));
    $('#hc-service').addEventListener('change', (e) => {
      this.serviceId = e.target.value;
      this.avail = null;
      this.bookScreen();
    });
    for (const r of $$('input[name=hc-day]', this.panel))
      r.addEventListener('change', () => {
        this.day = r.value;
        this.taken = false;
        this.loadSlots();
      });
    $('#hc-provider').addEventListener('change', (e) => {
      this.providerId = e.target.value;
      this.taken = false;
      this.loadSlots();
    });
    if (this.address) this.loadSlots();
  }

  providerOptions() {
    return html`<option value="" ${this.providerId ? '' : 'selected'}>${t('services.any_provider')}</option>
      ${[...this.knownProviders].map((id) => html`<option value="${id}" ${id === this.providerId ? 'selected' : ''}>${providerName(id)}</option>`)}`;
  }

  upcomingHtml() {
    const list = (this.bookings || []).filter((b) => OPEN_BOOKING_STATES.includes(b.state) || b.state === 'cancelled' || b.state === 'completed');
    if (!list.length) return html`<p class="muted" id="hc-no-upcoming">${t('services.no_upcoming')}</p>`;
    return html`<ul class="history" id="hc-upcoming" aria-labelledby="hc-upcoming-title">${list.map(
      (b) => html`<li><button type="button" data-booking="${b.id}" data-state="${b.state}">
        <span><strong>${b.service_name}</strong><br><span class="muted">${when(b.start)}</span></span>
        <span><strong>${fmt.money(b.state === 'cancelled' ? b.cancel_fee || { amount: 0, currency: b.price.currency } : b.price)}</strong><br>
        <span class="badge">${stateName(b.state)}</span></span></button></li>`,
    )}</ul>`;
  }

  /** The availability query of the form's choices (or of the visit being moved). */
  availPath({ serviceId, point, providerId, day }) {
    const q = new URLSearchParams({
      service_id: serviceId,
      lat: point.lat.toFixed(6),
      lng: point.lng.toFixed(6),
      from: day,
      to: day,
    });
    if (providerId) q.set('provider_id', providerId);
    return `/v1/house-calls/availability?${q}`;
  }

  async loadSlots() {
    const box = $('#hc-slots', this.panel);
    if (!box || !this.address || !this.serviceId) return;
    const path = this.availPath({ serviceId: this.serviceId, point: this.address, providerId: this.providerId, day: this.day });
    this.availKey = path;
    render(box, html`<p class="loading" role="status">${t('services.loading_slots')}</p>`);
    try {
      const avail = await this.api.get(path);
      if (this.availKey !== path) return;
      this.avail = avail;
      this.drawSlots(box, avail.slots, (s) => this.pickSlot(s));
    } catch (e) {
      if (this.availKey !== path) return;
      const el = $('#hc-slots', this.panel);
      if (el) render(el, html`<p class="error" role="alert" id="hc-slots-error" data-code="${e.code || ''}">${servicesErrorText(e)}</p>`);
    }
  }

  /** Draws `slots` into `box` by part of the day; a click calls `onPick(slot)`. */
  drawSlots(box, slots, onPick) {
    for (const s of slots) for (const p of s.provider_ids) this.knownProviders.add(p);
    const parts = ['morning', 'afternoon', 'evening']
      .map((name) => ({ name, slots: slots.filter((s) => part(s.start) === name) }))
      .filter((g) => g.slots.length);
    render(
      box,
      html`<h2 class="small" id="hc-slots-title">${t('services.slots_title')}</h2>
        ${this.taken ? html`<p class="notice warn" role="alert" id="hc-taken">${t('services.taken')}</p>` : ''}
        ${slots.length === 0 ? html`<p class="muted" id="hc-no-slots">${t('services.no_slots')}</p>` : ''}
        ${parts.map(
          (g) => html`<h3 class="part" id="hc-part-${g.name}">${t(`services.${g.name}`)}</h3>
          <ul class="slots" aria-labelledby="hc-part-${g.name}">${g.slots.map(
            (s) => html`<li><button type="button" class="slot" data-start="${s.start}">${clock(s.start)}<span class="visually-hidden">, ${t('services.slot_providers', { n: s.provider_ids.length })}</span></button></li>`,
          )}</ul>`,
        )}
        <p class="error" role="alert" id="hc-slot-error"></p>`,
    );
    // The provider list may have grown.
    const sel = $('#hc-provider', this.panel);
    if (sel && sel.options.length - 1 !== this.knownProviders.size) render(sel, this.providerOptions());
    for (const b of $$('[data-start]', box))
      b.addEventListener('click', () => onPick(slots.find((s) => s.start === b.dataset.start), b));
  }

  /** A slot was taken meanwhile: the day's slots from the 409's body, with the notice. */
  showTaken(e, onPick) {
    this.taken = true;
    const box = $('#hc-slots', this.panel);
    if (!box) return;
    this.drawSlots(box, e.slots || [], onPick);
    $('#hc-taken')?.focus?.();
  }

  // ---- hold and book

  async pickSlot(slot) {
    const errEl = $('#hc-slot-error');
    if (errEl) errEl.textContent = '';
    for (const b of $$('[data-start]', this.panel)) b.disabled = true;
    const status = $('#hc-slots .loading');
    if (!status && errEl) errEl.insertAdjacentHTML('beforebegin', String(html`<p class="loading" role="status" id="hc-holding">${t('services.holding')}</p>`));
    const body = { service_id: this.serviceId, location: { lat: this.address.lat, lng: this.address.lng }, start: slot.start };
    if (this.providerId) body.provider_id = this.providerId;
    try {
      this.hold = await this.send('/v1/house-calls/holds', body);
      this.bookKey = newIdempotencyKey();
      this.taken = false;
      this.payMethods = null;
      this.go('confirm');
    } catch (e) {
      $('#hc-holding')?.remove();
      if (e.code === 'slot_unavailable') return this.showTaken(e, (s) => this.pickSlot(s));
      for (const b of $$('[data-start]', this.panel)) b.disabled = false;
      showError($('#hc-slot-error'), e);
    }
  }

  /** The payment method for the visit: the customer's choice if it can pay, else the first that can. */
  payMethod() {
    const methods = this.payMethods || [];
    const chosen = this.ctx.payChoice();
    if (methods.some((m) => m.id === chosen)) return chosen;
    return methods.length ? methods[0].id : null;
  }

  async confirmScreen() {
    this.ctx.setNav('home');
    this.hideMap();
    if (!this.payMethods) {
      render(this.panel, html`<h1 id="hc-confirm-title">${t('services.confirm_title')}</h1><p class="loading">…</p>`);
      try {
        this.payMethods = await this.ctx.payMethods();
      } catch {
        this.payMethods = [];
      }
      if (this.screen !== 'confirm' || !this.hold) return;
    }
    const h = this.hold;
    const svc = this.services.find((s) => s.id === this.serviceId) || this.avail;
    const price = (svc && svc.price) || (this.avail && this.avail.price);
    const duration = (svc && svc.duration_min) || (this.avail && this.avail.duration_min);
    render(
      this.panel,
      html`<p><button type="button" class="link" id="hc-back">${t('services.choose_other')}</button></p>
        <h1 id="hc-confirm-title">${t('services.confirm_title')}</h1>
        <div class="card">
          <p class="big">${(svc && svc.name) || (this.avail && this.avail.service_name) || ''}</p>
          <dl class="kv">
            <dt>${t('services.when')}</dt><dd id="hc-when">${when(h.start)}</dd>
            <dt>${t('services.length')}</dt><dd>${t('services.minutes', { n: duration })}</dd>
            <dt>${t('services.where')}</dt><dd>${this.addressLine()}</dd>
            <dt>${t('services.who')}</dt><dd>${this.providerId ? providerName(this.providerId) : t('services.any_provider')}</dd>
            <dt>${t('services.price')}</dt><dd id="hc-price">${fmt.money(price)}</dd>
          </dl>
          <p class="hint" id="hc-held">${t('services.held_until', { time: clock(h.expires_at) })}</p>
        </div>
        ${this.payMethods.length
          ? html`<div class="row pay"><label for="hc-pay">${t('money.payWith')}</label>
              <select id="hc-pay">${this.payMethods.map((m) => html`<option value="${m.id}" ${m.id === this.payMethod() ? 'selected' : ''}>${this.ctx.methodLabel(m)}</option>`)}</select>
              <button type="button" class="link" id="hc-manage-payment">${t('money.managePayment')}</button></div>`
          : html`<p class="hint" id="hc-pay-none">${t('services.pay_none')}
              <button type="button" class="link" id="hc-manage-payment">${t('money.managePayment')}</button></p>`}
        <p class="error" role="alert" id="hc-book-error"></p>
        <div class="actionbar"><button class="primary" id="hc-book" ${this.payMethod() ? '' : 'disabled'}>${t('services.confirm', { price: fmt.money(price) })}</button></div>`,
    );
    $('#hc-pay')?.addEventListener('change', (e) => this.ctx.choosePay(e.target.value));
    $('#hc-manage-payment').addEventListener('click', () => {
      this.payMethods = null;
      this.ctx.managePayment();
    });
    $('#hc-back').addEventListener('click', () => {
      this.hold = null;
      this.go('book');
    });
    $('#hc-book').addEventListener('click', (e) => this.book(e.currentTarget));
  }

  addressLine() {
    const unit = this.unit.trim();
    return [this.address.label, unit].filter(Boolean).join(', ').slice(0, 200);
  }

  /** Books the held slot. The key stays with the hold, so a retry after a lost answer finds the booking
   *  made first instead of making a second one. */
  async book(button) {
    const errEl = $('#hc-book-error');
    const body = {
      service_id: this.serviceId,
      location: { lat: this.address.lat, lng: this.address.lng },
      address: this.addressLine(),
      start: this.hold.start,
      hold_id: this.hold.hold_id,
      payment_method_id: this.payMethod(),
    };
    if (this.providerId) body.provider_id = this.providerId;
    await busy(button, null, async () => {
      errEl.textContent = '';
      try {
        this.booking = await this.send('/v1/house-calls/bookings', body, { 'idempotency-key': this.bookKey });
        this.hold = null;
        this.bookings = null;
        this.go('booking');
      } catch (e) {
        if (e.code === 'slot_unavailable') {
          // Back to the day's times, with the fresh ones from the answer.
          this.hold = null;
          this.go('book');
          await this.waitForSlotsBox();
          return this.showTaken(e, (s) => this.pickSlot(s));
        }
        if (e.code === 'hold_expired') this.bookKey = newIdempotencyKey();
        showError(errEl, e);
      }
    });
  }

  /** The book screen draws its slots' box after reading the catalogue and the visits. */
  async waitForSlotsBox() {
    for (let i = 0; i < 50 && !$('#hc-slots', this.panel); i++) await new Promise((r) => setTimeout(r, 50));
    this.availKey = null; // the slots of the answer win over a load still on its way
  }

  // ---- the booking

  async openBooking(id) {
    const b = (this.bookings || []).find((x) => x.id === id);
    this.booking = b || { id };
    if (!b) await this.refreshBooking();
    this.go('booking');
    if (b) this.refreshBooking();
  }

  async refreshBooking() {
    if (!this.booking) return;
    try {
      const fresh = await this.api.get(`/v1/house-calls/bookings/${this.booking.id}`);
      const changed = !this.booking.version || fresh.version !== this.booking.version || JSON.stringify(fresh.provider_position) !== JSON.stringify(this.booking.provider_position);
      this.booking = fresh;
      if (changed && this.screen === 'booking') this.bookingScreen();
    } catch (e) {
      console.warn('booking refresh failed', e);
    }
  }

  /** Events of the stream: a `booking_*` one re-reads the visit on screen (or the list). */
  onMessage(m) {
    if (typeof m.type !== 'string' || !m.type.startsWith('booking_')) return false;
    if (this.screen === 'booking') this.refreshBooking();
    else if (this.screen === 'book') {
      this.loadBookings().then(() => {
        const box = $('.upcoming', this.panel);
        if (this.screen === 'book' && box) {
          render(box, html`<h2 class="small" id="hc-upcoming-title">${t('services.upcoming')}</h2>${this.upcomingHtml()}`);
          for (const b of $$('[data-booking]', box)) b.addEventListener('click', () => this.openBooking(b.dataset.booking));
        }
      });
    }
    return true;
  }

  drawBookingMap(b) {
    const map = this.ctx.map();
    if (!map) return;
    map.pruneMarkers((id) => id.startsWith('hc-'));
    clearRoute(map, 'trip');
    clearRoute(map, 'approach');
    map.setMarker('hc-home', { ...b.location, kind: 'dropoff', label: t('services.marker_you') });
    map.setMarker('hc-provider', { lat: b.provider_position.lat, lng: b.provider_position.lng, kind: 'car', label: t('services.marker_provider') });
    if (this.fitted !== b.id) {
      this.fitted = b.id;
      map.fitPoints([b.location, b.provider_position], 150);
    }
  }

  bookingScreen() {
    const b = this.booking;
    this.ctx.setNav('home');
    if (!b || !b.state) {
      this.hideMap();
      render(this.panel, html`<h1>${t('services.booking_title')}</h1><p class="loading">${t('services.loading_bookings')}</p>`);
      return;
    }
    const tracking = b.state === 'on_the_way' && b.provider_position;
    if (tracking) {
      this.ctx.showMap(true);
      this.drawBookingMap(b);
    } else this.hideMap();
    const late = new Date(b.start).getTime() - Date.now() < 24 * 3600 * 1000;
    const cancelled = b.state === 'cancelled';
    render(
      this.panel,
      html`${this.tabsHtml('services')}
        <h1 id="hc-booking" data-booking="${b.id}" data-state="${b.state}">${b.service_name}</h1>
        <p><span class="badge ${cancelled || b.state === 'missed' ? 'bad' : b.state === 'completed' ? 'ok' : 'info'}" id="hc-state">${stateName(b.state)}</span></p>
        ${this.notice ? html`<p class="notice" role="status" id="hc-notice">${this.notice}</p>` : ''}
        ${cancelled
          ? html`<p class="notice bad" id="hc-cancel-fee">${b.cancel_fee && b.cancel_fee.amount > 0 ? t('services.cancelled_fee', { fee: fmt.money(b.cancel_fee) }) : t('services.cancelled_free')}</p>`
          : ''}
        ${b.state === 'on_the_way' ? html`<p id="hc-on-the-way">${t('services.on_the_way')}${b.eta ? html` <strong id="hc-eta">${t('services.eta', { time: clock(b.eta) })}</strong>` : ''}</p>` : ''}
        <div class="card">
          <dl class="kv">
            <dt>${t('services.when')}</dt><dd id="hc-start">${when(b.start)} – ${clock(b.end)}</dd>
            <dt>${t('services.where')}</dt><dd>${b.address}</dd>
            <dt>${t('services.who')}</dt><dd id="hc-provider-name">${providerName(b.provider_id)}</dd>
            <dt>${t('services.price')}</dt><dd>${fmt.money(b.price)}</dd>
          </dl>
        </div>
        ${b.checkin_code
          ? html`<div class="card handover" aria-labelledby="hc-code-label"><p class="muted" id="hc-code-label">${t('services.code_label')}</p>
            <p class="pin" id="hc-code" aria-labelledby="hc-code-label">${b.checkin_code}</p></div>`
          : ''}
        <p class="error" role="alert" id="hc-booking-error"></p>
        ${RESCHEDULABLE.includes(b.state) ? html`<button class="secondary wide" id="hc-reschedule">${t('services.reschedule')}</button>` : ''}
        ${CANCELLABLE.includes(b.state) ? html`<button class="secondary wide" id="hc-cancel">${t('services.cancel')}</button>` : ''}
        ${CANCELLABLE.includes(b.state) && late ? html`<p class="hint" id="hc-late-hint">${t('services.cancel_late')}</p>` : ''}
        ${CANCELLABLE.includes(b.state) && Date.now() > new Date(b.start).getTime() + 30 * 60 * 1000
          ? html`<button class="secondary wide" id="hc-no-show">${t('services.provider_no_show')}</button>` : ''}
        ${b.state === 'completed'
          ? html`<form class="card" id="hc-rate" aria-labelledby="hc-rate-title">
            <h2 class="small" id="hc-rate-title">${t('services.rate_title')}</h2>
            <label for="hc-stars">${t('services.stars')}</label>
            <select id="hc-stars">${[5, 4, 3, 2, 1].map((n) => html`<option value="${n}">${t('services.stars_n', { n })}</option>`)}</select>
            <label for="hc-comment">${t('services.comment')}</label>
            <textarea id="hc-comment" maxlength="500" rows="2"></textarea>
            <button type="submit" class="primary wide" id="hc-rate-send">${t('services.rate_send')}</button>
            <p class="error" role="alert" id="hc-rate-error"></p>
          </form>
          <button type="button" class="secondary wide" id="hc-block">${t('services.block')}</button>`
          : ''}
        <p><button type="button" class="link" id="hc-all">${t('services.all_visits')}</button></p>`,
    );
    this.notice = '';
    $('#hc-rate')?.addEventListener('submit', (e) => {
      e.preventDefault();
      busy($('#hc-rate-send'), $('#hc-rate-error'), async () => {
        try {
          await this.api.post(`/v1/house-calls/bookings/${this.booking.id}/ratings`, {
            stars: Number($('#hc-stars').value),
            comment: $('#hc-comment').value,
          });
          this.notice = t('services.rated');
        } catch (err) {
          if (err.code !== 'already_rated') throw Object.assign(new Error(servicesErrorText(err)), { code: err.code });
          this.notice = t('services.already_rated');
        }
        this.go('booking');
      });
    });
    $('#hc-block')?.addEventListener('click', async (e) => {
      const ok = await confirmDialog({
        title: t('services.block_title'),
        body: html`<p>${t('services.block_body')}</p>`,
        confirm: t('services.block'),
        cancel: t('services.keep'),
        danger: true,
      });
      if (!ok) return;
      await busy(e.currentTarget, $('#hc-booking-error'), async () => {
        try {
          await this.api.post(`/v1/house-calls/bookings/${this.booking.id}/block`, {});
        } catch (err) {
          throw Object.assign(new Error(servicesErrorText(err)), { code: err.code });
        }
        this.notice = t('services.blocked');
        this.go('booking');
      });
    });
    $('#hc-all').addEventListener('click', () => {
      this.booking = null;
      this.go('book');
    });
    $('#hc-cancel')?.addEventListener('click', (e) => this.cancel(e.currentTarget));
    $('#hc-reschedule')?.addEventListener('click', () => this.go('reschedule'));
    $('#hc-no-show')?.addEventListener('click', (e) =>
      busy(e.currentTarget, $('#hc-booking-error'), async () => {
        try {
          this.booking = await this.api.post(`/v1/house-calls/bookings/${this.booking.id}/provider-no-show`, {});
        } catch (err) {
          throw Object.assign(new Error(servicesErrorText(err)), { code: err.code });
        }
        this.go('booking');
      }),
    );
  }

  async cancel(button) {
    await busy(button, $('#hc-booking-error'), async () => {
      const fresh = await this.api.get(`/v1/house-calls/bookings/${this.booking.id}`);
      this.booking = fresh;
      if (!CANCELLABLE.includes(fresh.state)) return this.go('booking');
      // Within 24 hours of the start a fee applies; how much is the server's answer (shown after).
      const late = new Date(fresh.start).getTime() - Date.now() < 24 * 3600 * 1000;
      const ok = await confirmDialog({
        title: t('services.cancel_title'),
        body: html`<p id="hc-cancel-warning" data-late="${late ? 'true' : 'false'}">${late ? t('services.cancel_late') : t('services.cancel_free')}</p>`,
        confirm: t('services.cancel'),
        cancel: t('services.keep'),
        danger: true,
      });
      if (!ok) return;
      try {
        this.booking = await this.api.post(`/v1/house-calls/bookings/${this.booking.id}/cancel`, {});
      } catch (e) {
        if (e.code === 'invalid_booking_state') await this.refreshBooking();
        throw Object.assign(new Error(servicesErrorText(e)), { code: e.code });
      }
      this.bookings = null;
      this.go('booking');
    });
  }

  // ---- reschedule

  rescheduleScreen() {
    const b = this.booking;
    this.ctx.setNav('home');
    this.hideMap();
    if (!this.days().includes(this.rDay)) this.rDay = nyDate(new Date(b.start)) >= nyDate() && this.days().includes(nyDate(new Date(b.start))) ? nyDate(new Date(b.start)) : nyDate();
    render(
      this.panel,
      html`<p><button type="button" class="link" id="hc-back">${t('services.back')}</button></p>
        <h1 id="hc-reschedule-title">${t('services.reschedule_title')}</h1>
        <p class="muted">${b.service_name} · ${when(b.start)}</p>
        <fieldset class="days"><legend>${t('services.day')}</legend>
          ${this.days().map((d, i) => html`<label><input type="radio" name="hc-rday" value="${d}" ${d === this.rDay ? 'checked' : ''}><span>${i === 0 ? t('services.today') : dayLabel(d)}</span></label>`)}
        </fieldset>
        <section id="hc-slots" aria-labelledby="hc-slots-title"></section>`,
    );
    $('#hc-back').addEventListener('click', () => this.go('booking'));
    for (const r of $$('input[name=hc-rday]', this.panel))
      r.addEventListener('change', () => {
        this.rDay = r.value;
        this.taken = false;
        this.loadRescheduleSlots();
      });
    this.taken = false;
    this.loadRescheduleSlots();
  }

  async loadRescheduleSlots() {
    const b = this.booking;
    const box = $('#hc-slots', this.panel);
    if (!box) return;
    // A chosen provider stays the one; "any provider" may move to another.
    const path = this.availPath({ serviceId: b.service_id, point: b.location, providerId: b.provider_choice === 'chosen' ? b.provider_id : '', day: this.rDay });
    this.availKey = path;
    render(box, html`<p class="loading" role="status">${t('services.loading_slots')}</p>`);
    try {
      const avail = await this.api.get(path);
      if (this.availKey !== path) return;
      this.drawSlots(box, avail.slots, (s) => this.moveTo(s));
    } catch (e) {
      if (this.availKey !== path) return;
      render(box, html`<p class="error" role="alert" id="hc-slots-error" data-code="${e.code || ''}">${servicesErrorText(e)}</p>`);
    }
  }

  async moveTo(slot) {
    const ok = await confirmDialog({
      title: t('services.reschedule_title'),
      body: html`<p>${t('services.reschedule_confirm', { time: when(slot.start) })}</p>`,
      confirm: t('services.reschedule_do'),
      cancel: t('services.back'),
    });
    if (!ok) return;
    const errEl = $('#hc-slot-error');
    try {
      this.booking = await this.send(`/v1/house-calls/bookings/${this.booking.id}/reschedule`, { start: slot.start });
      this.notice = t('services.rescheduled');
      this.bookings = null;
      this.go('booking');
    } catch (e) {
      if (e.code === 'slot_unavailable') return this.showTaken(e, (s) => this.moveTo(s));
      showError(errEl, e);
    }
  }
}
