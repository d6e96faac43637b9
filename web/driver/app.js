// The driver app: go online, share the car's position (the browser's Geolocation API when allowed, or a
// simulated drive toward the pickup and the drop-off), answer offers before they expire, drive the ride
// (arrive, PIN with the tries left or the lock, start, complete), rate the rider and read today's earnings.
// Food deliveries (the delivery offer and the courier's stops) are in courier.js.
import { Api, errorText } from '/shared/api.js';
import { EventStream, bindConnectionBanner } from '/shared/events.js';
import { CityMap, loadZones, placeName, metres } from '/shared/map.js';
import { routeLine, clearRoute, navigateUrl, fetchRoute } from '/shared/route.js';
import * as fmt from '/shared/format.js';
import { html, raw, esc, render, $, $$, busy, authScreen, confirmDialog, focusHeading } from '/shared/ui.js';
import { offerAlert, askPermission, unlockSound, keepAwake, permissionHint } from '/shared/alerts.js';
import { Chat, vehicleFormHtml, bindVehicleForm, vehicleSummary } from '/shared/contact.js';
import { t, addMessages } from '/shared/i18n.js';
import moneyMessages from '/shared/messages/money.js';
import consoleMessages from '/shared/messages/console.js';
import driverMessages from '/shared/messages/driver.js';
import { Courier } from './courier.js';

addMessages(moneyMessages, consoleMessages, driverMessages);

// The static page (index.html) in the chosen language: its English stays in the HTML for the first paint.
document.title = t('driver.page_title');
for (const el of $$('[data-i18n]')) el.textContent = t(el.dataset.i18n);
for (const el of $$('[data-i18n-aria-label]')) el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));

/** A message whose `{name}` placeholders are filled with markup (`parts`): the text itself is escaped. */
function tHtml(key, parts) {
  return raw(esc(t(key)).replace(/\{(\w+)\}/g, (whole, name) => (name in parts ? html`${parts[name]}`.s : whole)));
}

const api = new Api('driver');
const chat = new Chat(api, 'driver');
const panel = $('#panel');
const mapEl = $('#map');
let map = null;
let zones = [];
let stream = null;
let timersStarted = false;
const SEND_EVERY_MS = 2000;
const SIM_SPEED_MPS = 11; // about 40 km/h through Manhattan
// The server refuses positions that imply more than 150 km/h (`--max-speed-kmh`): 3× (119 km/h) is the
// fastest simulated drive it believes.
const SIM_SPEEDS = [1, 2, 3];

const saved = JSON.parse(localStorage.getItem('doorstep.driver.state') || '{}');
const st = {
  screen: 'loading',
  online: false,
  source: 'sim', // 'sim' | 'gps'
  simulate: saved.simulate ?? true,
  simSpeed: SIM_SPEEDS.includes(saved.simSpeed) ? saved.simSpeed : 1,
  pos: saved.pos || null,
  offer: null,
  ride: null,
  rated: new Set(),
  // The dispatcher's latest suggestion of where riders are expected: { lat, lng, zone, at }.
  suggestion: null,
  vehicle: undefined, // the registered vehicle, null when none, undefined until read
  editVehicle: false,
  // Approval and documents (GET /v1/drivers/me/onboarding), and why going online was refused.
  onboarding: null,
  onlineError: '',
};

// The courier's side: delivery offers and the orders in hand (courier.js).
const courier = new Courier({
  api,
  pos: () => st.pos,
  reportPositionNow: () => reportPositionNow(),
  redraw: (focus) => draw(focus),
  onScreen: () => st.screen === 'drive',
  zoneName: (p) => zoneName(p),
  afterTask: () => refreshOffers(),
});

const DOCUMENT_KINDS = ['licence', 'insurance', 'vehicle_registration'];
const ONLINE_REFUSALS = ['driver_not_approved', 'document_expired', 'account_suspended'];

async function refreshOnboarding() {
  st.onboarding = await api.get('/v1/drivers/me/onboarding').catch(() => st.onboarding);
}

/** Goes online, or explains (in the driver's language) why not. Returns whether it worked. */
async function goOnline() {
  try {
    await api.post('/v1/drivers/me/online');
  } catch (e) {
    if (!ONLINE_REFUSALS.includes(e.code)) throw e;
    st.onlineError = t(`onboarding.error.${e.code}`);
    await refreshOnboarding();
    return false;
  }
  st.online = true;
  st.onlineError = '';
  persist();
  keepAwake(true);
  sendPosition();
  refreshOffers();
  return true;
}

