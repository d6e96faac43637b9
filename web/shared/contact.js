// Who is coming, chat, and the likely wait: the driver card a rider sees from assignment on, a small
// message thread between a ride's rider and driver (over the event stream's `message_sent` events, new
// ones announced politely, an unread badge while it is closed), the quote's supply line, the reasons
// a ride found no driver, and the driver's vehicle form. Shared by the rider and driver apps.
import { addMessages, t, number } from './i18n.js';
import { html, $, busy } from './ui.js';
import catalogue from './messages/whocoming.js';

addMessages(catalogue);

if (!document.querySelector('link[data-contact-css]')) {
  const link = document.createElement('link');
  link.rel = 'stylesheet';
  link.href = '/shared/contact.css';
  link.dataset.contactCss = '';
  document.head.append(link);
}

/** The rating line of a driver card. */
function ratingText(rating) {
  if (!rating) return t('whocoming.no_ratings');
  const average = number(rating.average, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  return rating.count === 1
    ? t('whocoming.rating_one', { average })
    : t('whocoming.rating', { average, count: rating.count });
}

/** The "who is coming" card of a ride's driver (`ride.driver`), or nothing. */
export function driverCardHtml(card) {
  if (!card) return '';
  const v = card.vehicle;
  return html`<section class="card" id="who" aria-labelledby="who-title">
    <h2 class="visually-hidden" id="who-title">${t('whocoming.card_title')}</h2>
    <div class="who">
      <div class="avatar" role="img" aria-label="${t('whocoming.avatar', { name: card.name })}">${card.initials}</div>
      <div class="who-text">
        <p class="who-name" id="who-name">${card.name}</p>
        <p class="who-rating muted" id="who-rating">${ratingText(card.rating)}</p>
        <p class="who-car" id="who-car">${v ? t('whocoming.car', v) : t('whocoming.no_car')}</p>
        ${v ? html`<p><span class="visually-hidden">${t('whocoming.plate_label')}: </span><span class="plate" id="who-plate">${v.plate}</span></p>` : ''}
      </div>
    </div>
  </section>`;
}

/** The likely wait of a quote, before the Request button. */
export function supplyHtml(q) {
  if (q.pickup_eta_s === null || q.pickup_eta_s === undefined) {
    return html`<p class="notice warn supply" id="supply" data-eta="none">${t('whocoming.no_cars')}</p>`;
  }
  const minutes = Math.round(q.pickup_eta_s / 60);
  const eta = minutes < 1 ? t('whocoming.eta_near_under_a_minute') : t('whocoming.eta_near', { minutes });
  const count = q.drivers_nearby === 1 ? t('whocoming.drivers_nearby_one') : t('whocoming.drivers_nearby', { count: q.drivers_nearby });
  return html`<p class="supply" id="supply" data-eta="${q.pickup_eta_s}"><strong>${eta}</strong> · <span class="muted">${count}</span></p>`;
}

/** Why a ride ended without a driver, for its rider. */
export function noDriverReasonText(reason) {
  const key = `whocoming.reason.${reason || 'all_drivers_declined'}`;
  const text = t(key);
  return text === key ? t('whocoming.reason.all_drivers_declined') : text;
}

const OPEN_FOR_CHAT = ['driver_assigned', 'driver_arrived', 'in_progress'];

/**
 * The message thread of one ride at a time. Its state outlives re-renders of the screen: call
 * `html(ride)` while drawing, `bind(root)` after, and `onEvent(m)` for every stream message.
 */
export class Chat {
  /** @param api the app's Api; @param role 'rider' or 'driver' (who "I" am) */
  constructor(api, role) {
    this.api = api;
    this.role = role;
    this.rideId = null;
    this.messages = [];
    this.unread = 0;
    this.open = false;
    this.loaded = false;
    this.draft = '';
  }

  me() {
    return this.api.session && this.api.session.user_id;
  }

  /** Starts following `ride` (a new ride forgets the old thread). */
  follow(ride) {
    if (!ride || ride.ride_id === this.rideId) return;
    this.rideId = ride.ride_id;
    this.messages = [];
    this.unread = 0;
    this.open = false;
    this.loaded = false;
    this.draft = '';
  }

  async load() {
    if (!this.rideId) return;
    const id = this.rideId;
    try {
      const { messages } = await this.api.get(`/v1/rides/${id}/messages`);
      if (id !== this.rideId) return;
      for (const m of messages) this.add(m, false);
      this.loaded = true;
      this.paint();
    } catch (e) {
      console.warn('messages', e);
    }
  }

  add(m, live) {
    if (this.messages.some((x) => x.message_id === m.message_id)) return false;
    this.messages.push(m);
    this.messages.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    const mine = m.from === this.me();
    if (!mine && live) {
      if (!this.open) this.unread += 1;
      const who = this.role === 'rider' ? t('whocoming.them_driver') : t('whocoming.them_rider');
      const liveEl = document.getElementById('chat-live');
      if (liveEl) liveEl.textContent = t('whocoming.new_message', { who, text: m.text });
    }
    return true;
  }

  /** A stream message: a `message_sent` of the followed ride joins the thread. */
  onEvent(m) {
    if (m.type !== 'message_sent' || m.ride_id !== this.rideId) return;
    if (this.add({ message_id: m.message_id, from: m.from, sender: m.sender, text: m.text, at: m.at }, true)) this.paint();
  }

  logHtml() {
    if (this.messages.length === 0) return html`<li class="muted" id="chat-empty">${t('whocoming.chat_empty')}</li>`;
    const them = this.role === 'rider' ? t('whocoming.them_driver') : t('whocoming.them_rider');
    return this.messages.map((m) => {
      const mine = m.from === this.me();
      return html`<li class="${mine ? 'mine' : 'theirs'}" data-message="${m.message_id}"><span class="who-said">${mine ? t('whocoming.you') : them}</span>${m.text}</li>`;
    });
  }

  /** The thread's markup for `ride` (nothing unless the ride has a driver and is open). */
  html(ride) {
    this.follow(ride);
    if (!ride || !OPEN_FOR_CHAT.includes(ride.state)) return '';
    const label = this.role === 'rider' ? t('whocoming.message_driver') : t('whocoming.message_rider');
    return html`<section class="card" id="chat" aria-labelledby="chat-toggle">
      <button type="button" class="secondary" id="chat-toggle" style="width:100%" aria-expanded="${this.open}" aria-controls="chat-panel">${label}
        <span class="badge info" id="chat-unread" ${this.unread ? '' : 'hidden'}>${t('whocoming.unread', { count: this.unread })}</span></button>
      <div id="chat-panel" ${this.open ? '' : 'hidden'}>
        <h2 id="chat-title">${t('whocoming.chat_title')}</h2>
        <ol class="chat-log" id="chat-log" aria-labelledby="chat-title" tabindex="0">${this.logHtml()}</ol>
        <form class="chat-form" id="chat-form">
          <div class="grow"><label for="chat-input">${t('whocoming.chat_input')}</label>
          <input id="chat-input" name="text" maxlength="500" autocomplete="off" required value="${this.draft}"></div>
          <button class="primary" id="chat-send" type="submit">${t('whocoming.send')}</button>
        </form>
        <p class="error" role="alert" id="chat-error"></p>
      </div>
      <p class="visually-hidden" aria-live="polite" id="chat-live"></p>
    </section>`;
  }

  /** Updates the thread in place (log and badge), without moving focus. */
  paint() {
    const log = document.getElementById('chat-log');
    if (log) {
      log.innerHTML = String(html`${this.logHtml()}`);
      log.scrollTop = log.scrollHeight;
    }
    const badge = document.getElementById('chat-unread');
    if (badge) {
      badge.hidden = this.unread === 0;
      badge.textContent = t('whocoming.unread', { count: this.unread });
    }
  }

  /** Wires the thread rendered by `html` inside `root`. */
  bind(root) {
    const toggle = $('#chat-toggle', root);
    if (!toggle) return;
    if (!this.loaded) this.load();
    toggle.addEventListener('click', () => {
      this.open = !this.open;
      toggle.setAttribute('aria-expanded', String(this.open));
      $('#chat-panel', root).hidden = !this.open;
      if (this.open) {
        this.unread = 0;
        this.paint();
        $('#chat-input', root)?.focus();
      }
    });
    const form = $('#chat-form', root);
    $('#chat-input', root).addEventListener('input', (e) => {
      this.draft = e.target.value;
    });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const input = $('#chat-input', root);
      const text = input.value;
      if (!text.trim()) return;
      busy($('#chat-send', root), $('#chat-error', root), async () => {
        const m = await this.api.post(`/v1/rides/${this.rideId}/messages`, { text });
        this.add(m, false);
        input.value = '';
        this.draft = '';
        this.paint();
        input.focus();
      });
    });
  }
}

