// The rider app: sign in, choose pickup and drop-off on the map or by zone name, get an itemised quote,
// request, follow the driver live, show the PIN (with wrong tries, the lock, and a new PIN on demand), see
// the receipt, rate, and browse past rides.
import { Api, errorText, newIdempotencyKey } from '/shared/api.js';
import { EventStream, bindConnectionBanner } from '/shared/events.js';
import { CityMap, loadZones, placeName } from '/shared/map.js';
import { routeLine, clearRoute } from '/shared/route.js';
import { addressCombobox, hasPlaceSearch, reversePlace, reverseErrorText } from '/shared/places.js';
import * as fmt from '/shared/format.js';
import { html, render, $, $$, busy, authScreen, confirmDialog, focusHeading } from '/shared/ui.js';
import { riderAlert, askPermission } from '/shared/alerts.js';
import { Chat, driverCardHtml, supplyHtml, noDriverReasonText } from '/shared/contact.js';
import { t, addMessages } from '/shared/i18n.js';
import moneyMessages from '/shared/messages/money.js';
import riderMessages from '/shared/messages/rider.js';
import { Food } from './food.js';
import { Services } from './services.js';

addMessages(moneyMessages, riderMessages);

// The static page's texts (kept in English in index.html): translated here, once.
document.title = t('rider.page_title');
for (const el of $$('[data-i18n]')) el.textContent = t(el.dataset.i18n);
for (const el of $$('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));

/** A message with markup in its placeholders: `slots` maps a placeholder's name to an `html` fragment;
 *  the rest of the text is escaped. */
function tHtml(key, params, slots) {
  return t(key, params)
    .split(/\{(\w+)\}/)
    .map((part, i) => (i % 2 ? (slots[part] ?? `{${part}}`) : part));
}

const api = new Api('rider');
const chat = new Chat(api, 'rider');
const panel = $('#panel');
const mapEl = $('#map');
let map = null;
let zones = [];
let stream = null;

// The Food tab (food.js): its own screens on this page's panel, map and event stream.
const food = new Food({
  api,
  panel,
  showMap: (on, tall) => showMap(on, tall),
  map: () => map,
  zones: () => zones,
  setNav: (current) => setNav(current),
  setScreen: (s) => (st.screen = s),
  openRide: () => go(st.ride && fmt.OPEN_STATES.includes(st.ride.state) ? 'ride' : 'plan'),
  // Food is paid by card or wallet (never cash): the same methods and choice as rides.
  payMethods: async () => {
    if (!st.methods) await loadMethods();
    // An empty wallet is no way to pay: it is offered once it has money.
    const wallet = st.methods.wallet.available.amount > 0;
    return st.methods.methods.filter((m) => m.kind !== 'cash' && (m.kind !== 'wallet' || wallet));
  },
  payChoice: () => st.payMethod,
  choosePay: (id) => choosePayMethod(id),
  methodLabel: (m) => methodLabel(m),
  managePayment: () => {
    st.paymentBack = 'food';
    go('payment');
  },
});

// The Services tab (services.js): house calls, on the same panel and map. Its switch has three tabs, so it
// draws the one both tabs' screens show.
const services = new Services({
  api,
  panel,
  showMap: (on, tall) => showMap(on, tall),
  map: () => map,
  zones: () => zones,
  setNav: (current) => setNav(current),
  setScreen: (s) => (st.screen = s),
  openRide: () => go(st.ride && fmt.OPEN_STATES.includes(st.ride.state) ? 'ride' : 'plan'),
  openFood: () => food.open(),
  // House calls are paid like food: by card or wallet, with the same choice.
  payMethods: () => food.ctx.payMethods(),
  payChoice: () => st.payMethod,
  choosePay: (id) => choosePayMethod(id),
  methodLabel: (m) => methodLabel(m),
  managePayment: () => {
    st.paymentBack = 'services';
    go('payment');
  },
});
food.tabsHtml = (current) => services.tabsHtml(current);

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
  methods: null, // {methods, wallet, default_method_id} from /v1/me/payment-methods
  payMethod: localStorage.getItem('doorstep.rider.pay') || 'cash',
  tipKey: null,
};

async function loadMethods() {
  st.methods = await api.get('/v1/me/payment-methods');
  if (!st.methods.methods.some((m) => m.id === st.payMethod)) st.payMethod = st.methods.default_method_id;
}

function methodLabel(m) {
  if (m.kind === 'cash') return t('money.cash');
  if (m.kind === 'wallet') return st.methods ? t('money.wallet', { balance: fmt.money(st.methods.wallet.available) }) : t('money.walletPlain');
  return t('money.card', { last4: m.last4 || '' });
}

function choosePayMethod(id) {
  st.payMethod = id;
  localStorage.setItem('doorstep.rider.pay', id);
}

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
      label: t('rider.map_label'),
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
  const screens = { home, plan, quote: quoteScreen, ride: rideScreen, history, receipt, payment: paymentScreen, food: () => food.open(), services: () => services.open() };
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
    title: t('rider.auth_title'),
    signupRole: 'rider',
    expectRole: 'rider',
    onDone: () => start(),
  });
}