/** The approval state and the documents form, when the driver may not go online yet. */
function onboardingCard() {
  const o = st.onboarding;
  if (!o) return '';
  const expired = o.documents.some((d) => d.expired);
  if (o.may_go_online && o.missing.length === 0) return '';
  const state = o.approval === 'approved'
    ? (expired ? t('onboarding.expired') : t('onboarding.approved'))
    : o.approval === 'rejected'
      ? t('onboarding.rejected', { reason: o.reason || '' })
      : t(`onboarding.${o.approval}`);
  const doc = (kind) => o.documents.find((d) => d.kind === kind);
  return html`<section class="card" id="onboarding" aria-labelledby="onboarding-title" data-approval="${o.approval}">
    <h2 id="onboarding-title">${t('onboarding.title')}</h2>
    <p id="onboarding-state">${state}</p>
    <p id="onboarding-saved" role="status" class="hint"></p>
    <h3>${t('onboarding.documents')}</h3>
    ${DOCUMENT_KINDS.map((kind) => {
      const d = doc(kind);
      return html`<form class="doc-form" data-kind="${kind}" novalidate>
        <h4>${t(`console.doc.${kind}`)} ${d ? (d.expired ? html`<span class="badge bad">${t('onboarding.expired_badge')}</span>` : '') : html`<span class="badge warn">${t('onboarding.missing')}</span>`}</h4>
        <label for="doc-number-${kind}">${t('onboarding.number')}</label>
        <input id="doc-number-${kind}" name="number" maxlength="40" autocomplete="off" value="${d ? d.number : ''}" required>
        <label for="doc-expiry-${kind}">${t('onboarding.expires_on')}</label>
        <input id="doc-expiry-${kind}" name="expires_on" type="date" value="${d ? d.expires_on : ''}" required>
        <p class="error" role="alert" id="doc-error-${kind}"></p>
        <button type="submit" class="secondary" id="doc-save-${kind}">${t('onboarding.save', { kind: t(`console.doc.${kind}`) })}</button>
      </form>`;
    })}
  </section>`;
}

function bindOnboarding() {
  for (const form of $$('.doc-form', panel))
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const kind = form.dataset.kind;
      const f = new FormData(form);
      busy($(`#doc-save-${kind}`, form), $(`#doc-error-${kind}`, form), async () => {
        try {
          st.onboarding = await api.request('PUT', `/v1/drivers/me/documents/${kind}`, {
            number: String(f.get('number') || '').trim(),
            expires_on: String(f.get('expires_on') || ''),
          });
        } catch (e) {
          const known = { invalid_document_number: 'invalid_document_number', invalid_expiry_date: 'invalid_expiry_date', document_expired: 'document_expired_upload', invalid_body: 'invalid_expiry_date' };
          if (known[e.code]) throw new Error(t(`onboarding.error.${known[e.code]}`));
          throw e;
        }
        draw();
        const saved = $(`#doc-save-${kind}`);
        if (saved) saved.focus();
        const status = $('#onboarding-saved');
        if (status) status.textContent = t('onboarding.saved', { kind: t(`console.doc.${kind}`) });
      });
    });
}

function persist() {
  localStorage.setItem('doorstep.driver.state', JSON.stringify({ simulate: st.simulate, simSpeed: st.simSpeed, pos: st.pos, online: st.online }));
}

api.onUnauthorized = () => {
  stop();
  api.saveSession(null);
  showAuth();
};

function stop() {
  if (stream) stream.close();
  stream = null;
  if (gpsWatch !== null) navigator.geolocation.clearWatch(gpsWatch);
  gpsWatch = null;
}

function ensureMap() {
  mapEl.hidden = false;
  if (!map)
    map = new CityMap(mapEl, {
      label: t('driver.map_label'),
      onTap: (p) => {
        if (st.source === 'sim' && !activeRide() && !courier.working()) {
          setPos(p);
          sendPosition();
          draw();
        }
      },
    });
}

function setNav(current) {
  $('#nav').hidden = !api.session;
  for (const b of $$('.navbtn[data-go]')) {
    if (b.dataset.go === current) b.setAttribute('aria-current', 'page');
    else b.removeAttribute('aria-current');
  }
}

$('#nav').addEventListener('click', (e) => {
  const b = e.target.closest('[data-go]');
  if (!b) return;
  st.screen = b.dataset.go;
  draw(true);
});
$('#logout').addEventListener('click', async () => {
  if (st.online) await api.post('/v1/drivers/me/offline').catch(() => {});
  st.online = false;
  keepAwake(false);
  persist();
  stop();
  await api.logout();
  showAuth();
});

function showAuth() {
  st.screen = 'auth';
  setNav(null);
  mapEl.hidden = true;
  authScreen(panel, api, { title: t('driver.auth_title'), signupRole: 'driver', expectRole: 'driver', onDone: () => start() });
}

async function start() {
  setNav('drive');
  render(panel, html`<p class="loading">${t('driver.loading_account')}</p>`);
  try {
    await api.get('/v1/me');
    zones = await loadZones().catch(() => []);
    stream = new EventStream(() => api.token, { onMessage, onResume: resync });
    bindConnectionBanner($('#conn'), stream);
    await chooseSource();
    st.vehicle = await api.get('/v1/drivers/me/vehicle').catch((e) => {
      if (e.status === 404) return null;
      throw e;
    });
    const { rides } = await api.get('/v1/rides');
    const me = api.session.user_id;
    st.ride = rides.find((r) => fmt.OPEN_STATES.includes(r.state) && r.driver_id === me) || null;
    st.offer = null;
    await courier.refreshOrders();
    // A driver with a ride or orders in hand is online; one who was online before a reload goes online again.
    st.online = !!st.ride || courier.working();
    await refreshOnboarding();
    if (!st.online && saved.online) await goOnline();
    keepAwake(st.online);
    st.screen = 'drive';
    draw(true);
    if (!timersStarted) {
      timersStarted = true;
      setInterval(tick, 1000);
      setInterval(sendPosition, SEND_EVERY_MS);
      // A safety net under the WebSocket: re-read offers or the open ride every 5 s.
      setInterval(() => {
        if (!api.token) return;
        if (activeRide()) refreshRide();
        else refreshOffers();
        if (courier.working()) courier.refreshOrders();
      }, 5000);
    }
  } catch (e) {
    if (e.status === 401) return;
    render(panel, html`<div class="card"><h1>${t('driver.error_title')}</h1><p class="error" role="alert">${errorText(e)}</p>
      <button class="primary" id="retry">${t('driver.retry')}</button></div>`);
    $('#retry').addEventListener('click', start);
  }
}

