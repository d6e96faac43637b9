// The rider app: sign in, choose pickup and drop-off on the map or by zone name, get an itemised quote,
// request, follow the driver live, show the PIN (with wrong tries, the lock, and a new PIN on demand), see
// the receipt, rate, and browse past rides.
import { Api, errorText, newIdempotencyKey } from '/shared/api.js';
import { EventStream, bindConnectionBanner } from '/shared/events.js';
import { CityMap, loadZones, placeName } from '/shared/map.js';
import { routeLine, clearRoute } from '/shared/route.js';
import { addressCombobox, hasPlaceSearch, reversePlace, reverseErrorText } from '/shared/places.js';
import { t } from '/shared/i18n.js';
import * as fmt from '/shared/format.js';
import { html, render, $, $$, busy, authScreen, confirmDialog, focusHeading } from '/shared/ui.js';
import { riderAlert, askPermission } from '/shared/alerts.js';

const api = new Api('rider');
const panel = $('#panel');
const mapEl = $('#map');
let map = null;
let zones = [];
let stream = null;

const st = {
  screen: 'loading',
  pickup: null, // {lat, lng, label}
  dropoff: null,
  setting: 'pickup',
  quote: null,
  quoteKey: null,
  ride: null,
  driverPos: null,
  driverDropped: null, // the ride whose driver cancelled, until another is assigned
  eta: null, // {s, at: ms}
};

api.onUnauthorized = () => {
  if (stream) stream.close();
  stream = null;
  api.saveSession(null);
  showAuth();
};

function showMap(on, tall = false) {
  mapEl.hidden = !on;
  mapEl.classList.toggle('tall', tall);
  if (on && !map) {
    map = new CityMap(mapEl, {
      label: 'Map of Manhattan. Tap to choose a place.',
      onTap: (p) => {
        if (st.screen === 'plan') pickPoint(st.setting, p);
      },
    });
  }
}

function setNav(current) {
  const nav = $('#nav');
  nav.hidden = !api.session;
  for (const b of $$('.navbtn[data-go]')) {
    if (b.dataset.go === current) b.setAttribute('aria-current', 'page');
    else b.removeAttribute('aria-current');
  }
}

function go(screen) {
  st.screen = screen;
  const screens = { home, plan, quote: quoteScreen, ride: rideScreen, history, receipt };
  screens[screen]();
  focusHeading(panel);
}

$('#nav').addEventListener('click', (e) => {
  const b = e.target.closest('[data-go]');
  if (!b) return;
  if (st.ride && fmt.OPEN_STATES.includes(st.ride.state) && b.dataset.go === 'home') go('ride');
  else go(b.dataset.go);
});
$('#logout').addEventListener('click', async () => {
  if (stream) stream.close();
  stream = null;
  await api.logout();
  st.ride = null;
  showAuth();
});

function showAuth() {
  st.screen = 'auth';
  setNav(null);
  showMap(false);
  authScreen(panel, api, {
    title: 'Doorstep — ride',
    signupRole: 'rider',
    expectRole: 'rider',
    onDone: () => start(),
  });
}

async function start() {
  setNav('home');
  render(panel, html`<p class="loading">Loading your account…</p>`);
  try {
    await api.get('/v1/me');
    stream = new EventStream(() => api.token, { onMessage, onResume: refreshRide });
    bindConnectionBanner($('#conn'), stream);
    zones = await loadZones().catch(() => []);
    st.search = await hasPlaceSearch(api);
    const { rides } = await api.get('/v1/rides');
    const open = rides.find((r) => fmt.OPEN_STATES.includes(r.state));
    if (open) {
      st.ride = open;
      go('ride');
    } else go('home');
  } catch (e) {
    if (e.status === 401) return;
    render(
      panel,
      html`<div class="card"><h1>Something went wrong</h1><p class="error" role="alert">${errorText(e)}</p>
        <button class="primary" id="retry">Try again</button></div>`,
    );
    $('#retry').addEventListener('click', start);
  }
}

// ---- home