async function start() {
  setNav('home');
  render(panel, html`<p class="loading">${t('rider.loading_account')}</p>`);
  try {
    await api.get('/v1/me');
    food.reset();
    services.reset();
    stream = new EventStream(() => api.token, {
      onMessage,
      onResume: () => {
        refreshRide();
        food.refreshOrder();
      },
    });
    bindConnectionBanner($('#conn'), stream);
    zones = await loadZones().catch(() => []);
    st.search = await hasPlaceSearch(api);
    const { rides } = await api.get('/v1/rides');
    const open = rides.find((r) => fmt.OPEN_STATES.includes(r.state));
    if (open) {
      st.ride = open;
      go('ride');
      refreshRide(); // the list has no driver card
    } else if (!(await food.resume())) go('home');
  } catch (e) {
    if (e.status === 401) return;
    render(
      panel,
      html`<div class="card"><h1>${t('rider.error_title')}</h1><p class="error" role="alert">${errorText(e)}</p>
        <button class="primary" id="retry">${t('rider.retry')}</button></div>`,
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
    html`<h1>${name ? t('rider.hi_name', { name }) : t('rider.hi')}</h1>
      <p class="muted">${t('rider.home_question')}</p>
      <div class="services" role="list">
        <div role="listitem"><button class="service available" id="svc-ride">
          <strong>${t('rider.svc_ride')}</strong><span>${t('rider.svc_ride_desc')}</span></button></div>
        <div role="listitem"><button class="service available" id="svc-food">
          <strong>${t('rider.svc_food')}</strong><span>${t('food.svc_desc')}</span></button></div>
        <div role="listitem"><button class="service available" id="svc-home">
          <strong>${t('rider.svc_home')}</strong><span>${t('services.svc_desc')}</span></button></div>
      </div>
      <p><button class="link" id="home-payment">${t('money.managePayment')}</button></p>`,
  );
  $('#svc-ride').addEventListener('click', () => go('plan'));
  $('#svc-food').addEventListener('click', () => go('food'));
  $('#svc-home').addEventListener('click', () => go('services'));
  $('#home-payment').addEventListener('click', () => {
    st.paymentBack = 'home';
    go('payment');
  });
}

// ---- planning: pickup and drop-off

function placeLabel(p) {
  return placeName(zones, p);
}

function setPlace(which, p, label) {
  st[which] = { lat: p.lat, lng: p.lng, label: label || t('places.near', { name: placeLabel(p) }) };
  st.quote = null;
  if (map) {
    map.setMarker(which, { ...p, kind: which, label: t(which === 'pickup' ? 'rider.marker_pickup' : 'rider.marker_dropoff', { label: st[which].label }) });
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
    html`${food.tabsHtml('ride')}<h1>${t('rider.plan_title')}</h1>
      <fieldset class="seg" aria-describedby="tap-hint">
        <legend class="visually-hidden">${t('rider.tap_sets')}</legend>
        <label><input type="radio" name="setting" value="pickup" ${st.setting === 'pickup' ? 'checked' : ''}><span>${t('rider.set_pickup')}</span></label>
        <label><input type="radio" name="setting" value="dropoff" ${st.setting === 'dropoff' ? 'checked' : ''}><span>${t('rider.set_dropoff')}</span></label>
      </fieldset>
      <p class="hint" id="tap-hint">${st.search ? t('places.tap_hint') : t('places.tap_hint_zones')}</p>
      <div class="field-row"><label for="pickup-search">${t('rider.pickup')}</label>
        <button type="button" class="link" id="locate">${t('places.use_my_location')}</button></div>
      <div class="ac"><input id="pickup-search" placeholder="${placeholder}" value="${st.pickup ? st.pickup.label : ''}"></div>
      <label for="dropoff-search">${t('rider.dropoff')}</label>
      <div class="ac"><input id="dropoff-search" placeholder="${placeholder}" value="${st.dropoff ? st.dropoff.label : ''}"></div>
      <p class="error" role="alert" id="plan-error"></p>
      <div class="actionbar"><button class="primary" id="get-quote" ${st.pickup && st.dropoff ? '' : 'disabled'}>${t('rider.see_price')}</button></div>`,
  );
  for (const r of $$('input[name=setting]', panel)) r.addEventListener('change', () => (st.setting = r.value));
  for (const which of ['pickup', 'dropoff']) {
    const input = $(`#${which}-search`, panel);
    input.combobox = addressCombobox(input, {
      api,
      zones,
      label: t(which === 'pickup' ? 'rider.pickup' : 'rider.dropoff'),
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
      await loadMethods().catch(() => {});
      go('quote');
    }),
  );
}

// ---- quote

function breakdownTable(lines, total, caption) {
  return html`<table class="lines"><caption class="visually-hidden">${caption}</caption>
    <tbody>${lines.map((l) => html`<tr><td>${fmt.lineKind(l.kind)}</td><td>${fmt.money(l.amount)}</td></tr>`)}
    <tr class="total"><td>${t('rider.total')}</td><td>${fmt.money(total)}</td></tr></tbody></table>`;
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
    html`<h1>${t('rider.quote_title')}</h1>
      <p class="muted">${st.pickup.label} → ${st.dropoff.label}</p>
      <p><span class="big" id="quote-fare">${fmt.money(q.fare)}</span>
        ${surge ? html` <span class="badge warn" id="surge">${t('rider.surge_badge', { multiplier: q.surge_multiplier.toFixed(2) })}</span>` : html` <span class="badge ok">${t('rider.no_surge')}</span>`}</p>
      <p class="muted">${t('rider.trip_summary', { distance: fmt.distance(q.distance_m), duration: fmt.duration(q.duration_s) })}</p>
      ${q.surge_reason ? html`<p class="muted" id="surge-reason">${t('money.surgeReason', q.surge_reason)}</p>` : ''}
      ${breakdownTable(q.breakdown, q.fare, t('rider.price_breakdown'))}
      ${supplyHtml(q)}
      ${st.methods
        ? html`<div class="row pay"><label for="pay-method">${t('money.payWith')}</label>
          <select id="pay-method">${st.methods.methods.map((m) => html`<option value="${m.id}" ${m.id === st.payMethod ? 'selected' : ''}>${methodLabel(m)}</option>`)}</select>
          <button class="link" id="manage-payment">${t('money.managePayment')}</button></div>`
        : ''}
      <p class="hint" id="quote-expiry" aria-live="off"></p>
      <p class="error" role="alert" id="quote-error"></p>
      <div class="row actionbar"><button class="secondary" id="change">${t('rider.change')}</button>
      <button class="primary" id="request">${t('rider.request')}</button></div>`,
  );
  const tick = () => {
    const left = (Date.parse(q.expires_at) - Date.now()) / 1000;
    const el = $('#quote-expiry');
    if (!el) return clearInterval(quoteTimer);
    el.textContent = left > 0 ? t('rider.price_held', { time: fmt.countdown(left) }) : t('rider.price_expired');
  };
  clearInterval(quoteTimer);
  quoteTimer = setInterval(tick, 1000);
  tick();
  $('#change').addEventListener('click', () => go('plan'));
  $('#pay-method')?.addEventListener('change', (e) => choosePayMethod(e.target.value));
  $('#manage-payment')?.addEventListener('click', () => {
    st.paymentBack = 'quote';
    go('payment');
  });
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
      st.ride = await api.post(
        '/v1/rides',
        { quote_id: st.quote.quote_id, payment_method_id: st.payMethod },
        { 'idempotency-key': st.quoteKey },
      );
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
  const cardBefore = JSON.stringify((st.ride && st.ride.driver) || null);
  st.ride = r;
  if (r.state !== 'driver_assigned') st.eta = r.state === 'driver_arrived' ? { s: 0, at: Date.now() } : st.eta;
  if (st.screen === 'ride' || st.screen === 'receipt') {
    if (r.state === 'completed' && before !== 'completed') go('receipt');
    else if (st.screen === 'ride') {
      if (before !== r.state) go('ride');
      // Wrong PINs, the lock, a new PIN or who is coming: redraw in place, without moving focus.
      else if (pinBefore !== pinKey(r) || cardBefore !== JSON.stringify(r.driver || null)) rideScreen();
      else drawRideMap();
    }
  }
}