// ---- position: GPS when allowed, else simulated

let gpsWatch = null;
async function chooseSource() {
  let state = 'prompt';
  try {
    if (navigator.permissions) state = (await navigator.permissions.query({ name: 'geolocation' })).state;
  } catch {
    state = 'prompt';
  }
  if (state === 'granted') useGps();
  else st.source = 'sim';
  if (!st.pos) {
    const z = zones.find((zz) => zz.name === 'Midtown Center');
    st.pos = z ? { ...z.centroid } : { lat: 40.754, lng: -73.984 };
  }
}

function useGps() {
  if (!navigator.geolocation) return;
  st.source = 'gps';
  gpsWatch = navigator.geolocation.watchPosition(
    (p) => {
      setPos({ lat: p.coords.latitude, lng: p.coords.longitude });
      drawMap();
    },
    () => {
      // Refused or unavailable: fall back to the simulated car.
      st.source = 'sim';
      if (gpsWatch !== null) navigator.geolocation.clearWatch(gpsWatch);
      gpsWatch = null;
      draw();
    },
    { enableHighAccuracy: true, maximumAge: 2000, timeout: 15000 },
  );
}

function setPos(p) {
  st.pos = { lat: p.lat, lng: p.lng };
  persist();
}

function activeRide() {
  return st.ride && fmt.OPEN_STATES.includes(st.ride.state) ? st.ride : null;
}

function simTarget() {
  const r = activeRide();
  if (!r) return courier.target();
  if (r.state === 'driver_assigned') return r.pickup;
  if (r.state === 'in_progress') return r.dropoff;
  return null;
}

// The simulated car follows the route along the streets to its target when the server gives one (else
// it drives straight): `simPath` is the target and the waypoints still ahead.
let simPath = null;

function simStep(target, step) {
  const key = `${target.lat},${target.lng}`;
  if (!simPath || simPath.key !== key) {
    simPath = { key, points: [] };
    const mine = simPath;
    fetchRoute(api, st.pos, target).then((r) => {
      if (r && simPath === mine) mine.points = r.points.slice(1);
    });
  }
  let left = step;
  while (left > 0) {
    const next = simPath.points[0] || target;
    const d = metres(st.pos, next);
    if (d <= left) {
      setPos(next);
      left -= d;
      if (!simPath.points.length) return;
      simPath.points.shift();
    } else {
      setPos({ lat: st.pos.lat + ((next.lat - st.pos.lat) * left) / d, lng: st.pos.lng + ((next.lng - st.pos.lng) * left) / d });
      return;
    }
  }
}

function tick() {
  // Simulated driving toward the current target.
  if (st.source === 'sim' && st.simulate && st.pos) {
    const t = simTarget();
    if (t) {
      simStep(t, SIM_SPEED_MPS * st.simSpeed);
      drawMap();
      const el = $('#to-target');
      if (el) el.textContent = fmt.distance(metres(st.pos, t));
    }
  }
  courier.tick();
  // Offer countdown.
  if (st.offer) {
    const left = (Date.parse(st.offer.expires_at) - Date.now()) / 1000;
    const el = $('#offer-countdown');
    if (left <= 0) {
      st.offer = null;
      if (st.screen === 'drive') draw();
      refreshOffers();
    } else if (el) el.textContent = fmt.countdown(left);
  }
}

// Arriving and completing are judged by the last position the server accepted: report the car's position
// and wait for the answer before asking.
async function reportPositionNow() {
  if (!st.pos) return;
  const point = { lat: st.pos.lat, lng: st.pos.lng, at: new Date().toISOString() };
  await api.post('/v1/drivers/me/locations', [point]).catch(() => {});
}

function sendPosition() {
  if (!st.online || !st.pos) return;
  const point = { lat: st.pos.lat, lng: st.pos.lng, at: new Date().toISOString() };
  if (!(stream && stream.send({ type: 'locations', points: [point] }))) {
    api.post('/v1/drivers/me/locations', [point]).catch(() => {});
  }
}

// ---- live events

// A suggestion holds for a few minutes (the dispatcher repositions idle drivers every minute).
const SUGGESTION_MS = 5 * 60 * 1000;

function liveSuggestion() {
  const g = st.suggestion;
  return g && st.online && !activeRide() && !st.offer && Date.now() - Date.parse(g.at) < SUGGESTION_MS ? g : null;
}