function home() {
  setNav('home');
  showMap(false);
  const name = (api.session && api.session.name) || '';
  render(
    panel,
    html`<h1>Hi${name ? `, ${name}` : ''}</h1>
      <p class="muted">What do you need today?</p>
      <div class="services" role="list">
        <div role="listitem"><button class="service available" id="svc-ride">
          <strong>Ride</strong><span>A car to your door, anywhere in Manhattan</span></button></div>
        <div role="listitem"><button class="service" disabled aria-describedby="soon-food">
          <strong>Food</strong><span id="soon-food">Coming soon</span></button></div>
        <div role="listitem"><button class="service" disabled aria-describedby="soon-home">
          <strong>Home services</strong><span id="soon-home">Coming soon</span></button></div>
      </div>`,
  );
  $('#svc-ride').addEventListener('click', () => go('plan'));
}

// ---- planning: pickup and drop-off

function placeLabel(p) {
  return placeName(zones, p);
}

function setPlace(which, p, label) {
  st[which] = { lat: p.lat, lng: p.lng, label: label || t('places.near', { name: placeLabel(p) }) };
  st.quote = null;
  if (map) {
    map.setMarker(which, { ...p, kind: which, label: `${which === 'pickup' ? 'Pickup' : 'Drop-off'}: ${st[which].label}` });
  }
  if (which === 'pickup' && !st.dropoff) st.setting = 'dropoff';
  if (st.screen === 'plan') updatePlan(which);
}

/** Brings the plan screen up to date after a place was set, without redrawing it (so that what the
 *  rider is typing in the other field stays). */
function updatePlan(which) {
  const input = $(`#${which}-search`);
  if (input && input.value !== st[which].label) {
    if (input.combobox) input.combobox.set(st[which].label);
    else input.value = st[which].label;
  }
  for (const r of $$('input[name=setting]', panel)) r.checked = r.value === st.setting;
  const button = $('#get-quote');
  if (button) button.disabled = !(st.pickup && st.dropoff);
}

/** A point from a map tap or the device's location: named (and snapped to the street) by the server, or
 *  refused (in the water, outside Manhattan) with the reason, and then not used. */
let pickSeq = 0;
async function pickPoint(which, p) {
  const mine = ++pickSeq;
  const err = $('#plan-error');
  if (err) err.textContent = '';
  try {
    const place = await reversePlace(api, p, zones);
    if (mine !== pickSeq || st.screen !== 'plan') return;
    setPlace(which, place, place.label);
    if (map) map.fitPoints([st.pickup, st.dropoff].filter(Boolean), 150);
  } catch (e) {
    if (mine !== pickSeq) return;
    const el = $('#plan-error');
    if (el) el.textContent = e.status === 422 ? reverseErrorText(e) : errorText(e);
  }
}