function onMessage(m) {
  if (food.onMessage(m)) return;
  if (services.onMessage(m)) return;
  if (!st.ride || m.ride_id !== st.ride.ride_id) return;
  if (m.type === 'message_sent') {
    chat.onEvent(m);
    return;
  }
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
  map.setMarker('pickup', { ...r.pickup, kind: 'pickup', label: t('rider.pickup') });
  map.setMarker('dropoff', { ...r.dropoff, kind: 'dropoff', label: t('rider.dropoff') });
  if (st.driverPos && ['driver_assigned', 'driver_arrived', 'in_progress'].includes(r.state)) {
    map.setMarker('driver', { ...st.driverPos, kind: 'car', label: t('rider.your_driver') });
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

const STEPS = ['requested', 'driver_assigned', 'driver_arrived', 'in_progress', 'completed'];

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
  const idx = STEPS.indexOf(r.state);
  const ended = ['cancelled', 'no_driver_available'].includes(r.state);
  const steps = html`<ol class="steps" aria-label="${t('rider.trip_progress')}">${STEPS.map(
    (s, i) => html`<li class="${i < idx ? 'done' : ''}" ${i === idx ? html`aria-current="step"` : ''}>${t(`rider.step.${s}`)}</li>`,
  )}</ol>`;
  let body;
  if (ended) {
    body = html`<p>${r.state === 'cancelled'
      ? r.cancel_fee
        ? tHtml('rider.cancelled_fee', {}, { fee: html`<strong>${fmt.money(r.cancel_fee)}</strong>` })
        : t('rider.cancelled_free')
      : html`<span id="no-driver-reason" data-reason="${r.no_driver_reason || ''}">${noDriverReasonText(r.no_driver_reason)}</span>`}</p>
      <button class="primary" id="again">${t('rider.plan_another')}</button>`;
  } else {
    body = html`
      ${r.state === 'requested' && st.driverDropped === r.ride_id
        ? html`<div class="notice warn" role="alert" id="driver-dropped">${t('rider.driver_dropped')}</div>`
        : ''}
      ${r.state === 'requested' ? html`<p class="loading">${t('rider.finding')}</p>` : ''}
      ${r.state === 'driver_assigned'
        ? html`<p>${tHtml('rider.arrives_in', {}, { eta: html`<strong class="countdown" id="eta" aria-live="off">${fmt.duration(etaLeft())}</strong>` })}</p>`
        : ''}
      ${r.state === 'driver_arrived' ? html`<p><strong>${t('rider.at_pickup')}</strong></p>` : ''}
      ${r.state === 'in_progress' ? html`<p>${t('rider.on_the_way')}</p>` : ''}
      ${driverCardHtml(r.driver)}
      ${chat.html(r)}
      ${r.pin && r.state !== 'in_progress'
        ? html`<div class="card" aria-labelledby="pin-label"><p class="muted" id="pin-label">${t('rider.pin_label')}</p>
          <p class="pin" id="pin" aria-labelledby="pin-label" data-locked="${r.pin_locked ? 'true' : 'false'}">${r.pin}</p>
          <div id="pin-alert" class="notice ${r.pin_locked ? 'bad' : 'warn'}" role="alert" aria-live="assertive">${pinAlert(r)}</div>
          <p role="status" id="pin-done">${st.pinRenewed && st.pinRenewed === r.pin ? t('rider.pin_renewed') : ''}</p>
          <p class="error" role="alert" id="pin-error"></p>
          <button class="${r.pin_locked ? 'primary' : 'secondary'}" id="new-pin" style="width:100%" aria-describedby="new-pin-hint">${t('rider.new_pin')}</button>
          <p class="hint" id="new-pin-hint">${t(r.pin_locked ? 'rider.new_pin_hint_locked' : 'rider.new_pin_hint')}</p></div>`
        : ''}
      <dl class="kv"><dt>${t('rider.quoted_fare')}</dt><dd>${fmt.money(r.fare)}</dd>
        ${r.surge_multiplier > 1.0001 ? html`<dt>${t('rider.surge')}</dt><dd>×${r.surge_multiplier.toFixed(2)}</dd>` : ''}
        <dt>${t('rider.requested_at')}</dt><dd>${fmt.shortTime(r.requested_at)}</dd></dl>
      <p class="error" role="alert" id="ride-error"></p>
      ${r.state !== 'in_progress' ? html`<button class="secondary" id="cancel" style="width:100%">${t('rider.cancel_ride')}</button>` : ''}`;
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
  chat.bind(panel);
  const cancel = $('#cancel');
  if (cancel) cancel.addEventListener('click', () => cancelRide(cancel));
  const newPin = $('#new-pin');
  if (newPin) newPin.addEventListener('click', () => reissuePin(newPin));
}

/** What the rider is told about wrong PINs entered for their ride: nothing, the tries, or the lock. */
function pinAlert(r) {
  const n = r.pin_failed_attempts || 0;
  if (r.pin_locked)
    return html`<strong>${t('rider.pin_locked', { count: n })}</strong>
      ${t('rider.pin_locked_help')}`;
  if (n > 0) return t('rider.pin_wrong', { count: n, left: r.pin_attempts_left });
  return '';
}

async function reissuePin(button) {
  await busy(button, $('#pin-error'), async () => {
    st.ride = await api.post(`/v1/rides/${st.ride.ride_id}/pin`);
    rideScreen();
    // Kept in the state so that a redraw (an event, the driver's position) does not wipe the notice.
    st.pinRenewed = st.ride.pin;
    $('#pin-done').textContent = t('rider.pin_renewed');
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
      title: t('rider.cancel_title'),
      body: fee
        ? html`<p>${tHtml('rider.cancel_costs', {}, { fee: html`<strong id="cancel-fee">${fmt.money(fee)}</strong>` })}</p>`
        : html`<p id="cancel-fee">${t('rider.cancel_free')}</p>`,
      confirm: fee ? t('rider.cancel_pay', { fee: fmt.money(fee) }) : t('rider.cancel_ride'),
      cancel: t('rider.keep_ride'),
      danger: true,
    });
    if (!ok) return;
    st.ride = await api.post(`/v1/rides/${st.ride.ride_id}/cancel`);
    go('ride');
  });
}