function onMessage(m) {
  const me = api.session && api.session.user_id;
  if (m.type === 'message_sent') {
    chat.onEvent(m);
    return;
  }
  if (m.type === 'reposition_suggested') {
    st.suggestion = { lat: m.lat, lng: m.lng, zone: m.zone, at: m.at };
    draw();
    return;
  }
  if (typeof m.type === 'string' && m.type.startsWith('order_')) {
    courier.onEvent(m, me);
    return;
  }
  if (m.type === 'offered' && m.driver === me) {
    refreshOffers();
    return;
  }
  // An operator took the ride from this driver (reassigned it, or put it back into dispatch).
  if (st.ride && m.ride_id === st.ride.ride_id && m.type === 'driver_cancelled' && m.driver === me) {
    st.ride = null;
    draw(true);
    refreshOffers();
  } else if (st.ride && m.ride_id === st.ride.ride_id) refreshRide();
  else if (m.type === 'driver_assigned' && m.driver === me) {
    st.ride = { ride_id: m.ride_id };
    refreshRide();
  }
  if (st.offer && m.ride_id === st.offer.ride_id && m.type !== 'offered') refreshOffers();
}

async function resync() {
  await Promise.all([refreshOffers(), refreshRide(), courier.refreshOrders()]);
}

async function refreshOffers() {
  if (!st.online || activeRide()) return;
  courier.refreshOffers();
  try {
    const { offers } = await api.get('/v1/offers');
    const live = offers.filter((o) => Date.parse(o.expires_at) > Date.now());
    const before = st.offer && st.offer.offer_id;
    st.offer = live[0] || null;
    if ((st.offer && st.offer.offer_id) !== before) {
      // A new offer takes over the screen (it expires in seconds).
      if (st.offer) st.screen = 'drive';
      if (st.screen === 'drive') draw(true);
      if (st.offer) alertOffer(st.offer);
    }
  } catch (e) {
    console.warn('offers', e);
  }
}

/** Rings, vibrates and, if the app is in the background, notifies: an offer lasts seconds. */
function alertOffer(o) {
  const take = o.driver_take || o.driver_earnings;
  offerAlert({
    id: o.offer_id,
    pickup: zoneName(o.pickup),
    take: take ? fmt.money(take) : null,
    fare: fmt.money(o.fare),
    secondsLeft: (Date.parse(o.expires_at) - Date.now()) / 1000,
  });
}

async function refreshRide() {
  if (!st.ride) return;
  try {
    const r = await api.get(`/v1/rides/${st.ride.ride_id}`);
    const changed = !st.ride.state || st.ride.state !== r.state;
    // Wrong tries, the lock and a new PIN change the PIN notice but not the screen.
    const pinChanged = !changed && (st.ride.pin_locked !== r.pin_locked || st.ride.pin_failed_attempts !== r.pin_failed_attempts);
    st.ride = r;
    if (changed && st.screen === 'drive') draw(true);
    else if (pinChanged && st.screen === 'drive') {
      const typed = $('#pin') ? $('#pin').value : '';
      draw();
      if ($('#pin')) $('#pin').value = typed;
    }
  } catch (e) {
    // A ride that is no longer this driver's (an operator reassigned it) is gone from the screen.
    if (e.status === 404 && st.screen === 'drive') {
      st.ride = null;
      draw(true);
      return;
    }
    console.warn('ride', e);
  }
}

// ---- screens

function draw(focus = false) {
  if (st.screen === 'earnings') earnings();
  else drive();
  if (focus) focusHeading(panel);
}

function drawMap() {
  if (!map) return;
  const r = st.ride;
  const o = st.offer;
  const keep = new Set(['me']);
  if (st.pos) map.setMarker('me', { ...st.pos, kind: 'me', label: t('driver.marker.me') });
  courier.moved();
  if (!activeRide() && !o && courier.drawMap(map, keep, (to) => st.pos && routeLine(api, map, 'route', st.pos, to))) {
    map.pruneMarkers((id) => keep.has(id));
    return;
  }
  const show = r && r.pickup && fmt.OPEN_STATES.includes(r.state) ? r : o;
  if (show) {
    map.setMarker('pickup', { ...show.pickup, kind: 'pickup', label: t('driver.marker.pickup') });
    map.setMarker('dropoff', { ...show.dropoff, kind: 'dropoff', label: t('driver.marker.dropoff') });
    keep.add('pickup').add('dropoff');
    const target = r && r.state === 'in_progress' ? r.dropoff : show.pickup;
    if (st.pos) routeLine(api, map, 'route', st.pos, target);
  } else {
    const g = liveSuggestion();
    if (g) {
      map.setMarker('suggested', { lat: g.lat, lng: g.lng, kind: 'pickup', label: t('driver.marker.suggested', { zone: g.zone }) });
      keep.add('suggested');
      if (st.pos) routeLine(api, map, 'route', st.pos, g);
      else clearRoute(map, 'route');
    } else clearRoute(map, 'route');
  }
  map.pruneMarkers((id) => keep.has(id));
}

/** The hand-off of the current stop to the phone's maps app: a link the driver follows (nothing is
 *  fetched by the app). */