function plan() {
  setNav('home');
  showMap(true);
  map.pruneMarkers((id) => id === 'pickup' || id === 'dropoff');
  clearRoute(map, 'trip');
  clearRoute(map, 'approach');
  // Start on the busy middle of the island rather than the whole of it, which is small on a phone.
  if (!st.pickup && !st.dropoff) map.ready.then(() => map.fitPoints([{ lat: 40.735, lng: -74.0 }, { lat: 40.775, lng: -73.96 }], 150));
  const placeholder = st.search ? t('places.search_placeholder') : t('places.search_zone_placeholder');
  render(
    panel,
    html`<h1>Where to?</h1>
      <fieldset class="seg" aria-describedby="tap-hint">
        <legend class="visually-hidden">Tapping the map sets</legend>
        <label><input type="radio" name="setting" value="pickup" ${st.setting === 'pickup' ? 'checked' : ''}><span>Set pickup</span></label>
        <label><input type="radio" name="setting" value="dropoff" ${st.setting === 'dropoff' ? 'checked' : ''}><span>Set drop-off</span></label>
      </fieldset>
      <p class="hint" id="tap-hint">${st.search ? t('places.tap_hint') : t('places.tap_hint_zones')}</p>
      <div class="field-row"><label for="pickup-search">Pickup</label>
        <button type="button" class="link" id="locate">${t('places.use_my_location')}</button></div>
      <div class="ac"><input id="pickup-search" placeholder="${placeholder}" value="${st.pickup ? st.pickup.label : ''}"></div>
      <label for="dropoff-search">Drop-off</label>
      <div class="ac"><input id="dropoff-search" placeholder="${placeholder}" value="${st.dropoff ? st.dropoff.label : ''}"></div>
      <p class="error" role="alert" id="plan-error"></p>
      <div class="actionbar"><button class="primary" id="get-quote" ${st.pickup && st.dropoff ? '' : 'disabled'}>See price</button></div>`,
  );
  for (const r of $$('input[name=setting]', panel)) r.addEventListener('change', () => (st.setting = r.value));
  for (const which of ['pickup', 'dropoff']) {
    const input = $(`#${which}-search`, panel);
    input.combobox = addressCombobox(input, {
      api,
      zones,
      label: which === 'pickup' ? 'Pickup' : 'Drop-off',
      near: () => st.pickup || (map && map.view ? map.unproject(map.view.x + map.view.w / 2, map.view.y + map.view.h / 2) : null),
      onError: (e, text) => {
        const el = $('#plan-error');
        if (el) el.textContent = text || errorText(e);
      },
      onPick: (r) => {
        $('#plan-error').textContent = '';
        setPlace(which, { lat: r.lat, lng: r.lng }, r.label);
        if (map) map.fitPoints([st.pickup, st.dropoff].filter(Boolean), 150);
        document.getElementById(which === 'pickup' && !st.dropoff ? 'dropoff-search' : 'get-quote')?.focus();
      },
    });
  }
  $('#locate').addEventListener('click', (e) => {
    const err = $('#plan-error');
    if (!navigator.geolocation) {
      err.textContent = t('places.location_denied');
      return;
    }
    const button = e.currentTarget;
    button.setAttribute('aria-busy', 'true');
    err.textContent = '';
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        button.removeAttribute('aria-busy');
        pickPoint('pickup', { lat: pos.coords.latitude, lng: pos.coords.longitude });
      },
      () => {
        button.removeAttribute('aria-busy');
        err.textContent = t('places.location_denied');
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 },
    );
  });
  $('#get-quote').addEventListener('click', (e) =>
    busy(e.target, $('#plan-error'), async () => {
      st.quote = await api.post('/v1/rides/quotes', {
        pickup: { lat: st.pickup.lat, lng: st.pickup.lng },
        dropoff: { lat: st.dropoff.lat, lng: st.dropoff.lng },
      });
      st.quoteKey = newIdempotencyKey();
      go('quote');
    }),
  );
}

// ---- quote

function breakdownTable(lines, total, caption) {
  return html`<table class="lines"><caption class="visually-hidden">${caption}</caption>
    <tbody>${lines.map((l) => html`<tr><td>${fmt.lineKind(l.kind)}</td><td>${fmt.money(l.amount)}</td></tr>`)}
    <tr class="total"><td>Total</td><td>${fmt.money(total)}</td></tr></tbody></table>`;
}