// ---- receipt and rating

/** A fare difference's measure in its unit: metres for routes, seconds for times. */
function measure(reason, v) {
  return reason.endsWith('_route') ? fmt.distance(v) : fmt.duration(v);
}

function reasonText(r, d) {
  if (d.quoted !== null && d.quoted !== undefined)
    return t(`money.reason.${d.reason}`, { quoted: measure(d.reason, d.quoted), actual: measure(d.reason, d.actual) });
  return t(`money.reason.${d.reason}`, { distance: fmt.distance(r.trip_distance_m) });
}

function paidWithText(p) {
  if (!p) return t('money.cashToDriver');
  if (p.kind === 'cash') return t('money.cashToDriver');
  const name = p.kind === 'wallet' ? t('money.walletPlain') : t('money.card', { last4: p.last4 || '' });
  const amount = p.captured || p.authorised;
  return `${name} · ${fmt.money(amount)} ${t(`money.state.${p.state}`)}`;
}

/** The receipt's money: the quote against the final fare and why they differ, how it was paid, the tip. */
function receiptMoney(r) {
  const reasons = [...(r.fare_differences || [])];
  if (r.early_end) reasons.push({ reason: 'ended_early' });
  const differs = r.final_fare && r.final_fare.amount !== r.fare.amount;
  const p = r.payment;
  return html`<dl class="kv" id="quote-vs-final"><dt>${t('money.quoted')}</dt><dd id="receipt-quoted">${fmt.money(r.fare)}</dd>
      <dt>${t('money.final')}</dt><dd id="receipt-final">${fmt.money(r.final_fare || r.fare)}</dd>
      <dt>${t('money.paidWith')}</dt><dd id="paid-with">${paidWithText(p)}</dd>
      ${p && p.uncollected && p.uncollected.amount > 0 ? html`<dt></dt><dd>${t('money.uncollected', { amount: fmt.money(p.uncollected) })}</dd>` : ''}
      ${p && p.tip ? html`<dt>${t('money.tip')}</dt><dd id="receipt-tip">${fmt.money(p.tip)}</dd>` : ''}</dl>
    ${differs && reasons.length
      ? html`<h2 class="small" id="why-title">${t('money.why')}</h2><ul id="fare-reasons" aria-labelledby="why-title">${reasons.map((d) => html`<li data-reason="${d.reason}">${reasonText(r, d)}</li>`)}</ul>`
      : differs ? '' : html`<p class="muted" id="fare-reasons-none">${t('money.sameAsQuote')}</p>`}`;
}