function navigateLink(to, stop) {
  const name = t(stop === 'pickup' ? 'map.stop_pickup' : 'map.stop_dropoff');
  return html`<a class="navigate" id="navigate" href="${navigateUrl(to, name)}" target="_blank" rel="noopener">${t('map.navigate_to', { stop: name })}</a>`;
}

function zoneName(p) {
  return placeName(zones, p);
}

function drive() {
  setNav('drive');
  ensureMap();
  const r = activeRide() || (st.ride && st.ride.state ? st.ride : null);
  let body;
  if (r && r.state === 'driver_assigned') {
    body = html`<h1 id="ride-state" data-state="${r.state}">${t('driver.to_pickup_title')}</h1>
      <p>${tHtml('driver.pickup_near', { zone: html`<strong>${zoneName(r.pickup)}</strong>`, distance: html`<span id="to-target">${fmt.distance(st.pos ? metres(st.pos, r.pickup) : null)}</span>` })}</p>
      ${navigateLink(r.pickup, 'pickup')}
      <p class="error" role="alert" id="ride-error"></p>
      <button class="primary" id="arrive">${t('driver.arrived')}</button>
      ${chat.html(r)}
      <p><button class="link" id="drop">${t('driver.drop')}</button></p>`;
  } else if (r && r.state === 'driver_arrived') {
    body = html`<h1 id="ride-state" data-state="${r.state}">${t('driver.waiting_rider')}</h1>
      <form id="pin-form" novalidate>
        <label for="pin">${t('driver.pin_label')}</label>
        <p class="hint" id="pin-hint">${t('driver.pin_hint')}</p>
        <input id="pin" name="pin" inputmode="numeric" pattern="[0-9]{4}" maxlength="4" autocomplete="one-time-code" aria-describedby="pin-hint pin-status" ${r.pin_locked ? html`aria-invalid="true"` : ''} required>
        <div id="pin-status" class="notice ${r.pin_locked ? 'bad' : 'warn'}" role="alert" aria-live="assertive" data-locked="${r.pin_locked ? 'true' : 'false'}">${pinStatus(r)}</div>
        <p class="error" role="alert" id="ride-error"></p>
        <button class="primary" id="start">${t('driver.start_trip')}</button>
      </form>
      ${chat.html(r)}
      <p><button class="link" id="drop">${t('driver.drop')}</button></p>`;
  } else if (r && r.state === 'in_progress') {
    body = html`<h1 id="ride-state" data-state="${r.state}">${t('driver.on_trip')}</h1>
      <p>${tHtml('driver.dropoff_near', { zone: html`<strong>${zoneName(r.dropoff)}</strong>`, distance: html`<span id="to-target">${fmt.distance(st.pos ? metres(st.pos, r.dropoff) : null)}</span>` })}</p>
      ${navigateLink(r.dropoff, 'dropoff')}
      <p class="error" role="alert" id="ride-error"></p>
      <button class="primary" id="complete">${t('driver.complete_trip')}</button>
      ${chat.html(r)}`;
  } else if (r && r.state === 'completed') {
    body = html`<h1 id="ride-state" data-state="completed">${t('driver.trip_complete')}</h1>
      <div class="card"><p class="muted">${t('driver.fare_charged')}</p><p class="big" id="trip-fare">${fmt.money(r.final_fare || r.fare)}</p>
      <p class="muted">${zoneName(r.pickup)} → ${zoneName(r.dropoff)}</p>
      ${r.early_end ? html`<p class="muted" id="early-end">${t('driver.early_end', { distance: fmt.distance(r.trip_distance_m) })}</p>` : ''}
      ${r.fare_adjustment === 'capped_at_maximum' ? html`<p class="muted" id="fare-adjustment">${t('driver.capped')}</p>` : ''}
      ${r.fare_adjustment === 'raised_to_minimum' ? html`<p class="muted" id="fare-adjustment">${t('driver.raised')}</p>` : ''}</div>
      ${st.rated.has(r.ride_id)
        ? html`<p role="status">${t('driver.rating_sent')}</p>`
        : html`<form class="card" id="rate-form">
          <fieldset class="stars"><legend>${t('driver.rate_rider')}</legend>
          ${[1, 2, 3, 4, 5].map((n) => html`<label><input type="radio" name="stars" value="${n}" ${n === 5 ? 'checked' : ''} aria-label="${t('driver.stars', { n })}"><span aria-hidden="true">★</span></label>`)}
          </fieldset>
          <label for="rate-comment">${t('driver.comment')}</label>
          <textarea id="rate-comment" name="comment" maxlength="500"></textarea>
          <p class="error" role="alert" id="rate-error"></p>
          <button class="primary" id="rate-submit">${t('driver.send_rating')}</button></form>`}
      <button class="secondary" id="next" style="width:100%">${t('driver.back_to_offers')}</button>`;
  } else if (r && (r.state === 'cancelled' || r.state === 'no_driver_available')) {
    body = html`<h1 id="ride-state" data-state="${r.state}">${t('driver.cancelled_title')}</h1><p>${t('driver.cancelled_body')}</p>
      <button class="primary" id="next">${t('driver.back_to_offers')}</button>`;
  } else if (st.offer) {
    const o = st.offer;
    body = html`<section class="card offer" aria-labelledby="offer-title" data-ride="${o.ride_id}">
      <h1 id="offer-title">${t('driver.offer_title')}</h1>
      <p>${tHtml('driver.answer_within', { countdown: html`<span class="countdown" id="offer-countdown">${fmt.countdown((Date.parse(o.expires_at) - Date.now()) / 1000)}</span>` })}</p>
      <dl class="kv"><dt>${t('driver.pickup')}</dt><dd>${zoneName(o.pickup)}</dd>
        <dt>${t('driver.pickup_distance')}</dt><dd id="offer-distance">${fmt.distance(o.pickup_distance_m)} · ${fmt.duration(o.pickup_eta_s)}</dd>
        <dt>${t('driver.dropoff')}</dt><dd>${zoneName(o.dropoff)}</dd></dl>
      <p class="take" id="offer-take-line"><span class="muted">${t('money.youEarn')}</span> <span id="offer-take">${fmt.money(o.driver_take || o.fare)}</span></p>
      <p class="hint" id="offer-take-detail">${t('money.riderPays')} <span id="offer-fare">${fmt.money(o.fare)}</span>${o.commission ? html` · ${t('money.commission')} −${fmt.money(o.commission)}` : ''} · ${t('money.estimate')}</p>
      <p class="error" role="alert" id="offer-error"></p>
      <div class="row"><button class="secondary" id="decline">${t('driver.decline')}</button><button class="primary" id="accept">${t('driver.accept')}</button></div>
      </section>
      ${courier.offer ? courier.offerHtml(2) : ''}`;
  } else if (courier.offer) {
    body = courier.offerHtml(1);
  } else if (courier.busy()) {
    body = courier.taskHtml();
  } else {
    const needsVehicle = st.vehicle === null || st.editVehicle;
    body = html`<h1>${st.online ? t('driver.online_title') : t('driver.offline_title')}</h1>
      ${needsVehicle
        ? vehicleFormHtml(st.vehicle)
        : st.vehicle
          ? html`<p class="muted" id="vehicle-summary">${vehicleSummary(st.vehicle)}
              <button class="link" id="edit-vehicle">${t('whocoming.edit_vehicle')}</button></p>`
          : ''}
      <div class="toggle card"><span id="online-label">${st.online ? t('driver.waiting_offers') : t('driver.go_online_hint')}</span>
        <button id="online" class="${st.online ? 'go-offline' : 'go-online'}" aria-describedby="online-label">${st.online ? t('driver.go_offline') : t('driver.go_online')}</button></div>
      ${!st.online && permissionHint() ? html`<p class="hint" id="alerts-hint">${permissionHint()}</p>` : ''}
      <p class="error" role="alert" id="online-error">${st.online ? '' : st.onlineError}</p>
      ${st.online ? '' : onboardingCard()}
      ${liveSuggestion()
        ? html`<div class="card" id="suggestion" role="status"><h2>${t('driver.suggestion_title')}</h2>
            <p>${tHtml('driver.suggestion', { zone: html`<strong>${liveSuggestion().zone}</strong>` })}</p></div>`
        : ''}
      <div class="card">
        <h2>${t('driver.location')}</h2>
        <fieldset class="seg"><legend class="visually-hidden">${t('driver.location_source')}</legend>
          <label><input type="radio" name="source" value="gps" ${st.source === 'gps' ? 'checked' : ''}><span>${t('driver.source_gps')}</span></label>
          <label><input type="radio" name="source" value="sim" ${st.source === 'sim' ? 'checked' : ''}><span>${t('driver.source_sim')}</span></label>
        </fieldset>
        ${st.source === 'sim'
          ? html`<p class="hint">${t('driver.sim_hint')}</p>
            <label for="start-zone">${t('driver.place_car')}</label>
            <input id="start-zone" list="zone-names" autocomplete="off" placeholder="${zoneName(st.pos)}">
            <datalist id="zone-names">${zones.map((z) => html`<option value="${z.name}"></option>`)}</datalist>`
          : html`<p class="hint">${t('driver.gps_hint')}</p>`}
      </div>`;
  }
  const simControls = st.source === 'sim'
    ? html`<div class="card toggle"><label for="simulate" style="margin:0">${t('driver.simulate')}</label>
        <input type="checkbox" id="simulate" style="width:auto;transform:scale(1.5)" ${st.simulate ? 'checked' : ''}></div>
        <label for="sim-speed">${t('driver.sim_speed')}</label>
        <select id="sim-speed">${SIM_SPEEDS.map((s) => html`<option value="${s}" ${st.simSpeed === s ? 'selected' : ''}>${t('driver.sim_speed_option', { speed: s })}</option>`)}</select>`
    : '';
  render(panel, html`${body}${(r && fmt.OPEN_STATES.includes(r.state)) || (!st.offer && !courier.offer && courier.working()) ? simControls : ''}`);
  drawMap();
  bindDrive(r);
  courier.bind(panel);
  chat.bind(panel);
  bindVehicleForm(panel, api, (saved) => {
    st.vehicle = saved;
    st.editVehicle = false;
    draw();
    $('#edit-vehicle')?.focus();
  });
  const edit = $('#edit-vehicle');
  if (edit)
    edit.addEventListener('click', () => {
      st.editVehicle = true;
      draw();
      $('#vehicle-make')?.focus();
    });
}