let quoteTimer = null;
function quoteScreen() {
  const q = st.quote;
  showMap(true);
  routeLine(api, map, 'trip', st.pickup, st.dropoff);
  map.fitPoints([st.pickup, st.dropoff], 150);
  const surge = q.surge_multiplier > 1.0001;
  render(
    panel,
    html`<h1>Your price</h1>
      <p class="muted">${st.pickup.label} → ${st.dropoff.label}</p>
      <p><span class="big" id="quote-fare">${fmt.money(q.fare)}</span>
        ${surge ? html` <span class="badge warn" id="surge">Surge ×${q.surge_multiplier.toFixed(2)} — busy area</span>` : html` <span class="badge ok">No surge</span>`}</p>
      <p class="muted">${fmt.distance(q.distance_m)} · about ${fmt.duration(q.duration_s)}</p>
      ${breakdownTable(q.breakdown, q.fare, 'Price breakdown')}
      <p class="hint" id="quote-expiry" aria-live="off"></p>
      <p class="error" role="alert" id="quote-error"></p>
      <div class="row actionbar"><button class="secondary" id="change">Change</button>
      <button class="primary" id="request">Request ride</button></div>`,
  );
  const tick = () => {
    const left = (Date.parse(q.expires_at) - Date.now()) / 1000;
    const el = $('#quote-expiry');
    if (!el) return clearInterval(quoteTimer);
    el.textContent = left > 0 ? `Price held for ${fmt.countdown(left)}` : 'This price has expired; requesting will ask for a new one.';
  };
  clearInterval(quoteTimer);
  quoteTimer = setInterval(tick, 1000);
  tick();
  $('#change').addEventListener('click', () => go('plan'));
  $('#request').addEventListener('click', (e) =>
    busy(e.target, $('#quote-error'), async () => {
      askPermission(); // to say, while the app is in the background, that the driver is coming or here
      if (Date.parse(q.expires_at) < Date.now() + 2000) {
        st.quote = await api.post('/v1/rides/quotes', {
          pickup: { lat: st.pickup.lat, lng: st.pickup.lng },
          dropoff: { lat: st.dropoff.lat, lng: st.dropoff.lng },
        });
        st.quoteKey = newIdempotencyKey();
      }
      st.ride = await api.post('/v1/rides', { quote_id: st.quote.quote_id }, { 'idempotency-key': st.quoteKey });
      st.driverPos = null;
      st.eta = null;
      go('ride');
    }),
  );
}

// ---- the live ride

async function refreshRide() {
  if (!st.ride) return;
  try {
    const r = await api.get(`/v1/rides/${st.ride.ride_id}`);
    applyRide(r);
  } catch (e) {
    console.warn('ride refresh failed', e);
  }
}

/** The PIN fields of a ride view, to tell whether they changed. */
function pinKey(r) {
  return r ? `${r.pin}|${r.pin_locked}|${r.pin_failed_attempts}` : '';
}

function applyRide(r) {
  const before = st.ride && st.ride.state;
  const pinBefore = pinKey(st.ride);
  st.ride = r;
  if (r.state !== 'driver_assigned') st.eta = r.state === 'driver_arrived' ? { s: 0, at: Date.now() } : st.eta;
  if (st.screen === 'ride' || st.screen === 'receipt') {
    if (r.state === 'completed' && before !== 'completed') go('receipt');
    else if (st.screen === 'ride') {
      if (before !== r.state) go('ride');
      // Wrong PINs, the lock or a new PIN: redraw in place, without moving focus.
      else if (pinBefore !== pinKey(r)) rideScreen();
      else drawRideMap();
    }
  }
}

function onMessage(m) {
  if (!st.ride || m.ride_id !== st.ride.ride_id) return;
  if (m.type === 'driver_location') {
    st.driverPos = { lat: m.lat, lng: m.lng };
    if (m.eta_s !== null && m.eta_s !== undefined) st.eta = { s: m.eta_s, at: Date.now() };
    if (st.screen === 'ride') drawRideMap();
    return;
  }
  // In the background, a notification says that a driver is coming or is at the door.
  if (m.type === 'driver_assigned') riderAlert('assigned', m.ride_id);
  if (m.type === 'driver_arrived') riderAlert('arrived', m.ride_id);
  if (m.type === 'driver_assigned') {
    st.eta = { s: m.pickup_eta_s, at: Date.now() };
    st.driverDropped = null;
  }
  if (m.type === 'driver_cancelled') {
    // Say so at once: the ride goes back to "finding a driver", and the rider must not think nothing happened.
    st.driverDropped = m.ride_id;
    st.driverPos = null;
  }
  refreshRide();
}