/** The tip form of a completed ride not tipped yet: 10/15/20 % of the final fare or another amount. */
function tipForm(r) {
  const p = r.payment;
  if (p && p.tip) return html`<p role="status" id="tip-done">${t('money.tipDone', { amount: fmt.money(p.tip) })}</p>`;
  const total = r.final_fare || r.fare;
  const options = [10, 15, 20].map((pct) => ({ pct, amount: { amount: Math.max(1, Math.round((total.amount * pct) / 100)), currency: total.currency } }));
  const cash = !p || p.kind === 'cash';
  const others = cash && st.methods ? st.methods.methods.filter((m) => m.kind !== 'cash') : [];
  return html`<form class="card" id="tip-form">
      <fieldset class="tips"><legend>${t('money.tipTitle')}</legend>
        <p class="hint" id="tip-hint">${t('money.tipHint')}</p>
        ${options.map((o, i) => html`<label><input type="radio" name="tip" value="${o.amount.amount}" ${i === 1 ? 'checked' : ''}><span>${t('money.tipPercent', { pct: o.pct, amount: fmt.money(o.amount) })}</span></label>`)}
        <label><input type="radio" name="tip" value="custom"><span>${t('money.tipCustom')}</span></label>
      </fieldset>
      <label for="tip-custom">${t('money.tipCustomLabel', { currency: total.currency })}</label>
      <input id="tip-custom" name="custom" inputmode="decimal" autocomplete="off">
      ${cash
        ? others.length
          ? html`<label for="tip-method">${t('money.tipWith')}</label>
            <select id="tip-method">${others.map((m) => html`<option value="${m.id}">${methodLabel(m)}</option>`)}</select>`
          : html`<p class="hint">${t('money.tipNeedsMethod')}</p>`
        : ''}
      <p class="error" role="alert" id="tip-error"></p>
      <button class="primary" id="tip-submit">${t('money.tipSend')}</button>
    </form>`;
}