/** What the driver is told about wrong PINs so far: nothing, the tries left, or the lock. */
function pinStatus(r) {
  if (r.pin_locked)
    return html`<strong>${t('driver.pin_locked')}</strong> ${t('driver.pin_locked_help')}`;
  if (r.pin_failed_attempts > 0)
    return t('driver.pin_wrong', { n: r.pin_attempts_left });
  return '';
}

function bindDrive(r) {
  const on = (id, fn) => {
    const el = document.getElementById(id);
    if (el) el.addEventListener('click', fn);
  };
  on('online', (e) =>
    busy(e.target, $('#online-error'), async () => {
      if (st.online) {
        await api.post('/v1/drivers/me/offline');
        st.online = false;
        st.offer = null;
        courier.offer = null;
        persist();
        keepAwake(false);
      } else {
        // This tap is the gesture that lets offers ring, and the moment to ask for notifications.
        unlockSound();
        await goOnline();
      }
      draw();
      const again = $('#online');
      if (again) again.focus();
    }),
  );
  bindOnboarding();
  for (const radio of $$('input[name=source]', panel))
    radio.addEventListener('change', () => {
      if (radio.value === 'gps') useGps();
      else {
        st.source = 'sim';
        if (gpsWatch !== null) navigator.geolocation.clearWatch(gpsWatch);
        gpsWatch = null;
      }
      draw();
    });
  const zoneInput = $('#start-zone');
  if (zoneInput)
    zoneInput.addEventListener('change', () => {
      const q = zoneInput.value.trim().toLowerCase();
      const z = zones.find((zz) => zz.name.toLowerCase() === q) || zones.find((zz) => zz.name.toLowerCase().includes(q));
      if (!z) return;
      setPos(z.centroid);
      sendPosition();
      map.fitPoints([st.pos], 200);
      draw();
    });
  const sim = $('#simulate');
  if (sim) sim.addEventListener('change', () => { st.simulate = sim.checked; persist(); });
  const speed = $('#sim-speed');
  if (speed) speed.addEventListener('change', () => { st.simSpeed = Number(speed.value); persist(); });
  on('accept', (e) =>
    busy(e.target, $('#offer-error'), async () => {
      const o = st.offer;
      try {
        st.ride = await api.post(`/v1/offers/${o.offer_id}/accept`);
      } finally {
        st.offer = null;
      }
      map.fitPoints([st.pos, st.ride.pickup].filter(Boolean), 120);
      draw(true);
    }).then(() => {
      if (!activeRide()) setTimeout(() => draw(), 2500);
    }),
  );
  on('decline', (e) =>
    busy(e.target, $('#offer-error'), async () => {
      await api.post(`/v1/offers/${st.offer.offer_id}/decline`);
      st.offer = null;
      draw(true);
    }),
  );
  on('arrive', (e) =>
    busy(e.target, $('#ride-error'), async () => {
      await reportPositionNow();
      st.ride = await api.post(`/v1/rides/${r.ride_id}/arrive`);
      draw(true);
      $('#pin')?.focus();
    }),
  );
  const pinForm = $('#pin-form');
  if (pinForm)
    pinForm.addEventListener('submit', (e) => {
      e.preventDefault();
      const pin = $('#pin').value.trim();
      if (!/^\d{4}$/.test(pin)) {
        $('#ride-error').textContent = t('driver.pin_digits');
        return;
      }
      busy($('#start'), $('#ride-error'), async () => {
        try {
          st.ride = await api.post(`/v1/rides/${r.ride_id}/start`, { pin });
        } catch (err) {
          if (err.code !== 'wrong_pin' && err.code !== 'pin_locked') throw err;
          // The server counted the try: show the tries left, or the lock, from the ride as it is now.
          st.ride = await api.get(`/v1/rides/${r.ride_id}`).catch(() => ({ ...st.ride, pin_locked: err.code === 'pin_locked' }));
          draw();
          $('#pin').value = '';
          $('#pin').focus();
          return;
        }
        map.fitPoints([st.pos, st.ride.dropoff].filter(Boolean), 120);
        draw(true);
      });
    });
  on('complete', (e) =>
    busy(e.target, $('#ride-error'), async () => {
      await reportPositionNow();
      st.ride = await api.post(`/v1/rides/${r.ride_id}/complete`);
      draw(true);
    }),
  );
  on('drop', async () => {
    const ok = await confirmDialog({
      title: t('driver.drop_confirm_title'),
      body: html`<p>${t('driver.drop_confirm_body')}</p>`,
      confirm: t('driver.drop_confirm'),
      cancel: t('driver.drop_keep'),
      danger: true,
    });
    if (!ok) return;
    await busy(null, $('#ride-error'), async () => {
      await api.post(`/v1/rides/${r.ride_id}/cancel`);
      st.ride = null;
      draw(true);
    });
  });
  on('next', () => {
    st.ride = null;
    draw(true);
    refreshOffers();
  });
  const rate = $('#rate-form');
  if (rate) {
    const paint = () => {
      const v = Number(new FormData(rate).get('stars'));
      $$('.stars label', rate).forEach((l, i) => l.classList.toggle('on', i < v));
    };
    rate.addEventListener('change', paint);
    paint();
    rate.addEventListener('submit', (e) => {
      e.preventDefault();
      const f = new FormData(rate);
      busy($('#rate-submit'), $('#rate-error'), async () => {
        await api.post(`/v1/rides/${r.ride_id}/rating`, { stars: Number(f.get('stars')), comment: String(f.get('comment') || '') });
        st.rated.add(r.ride_id);
        draw();
      });
    });
  }
}