function drawRideMap() {
  const r = st.ride;
  if (!map || !r) return;
  map.setMarker('pickup', { ...r.pickup, kind: 'pickup', label: 'Pickup' });
  map.setMarker('dropoff', { ...r.dropoff, kind: 'dropoff', label: 'Drop-off' });
  if (st.driverPos && ['driver_assigned', 'driver_arrived', 'in_progress'].includes(r.state)) {
    map.setMarker('driver', { ...st.driverPos, kind: 'car', label: 'Your driver' });
  } else map.removeMarker('driver');
  // The route along the streets: the driver's way to the pickup, then the trip to the drop-off.
  if (['driver_assigned', 'driver_arrived'].includes(r.state) && st.driverPos) {
    clearRoute(map, 'trip');
    if (r.state === 'driver_assigned') routeLine(api, map, 'approach', st.driverPos, r.pickup);
    else clearRoute(map, 'approach');
  } else if (['requested', 'in_progress'].includes(r.state)) {
    clearRoute(map, 'approach');
    routeLine(api, map, 'trip', r.state === 'in_progress' && st.driverPos ? st.driverPos : r.pickup, r.dropoff, { refreshM: 250 });
  } else {
    clearRoute(map, 'approach');
    clearRoute(map, 'trip');
  }
}

function etaLeft() {
  if (!st.eta) return st.ride && st.ride.pickup_eta_s;
  return st.eta.s - (Date.now() - st.eta.at) / 1000;
}

const STEPS = [
  ['requested', 'Requested'],
  ['driver_assigned', 'Driver coming'],
  ['driver_arrived', 'Arrived'],
  ['in_progress', 'On trip'],
  ['completed', 'Done'],
];

let rideTimer = null;
function rideScreen() {
  const r = st.ride;
  setNav('home');
  if (r.state === 'completed') return go('receipt');
  showMap(true, true);
  map.pruneMarkers((id) => ['pickup', 'dropoff', 'driver'].includes(id));
  drawRideMap();
  if (!st.fitted || st.fitted !== r.ride_id + r.state) {
    st.fitted = r.ride_id + r.state;
    map.fitPoints([r.pickup, r.state === 'in_progress' ? r.dropoff : r.pickup, st.driverPos].filter(Boolean), 150);
  }
  const idx = STEPS.findIndex(([s]) => s === r.state);
  const ended = ['cancelled', 'no_driver_available'].includes(r.state);
  const steps = html`<ol class="steps" aria-label="Trip progress">${STEPS.map(
    ([s, label], i) => html`<li class="${i < idx ? 'done' : ''}" ${i === idx ? html`aria-current="step"` : ''}>${label}</li>`,
  )}</ol>`;
  let body;
  if (ended) {
    body = html`<p>${r.state === 'cancelled'
      ? html`This ride was cancelled${r.cancel_fee ? html` with a fee of <strong>${fmt.money(r.cancel_fee)}</strong>` : ' at no charge'}.`
      : 'No driver could take this ride. You were not charged.'}</p>
      <button class="primary" id="again">Plan another ride</button>`;
  } else {
    body = html`
      ${r.state === 'requested' && st.driverDropped === r.ride_id
        ? html`<div class="notice warn" role="alert" id="driver-dropped">Your driver cancelled. We are finding you another driver, at no cost to you.</div>`
        : ''}
      ${r.state === 'requested' ? html`<p class="loading">Finding the nearest driver…</p>` : ''}
      ${r.state === 'driver_assigned'
        ? html`<p>Your driver arrives in <strong class="countdown" id="eta" aria-live="off">${fmt.duration(etaLeft())}</strong></p>`
        : ''}
      ${r.state === 'driver_arrived' ? html`<p><strong>Your driver is at the pickup.</strong></p>` : ''}
      ${r.state === 'in_progress' ? html`<p>On the way to the drop-off. Enjoy the ride.</p>` : ''}
      ${r.pin && r.state !== 'in_progress'
        ? html`<div class="card" aria-labelledby="pin-label"><p class="muted" id="pin-label">Tell your driver this PIN to start the trip</p>
          <p class="pin" id="pin" aria-labelledby="pin-label" data-locked="${r.pin_locked ? 'true' : 'false'}">${r.pin}</p>
          <div id="pin-alert" class="notice ${r.pin_locked ? 'bad' : 'warn'}" role="alert" aria-live="assertive">${pinAlert(r)}</div>
          <p role="status" id="pin-done"></p>
          <p class="error" role="alert" id="pin-error"></p>
          <button class="${r.pin_locked ? 'primary' : 'secondary'}" id="new-pin" style="width:100%" aria-describedby="new-pin-hint">New PIN</button>
          <p class="hint" id="new-pin-hint">Replaces this PIN${r.pin_locked ? ' and unlocks it' : ''}. Only tell it to your driver at the car.</p></div>`
        : ''}
      <dl class="kv"><dt>Quoted fare</dt><dd>${fmt.money(r.fare)}</dd>
        ${r.surge_multiplier > 1.0001 ? html`<dt>Surge</dt><dd>×${r.surge_multiplier.toFixed(2)}</dd>` : ''}
        <dt>Requested</dt><dd>${fmt.shortTime(r.requested_at)}</dd></dl>
      <p class="error" role="alert" id="ride-error"></p>
      ${r.state !== 'in_progress' ? html`<button class="secondary" id="cancel" style="width:100%">Cancel ride</button>` : ''}`;
  }
  render(
    panel,
    html`<h1 id="ride-state" data-state="${r.state}" data-ride="${r.ride_id}">${fmt.rideState(r.state)}</h1>${ended ? '' : steps}${body}`,
  );
  clearInterval(rideTimer);
  rideTimer = setInterval(() => {
    const el = $('#eta');
    if (!el) return;
    el.textContent = fmt.duration(etaLeft());
  }, 1000);
  const again = $('#again');
  if (again)
    again.addEventListener('click', () => {
      st.ride = null;
      map.pruneMarkers(() => false);
      st.pickup = st.dropoff = null;
      st.setting = 'pickup';
      go('plan');
    });
  const cancel = $('#cancel');
  if (cancel) cancel.addEventListener('click', () => cancelRide(cancel));
  const newPin = $('#new-pin');
  if (newPin) newPin.addEventListener('click', () => reissuePin(newPin));
}