/** The driver's vehicle form (`vehicle`: the registered one, or null). */
export function vehicleFormHtml(vehicle) {
  const v = vehicle || { make: '', model: '', colour: '', plate: '' };
  return html`<form class="card" id="vehicle-form">
    <h2 id="vehicle-title">${t('whocoming.vehicle_title')}</h2>
    <p class="hint">${t('whocoming.vehicle_intro')}</p>
    <label for="vehicle-make">${t('whocoming.make')}</label>
    <input id="vehicle-make" name="make" required maxlength="40" autocomplete="off" value="${v.make}">
    <label for="vehicle-model">${t('whocoming.model')}</label>
    <input id="vehicle-model" name="model" required maxlength="40" autocomplete="off" value="${v.model}">
    <label for="vehicle-colour">${t('whocoming.colour')}</label>
    <input id="vehicle-colour" name="colour" required maxlength="40" autocomplete="off" value="${v.colour}">
    <label for="vehicle-plate">${t('whocoming.plate')}</label>
    <input id="vehicle-plate" name="plate" required maxlength="10" pattern="[A-Za-z0-9][A-Za-z0-9 \\-]*" autocomplete="off" aria-describedby="vehicle-plate-hint" value="${v.plate}">
    <p class="hint" id="vehicle-plate-hint">${t('whocoming.plate_hint')}</p>
    <p class="error" role="alert" id="vehicle-error"></p>
    <p role="status" id="vehicle-done"></p>
    <button class="primary" id="vehicle-save" type="submit">${t('whocoming.save_vehicle')}</button>
  </form>`;
}

/** Wires the vehicle form inside `root`; `onSaved(vehicle)` after the server kept it. */
export function bindVehicleForm(root, api, onSaved) {
  const form = $('#vehicle-form', root);
  if (!form) return;
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const f = new FormData(form);
    busy($('#vehicle-save', root), $('#vehicle-error', root), async () => {
      const saved = await api.put('/v1/drivers/me/vehicle', {
        make: String(f.get('make') || ''),
        model: String(f.get('model') || ''),
        colour: String(f.get('colour') || ''),
        plate: String(f.get('plate') || ''),
      });
      $('#vehicle-done', root).textContent = t('whocoming.vehicle_saved');
      onSaved(saved);
    });
  });
}

/** One line about the registered vehicle. */
export function vehicleSummary(v) {
  return t('whocoming.vehicle_summary', v);
}