/** Earnings over a period: gross fare, commission, net and tips (and cash collected, if any). */
function earningsList(x, id) {
  return html`<dl class="earn-main" id="${id}">
    <dt>${t('money.gross')}</dt><dd data-k="gross">${fmt.money(x.gross)}</dd>
    <dt>${t('money.commission')}</dt><dd data-k="commission">−${fmt.money(x.commission)}</dd>
    <dt>${t('money.net')}</dt><dd data-k="net">${fmt.money(x.net)}</dd>
    <dt>${t('money.tips')}</dt><dd data-k="tips">${fmt.money(x.tips)}</dd>
    <dt class="net">${t('money.total')}</dt><dd class="net" data-k="total" ${id === 'earnings-today' ? html`id="earnings-total"` : ''}>${fmt.money({ ...x.net, amount: x.net.amount + x.tips.amount })}</dd>
    ${x.cash_collected && x.cash_collected.amount ? html`<dt>${t('money.cashCollected')}</dt><dd data-k="cash">${fmt.money(x.cash_collected)}</dd>` : ''}
  </dl>`;
}

function periodTable(list, caption, label) {
  return html`<table><caption class="visually-hidden">${caption}</caption>
    <thead><tr><th scope="col">${t('money.col.period')}</th><th scope="col" class="num">${t('money.gross')}</th><th scope="col" class="num">${t('money.commission')}</th><th scope="col" class="num">${t('money.tips')}</th><th scope="col" class="num">${t('money.net')}</th></tr></thead>
    <tbody>${list.map((p) => html`<tr><th scope="row">${label(p)}</th><td class="num">${fmt.money(p.gross)}</td><td class="num">${fmt.money(p.commission)}</td><td class="num">${fmt.money(p.tips)}</td><td class="num">${fmt.money(p.net)}</td></tr>`)}</tbody></table>`;
}