/** What the rider is told about wrong PINs entered for their ride: nothing, the tries, or the lock. */
function pinAlert(r) {
  const n = r.pin_failed_attempts || 0;
  const times = `${n} time${n === 1 ? '' : 's'}`;
  if (r.pin_locked)
    return html`<strong>A wrong PIN was entered ${times}, so this PIN is locked and the trip cannot start.</strong>
      If you are at the car with your driver, get a new PIN and tell it to them.`;
  if (n > 0)
    return html`A wrong PIN was entered ${times} for this ride (${r.pin_attempts_left} ${r.pin_attempts_left === 1 ? 'try' : 'tries'} left before it locks). Only tell the PIN to your driver at the car.`;
  return '';
}

async function reissuePin(button) {
  await busy(button, $('#pin-error'), async () => {
    st.ride = await api.post(`/v1/rides/${st.ride.ride_id}/pin`);
    rideScreen();
    $('#pin-done').textContent = 'You have a new PIN. Tell it to your driver.';
    $('#new-pin')?.focus();
  });
}

async function cancelRide(button) {
  await busy(button, $('#ride-error'), async () => {
    // The fee is the server's answer right now, never a guess.
    const fresh = await api.get(`/v1/rides/${st.ride.ride_id}`);
    st.ride = fresh;
    if (!fmt.OPEN_STATES.includes(fresh.state)) return go('ride');
    const fee = fresh.cancel_fee_now;
    const ok = await confirmDialog({
      title: 'Cancel this ride?',
      body: fee
        ? html`<p>Your driver is already on the way: cancelling now costs <strong id="cancel-fee">${fmt.money(fee)}</strong>.</p>`
        : html`<p id="cancel-fee">Cancelling now is free.</p>`,
      confirm: fee ? `Cancel and pay ${fmt.money(fee)}` : 'Cancel ride',
      cancel: 'Keep ride',
      danger: true,
    });
    if (!ok) return;
    st.ride = await api.post(`/v1/rides/${st.ride.ride_id}/cancel`);
    go('ride');
  });
}

// ---- receipt and rating