function bindTip(r) {
  const form = $('#tip-form');
  if (!form) return;
  const custom = $('#tip-custom');
  custom.addEventListener('input', () => {
    const c = form.querySelector('input[name=tip][value=custom]');
    if (c) c.checked = true;
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const choice = new FormData(form).get('tip');
    let amount = Number(choice);
    if (choice === 'custom') amount = Math.round(Number(String(custom.value).replace(',', '.')) * 100);
    if (!Number.isInteger(amount) || amount < 1 || amount > 10000) {
      $('#tip-error').textContent = t('money.tipInvalid');
      return;
    }
    const body = { amount };
    const method = $('#tip-method');
    if (method) body.method_id = method.value;
    if (!st.tipKey) st.tipKey = newIdempotencyKey();
    busy($('#tip-submit'), $('#tip-error'), async () => {
      const res = await api.post(`/v1/rides/${r.ride_id}/tip`, body, { 'idempotency-key': st.tipKey });
      st.ride = res.ride;
      st.tipKey = null;
      receipt();
      $('#tip-done')?.focus();
    });
  });
}

function receipt() {
  const r = st.ride;
  setNav('history');
  showMap(false);
  // A ride from a list has no payment yet: read it whole once.
  if (!r.payment && !r.paymentRead) {
    r.paymentRead = true;
    Promise.all([api.get(`/v1/rides/${r.ride_id}`), st.methods ? null : loadMethods().catch(() => {})])
      .then(([full]) => {
        if (st.screen === 'receipt' && st.ride && st.ride.ride_id === full.ride_id) {
          st.ride = { ...full, paymentRead: true };
          receipt();
        }
      })
      .catch(() => {});
  }
  const lines = r.final_breakdown || r.breakdown;
  const total = r.final_fare || r.fare;
  render(
    panel,
    html`<h1 id="receipt-title">${t('rider.receipt')}</h1>
      <div class="card">
        <p class="big" id="final-fare">${fmt.money(total)}</p>
        <p class="muted">${fmt.dateTime(r.started_at || r.requested_at)} · ${placeLabel(r.pickup)} → ${placeLabel(r.dropoff)}</p>
        ${receiptMoney(r)}
        ${breakdownTable(lines, total, t('rider.fare_breakdown'))}
        <dl class="kv"><dt>${t('rider.picked_up')}</dt><dd>${fmt.time(r.started_at)}</dd><dt>${t('rider.dropped_off')}</dt><dd>${fmt.time(r.ended_at)}</dd>
          ${r.surge_multiplier > 1.0001 ? html`<dt>${t('rider.surge')}</dt><dd>×${r.surge_multiplier.toFixed(2)}</dd>` : ''}</dl>
      </div>
      ${tipForm(r)}
      <form class="card" id="rate-form">
        <fieldset class="stars"><legend>${t('rider.rate_title')}</legend>
          ${[1, 2, 3, 4, 5].map((n) => html`<label><input type="radio" name="stars" value="${n}" ${n === 5 ? 'checked' : ''} aria-label="${t('rider.stars', { n })}"><span aria-hidden="true">★</span></label>`)}
        </fieldset>
        <label for="rate-comment">${t('rider.comment')}</label>
        <textarea id="rate-comment" name="comment" maxlength="500"></textarea>
        <p class="error" role="alert" id="rate-error"></p>
        <p role="status" id="rate-done"></p>
        <button class="primary" id="rate-submit">${t('rider.send_rating')}</button>
      </form>
      <button class="secondary" id="done" style="width:100%">${t('rider.done')}</button>`,
  );
  bindTip(r);
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
      $('#rate-done').textContent = t('rider.rated');
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

// ---- payment methods: the wallet (top-ups through the test provider) and test cards

async function paymentScreen() {
  setNav(null);
  showMap(false);
  render(panel, html`<h1>${t('money.paymentTitle')}</h1><p class="loading">…</p>`);
  try {
    await loadMethods();
  } catch (e) {
    render(panel, html`<h1>${t('money.paymentTitle')}</h1><p class="error" role="alert">${errorText(e)}</p>`);
    return;
  }
  if (st.screen !== 'payment') return;
  const w = st.methods.wallet;
  render(
    panel,
    html`<h1>${t('money.paymentTitle')}</h1>
      <p class="hint">${t('money.testProvider')}</p>
      <div class="card"><p class="muted">${t('money.walletBalance')}</p><p class="big" id="wallet-balance">${fmt.money(w.balance)}</p>
        ${w.held.amount > 0 ? html`<p class="muted">${t('money.walletHeld', { held: fmt.money(w.held) })}</p>` : ''}
        <form id="topup-form"><label for="topup-amount">${t('money.topUpAmount')}</label>
          <select id="topup-amount">${[1000, 2000, 5000].map((a) => html`<option value="${a}">${fmt.money({ amount: a, currency: w.balance.currency })}</option>`)}</select>
          <p class="error" role="alert" id="topup-error"></p><p role="status" id="topup-done"></p>
          <button class="primary" id="topup-submit">${t('money.topUp')}</button></form></div>
      <form class="card" id="card-form"><h2 class="small">${t('money.addCard')}</h2>
        <label for="card-number">${t('money.cardNumber')}</label>
        <input id="card-number" inputmode="numeric" autocomplete="off" aria-describedby="card-hint">
        <p class="hint" id="card-hint">${t('money.cardHint')}</p>
        <p class="error" role="alert" id="card-error"></p><p role="status" id="card-done"></p>
        <button class="secondary" id="card-submit">${t('money.addCardButton')}</button></form>
      <h2 class="small">${t('money.methodsTitle')}</h2>
      <fieldset class="seg methods"><legend class="visually-hidden">${t('money.payWith')}</legend>
        ${st.methods.methods.map((m) => html`<label><input type="radio" name="method" value="${m.id}" ${m.id === st.payMethod ? 'checked' : ''}><span>${methodLabel(m)}</span></label>`)}
      </fieldset>
      <button class="secondary" id="payment-back" style="width:100%">${t('money.back')}</button>`,
  );
  for (const radio of $$('input[name=method]', panel)) radio.addEventListener('change', () => choosePayMethod(radio.value));
  $('#topup-form').addEventListener('submit', (e) => {
    e.preventDefault();
    busy($('#topup-submit'), $('#topup-error'), async () => {
      const wallet = await api.post('/v1/me/wallet/top-ups', { amount: Number($('#topup-amount').value) }, { 'idempotency-key': newIdempotencyKey() });
      choosePayMethod('wallet');
      await paymentScreen();
      $('#topup-done').textContent = t('money.topUpDone', { balance: fmt.money(wallet.balance) });
    });
  });
  $('#card-form').addEventListener('submit', (e) => {
    e.preventDefault();
    busy($('#card-submit'), $('#card-error'), async () => {
      const card = await api.post('/v1/me/payment-methods', { kind: 'test_card', number: $('#card-number').value });
      choosePayMethod(card.id);
      await paymentScreen();
      $('#card-done').textContent = t('money.cardAdded', { last4: card.last4 });
    });
  });
  $('#payment-back').addEventListener('click', () => {
    if (st.paymentBack === 'food') return food.go('checkout');
    if (st.paymentBack === 'services') return services.go(services.hold ? 'confirm' : 'book');
    go(st.paymentBack === 'quote' && st.quote ? 'quote' : 'home');
  });
}

// ---- history

async function history() {
  setNav('history');
  showMap(false);
  render(panel, html`<h1>${t('rider.history_title')}</h1><p class="loading">${t('rider.loading_rides')}</p>`);
  try {
    const { rides } = await api.get('/v1/rides');
    if (st.screen !== 'history') return;
    render(
      panel,
      html`<h1>${t('rider.history_title')}</h1>
        ${rides.length === 0 ? html`<p class="muted">${t('rider.no_rides')}</p>` : ''}
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
    render(panel, html`<h1>${t('rider.history_title')}</h1><p class="error" role="alert">${errorText(e)}</p>`);
  }
}

// A safety net under the WebSocket, like the demo's riders: re-read an open ride every 10 s, so that a
// stream that silently stops delivering cannot leave the screen stale.
setInterval(() => {
  if (st.ride && fmt.OPEN_STATES.includes(st.ride.state) && document.visibilityState === 'visible') refreshRide();
}, 10000);

if (api.session) start();
else showAuth();