async function earnings() {
  setNav('earnings');
  mapEl.hidden = true;
  const title = t('money.earningsTitle');
  render(panel, html`<h1>${title}</h1><p class="loading">…</p>`);
  // This week and last (New York weeks start on Monday; the server groups by day and week).
  const from = new Date(Date.now() - 14 * 24 * 3600 * 1000);
  try {
    const e = await api.get(`/v1/drivers/me/earnings?from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(new Date().toISOString())}`);
    if (st.screen !== 'earnings') return;
    const zero = { amount: 0, currency: e.total.currency };
    const empty = { gross: zero, commission: zero, net: zero, tips: zero, cash_collected: zero, rides: 0 };
    const today = e.days.length ? e.days[e.days.length - 1] : null;
    const todayKey = new Date().toLocaleDateString('en-CA', { timeZone: 'America/New_York' });
    const todays = today && today.start === todayKey ? today : empty;
    const week = e.weeks.length ? e.weeks[e.weeks.length - 1] : empty;
    render(
      panel,
      html`<h1>${title}</h1>
        <div class="card" aria-labelledby="today-title"><h2 id="today-title">${t('money.today')}</h2>
          ${earningsList(todays, 'earnings-today')}
          <p class="muted">${t('money.rides', { n: todays.rides })}</p></div>
        <div class="card" aria-labelledby="week-title"><h2 id="week-title">${t('money.thisWeek')}</h2>
          ${earningsList(week, 'earnings-week')}
          <p class="muted">${t('money.rides', { n: week.rides })}</p></div>
        ${e.days.length === 0
          ? html`<p class="muted">${t('money.noEarnings')}</p>`
          : html`<h2>${t('money.byDay')}</h2>${periodTable([...e.days].reverse(), t('money.byDay'), (p) => p.start)}
            <h2>${t('money.byWeek')}</h2>${periodTable([...e.weeks].reverse(), t('money.byWeek'), (p) => t('money.weekOf', { date: p.start }))}
            <h2>${t('money.statement')}</h2>
            <table><caption class="visually-hidden">${t('money.statement')}</caption>
            <thead><tr><th scope="col">${t('money.col.time')}</th><th scope="col">${t('money.col.ride')}</th><th scope="col">${t('money.col.item')}</th><th scope="col" class="num">${t('money.col.amount')}</th></tr></thead>
            <tbody>${e.lines.map((l) => html`<tr><td>${fmt.dateTime(l.at)}</td><td>…${fmt.shortId(l.ride_id)}</td><td>${t(`money.line.${l.kind}`)}</td><td class="num">${fmt.money(l.amount)}</td></tr>`)}</tbody></table>`}`,
    );
  } catch (err) {
    render(panel, html`<h1>${title}</h1><p class="error" role="alert">${errorText(err)}</p>`);
  }
}

if (api.session) start();
else showAuth();