function receipt() {
  const r = st.ride;
  setNav('history');
  showMap(false);
  const lines = r.final_breakdown || r.breakdown;
  const total = r.final_fare || r.fare;
  render(
    panel,
    html`<h1 id="receipt-title">Receipt</h1>
      <div class="card">
        <p class="big" id="final-fare">${fmt.money(total)}</p>
        <p class="muted">${fmt.dateTime(r.started_at || r.requested_at)} · ${placeLabel(r.pickup)} → ${placeLabel(r.dropoff)}</p>
        ${breakdownTable(lines, total, 'Fare breakdown')}
        <dl class="kv"><dt>Picked up</dt><dd>${fmt.time(r.started_at)}</dd><dt>Dropped off</dt><dd>${fmt.time(r.ended_at)}</dd>
          ${r.surge_multiplier > 1.0001 ? html`<dt>Surge</dt><dd>×${r.surge_multiplier.toFixed(2)}</dd>` : ''}</dl>
      </div>
      <form class="card" id="rate-form">
        <fieldset class="stars"><legend>Rate your driver</legend>
          ${[1, 2, 3, 4, 5].map((n) => html`<label><input type="radio" name="stars" value="${n}" ${n === 5 ? 'checked' : ''} aria-label="${n} star${n > 1 ? 's' : ''}"><span aria-hidden="true">★</span></label>`)}
        </fieldset>
        <label for="rate-comment">Comment (optional)</label>
        <textarea id="rate-comment" name="comment" maxlength="500"></textarea>
        <p class="error" role="alert" id="rate-error"></p>
        <p role="status" id="rate-done"></p>
        <button class="primary" id="rate-submit">Send rating</button>
      </form>
      <button class="secondary" id="done" style="width:100%">Done</button>`,
  );
  const form = $('#rate-form');
  const paint = () => {
    const v = Number(new FormData(form).get('stars'));
    $$('.stars label', form).forEach((l, i) => l.classList.toggle('on', i < v));
  };
  form.addEventListener('change', paint);
  paint();
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const f = new FormData(form);
    busy($('#rate-submit'), $('#rate-error'), async () => {
      await api.post(`/v1/rides/${r.ride_id}/rating`, { stars: Number(f.get('stars')), comment: String(f.get('comment') || '') });
      $('#rate-done').textContent = 'Thanks for your rating!';
      $('#rate-submit').hidden = true;
    });
  });
  $('#done').addEventListener('click', () => {
    st.ride = null;
    st.pickup = st.dropoff = null;
    st.setting = 'pickup';
    if (map) map.pruneMarkers(() => false);
    go('home');
  });
}

// ---- history

async function history() {
  setNav('history');
  showMap(false);
  render(panel, html`<h1>Your rides</h1><p class="loading">Loading rides…</p>`);
  try {
    const { rides } = await api.get('/v1/rides');
    if (st.screen !== 'history') return;
    render(
      panel,
      html`<h1>Your rides</h1>
        ${rides.length === 0 ? html`<p class="muted">No rides yet.</p>` : ''}
        <ul class="history">${rides.map(
          (r) => html`<li><button data-ride="${r.ride_id}">
            <span><strong>${placeLabel(r.pickup)} → ${placeLabel(r.dropoff)}</strong><br>
            <span class="muted">${fmt.dateTime(r.requested_at)}</span></span>
            <span><strong>${fmt.money(r.final_fare || r.cancel_fee || (r.state === 'completed' ? r.fare : null) || { amount: 0, currency: r.fare.currency })}</strong><br>
            <span class="badge">${fmt.rideState(r.state)}</span></span></button></li>`,
        )}</ul>`,
    );
    for (const b of $$('[data-ride]', panel))
      b.addEventListener('click', () => {
        st.ride = rides.find((r) => r.ride_id === b.dataset.ride);
        go(st.ride.state === 'completed' ? 'receipt' : 'ride');
      });
  } catch (e) {
    render(panel, html`<h1>Your rides</h1><p class="error" role="alert">${errorText(e)}</p>`);
  }
}

// A safety net under the WebSocket, like the demo's riders: re-read an open ride every 10 s, so that a
// stream that silently stops delivering cannot leave the screen stale.
setInterval(() => {
  if (st.ride && fmt.OPEN_STATES.includes(st.ride.state) && document.visibilityState === 'visible') refreshRide();
}, 10000);

if (api.session) start();
else showAuth();
