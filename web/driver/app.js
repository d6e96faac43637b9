// The driver app: go online, share the car's position (the browser's Geolocation API when allowed, or a
// simulated drive toward the pickup and the drop-off), answer offers before they expire, drive the ride
// (arrive, PIN with the tries left or the lock, start, complete), rate the rider and read today's earnings.
import { Api, errorText } from '/shared/api.js';
import { EventStream, bindConnectionBanner } from '/shared/events.js';
import { CityMap, loadZones, placeName, metres } from '/shared/map.js';
import { routeLine, clearRoute, navigateUrl, fetchRoute } from '/shared/route.js';
import { t } from '/shared/i18n.js';
import * as fmt from '/shared/format.js';
import { html, render, $, $$, busy, authScreen, confirmDialog, focusHeading } from '/shared/ui.js';
import { offerAlert, askPermission, unlockSound, keepAwake, permissionHint } from '/shared/alerts.js';

const api = new Api('driver');
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
};

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
      label: 'Map of Manhattan with your car, the pickup and the drop-off',
      onTap: (p) => {
        if (st.source === 'sim' && !activeRide()) {
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
  authScreen(panel, api, { title: 'Doorstep — drive', signupRole: 'driver', expectRole: 'driver', onDone: () => start() });
}

async function start() {
  setNav('drive');
  render(panel, html`<p class="loading">Loading your account…</p>`);
  try {
    await api.get('/v1/me');
    zones = await loadZones().catch(() => []);
    stream = new EventStream(() => api.token, { onMessage, onResume: resync });
    bindConnectionBanner($('#conn'), stream);
    await chooseSource();
    const { rides } = await api.get('/v1/rides');
    const me = api.session.user_id;
    st.ride = rides.find((r) => fmt.OPEN_STATES.includes(r.state) && r.driver_id === me) || null;
    st.offer = null;
    // A driver with a ride in hand is online; one who was online before a reload goes online again.
    st.online = !!st.ride;
    if (!st.online && saved.online) {
      await api.post('/v1/drivers/me/online');
      st.online = true;
      sendPosition();
      refreshOffers();
    }
    keepAwake(st.online);
    st.screen = 'drive';
    draw(true);
    if (!timersStarted) {
      timersStarted = true;
      setInterval(tick, 1000);
      setInterval(sendPosition, SEND_EVERY_MS);
      // A safety net under the WebSocket: re-read offers or the open ride every 5 s.
      setInterval(() => api.token && (activeRide() ? refreshRide() : refreshOffers()), 5000);
    }
  } catch (e) {
    if (e.status === 401) return;
    render(panel, html`<div class="card"><h1>Something went wrong</h1><p class="error" role="alert">${errorText(e)}</p>
      <button class="primary" id="retry">Try again</button></div>`);
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
  if (!r) return null;
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
  if (m.type === 'reposition_suggested') {
    st.suggestion = { lat: m.lat, lng: m.lng, zone: m.zone, at: m.at };
    draw();
    return;
  }
  if (m.type === 'offered' && m.driver === me) {
    refreshOffers();
    return;
  }
  if (st.ride && m.ride_id === st.ride.ride_id) refreshRide();
  else if (m.type === 'driver_assigned' && m.driver === me) {
    st.ride = { ride_id: m.ride_id };
    refreshRide();
  }
  if (st.offer && m.ride_id === st.offer.ride_id && m.type !== 'offered') refreshOffers();
}

async function resync() {
  await Promise.all([refreshOffers(), refreshRide()]);
}

async function refreshOffers() {
  if (!st.online || activeRide()) return;
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
  if (st.pos) map.setMarker('me', { ...st.pos, kind: 'me', label: 'Your car' });
  const show = r && r.pickup && fmt.OPEN_STATES.includes(r.state) ? r : o;
  if (show) {
    map.setMarker('pickup', { ...show.pickup, kind: 'pickup', label: 'Pickup' });
    map.setMarker('dropoff', { ...show.dropoff, kind: 'dropoff', label: 'Drop-off' });
    keep.add('pickup').add('dropoff');
    const target = r && r.state === 'in_progress' ? r.dropoff : show.pickup;
    if (st.pos) routeLine(api, map, 'route', st.pos, target);
  } else {
    const g = liveSuggestion();
    if (g) {
      map.setMarker('suggested', { lat: g.lat, lng: g.lng, kind: 'pickup', label: `Riders expected: ${g.zone}` });
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
    body = html`<h1 id="ride-state" data-state="${r.state}">Pick up the rider</h1>
      <p>Pickup near <strong>${zoneName(r.pickup)}</strong>, <span id="to-target">${fmt.distance(st.pos ? metres(st.pos, r.pickup) : null)}</span> away.</p>
      ${navigateLink(r.pickup, 'pickup')}
      <p class="error" role="alert" id="ride-error"></p>
      <button class="primary" id="arrive">I've arrived</button>
      <p><button class="link" id="drop">Cancel this ride (it goes back to dispatch)</button></p>`;
  } else if (r && r.state === 'driver_arrived') {
    body = html`<h1 id="ride-state" data-state="${r.state}">Waiting for the rider</h1>
      <form id="pin-form" novalidate>
        <label for="pin">Rider's PIN</label>
        <p class="hint" id="pin-hint">Ask the rider for the 4-digit PIN shown in their app.</p>
        <input id="pin" name="pin" inputmode="numeric" pattern="[0-9]{4}" maxlength="4" autocomplete="one-time-code" aria-describedby="pin-hint pin-status" ${r.pin_locked ? html`aria-invalid="true"` : ''} required>
        <div id="pin-status" class="notice ${r.pin_locked ? 'bad' : 'warn'}" role="alert" aria-live="assertive" data-locked="${r.pin_locked ? 'true' : 'false'}">${pinStatus(r)}</div>
        <p class="error" role="alert" id="ride-error"></p>
        <button class="primary" id="start">Start trip</button>
      </form>
      <p><button class="link" id="drop">Cancel this ride (it goes back to dispatch)</button></p>`;
  } else if (r && r.state === 'in_progress') {
    body = html`<h1 id="ride-state" data-state="${r.state}">On trip</h1>
      <p>Drop-off near <strong>${zoneName(r.dropoff)}</strong>, <span id="to-target">${fmt.distance(st.pos ? metres(st.pos, r.dropoff) : null)}</span> away.</p>
      ${navigateLink(r.dropoff, 'dropoff')}
      <p class="error" role="alert" id="ride-error"></p>
      <button class="primary" id="complete">Complete trip</button>`;
  } else if (r && r.state === 'completed') {
    body = html`<h1 id="ride-state" data-state="completed">Trip complete</h1>
      <div class="card"><p class="muted">Fare charged to the rider</p><p class="big" id="trip-fare">${fmt.money(r.final_fare || r.fare)}</p>
      <p class="muted">${zoneName(r.pickup)} → ${zoneName(r.dropoff)}</p>
      ${r.early_end ? html`<p class="muted" id="early-end">Ended before the drop-off: charged for the ${fmt.distance(r.trip_distance_m)} driven.</p>` : ''}
      ${r.fare_adjustment === 'capped_at_maximum' ? html`<p class="muted" id="fare-adjustment">Capped at the most this trip may cost, a band around the quote.</p>` : ''}
      ${r.fare_adjustment === 'raised_to_minimum' ? html`<p class="muted" id="fare-adjustment">Raised to the least this trip may cost, a band around the quote.</p>` : ''}</div>
      ${st.rated.has(r.ride_id)
        ? html`<p role="status">Thanks — rating sent.</p>`
        : html`<form class="card" id="rate-form">
          <fieldset class="stars"><legend>Rate the rider</legend>
          ${[1, 2, 3, 4, 5].map((n) => html`<label><input type="radio" name="stars" value="${n}" ${n === 5 ? 'checked' : ''} aria-label="${n} star${n > 1 ? 's' : ''}"><span aria-hidden="true">★</span></label>`)}
          </fieldset>
          <label for="rate-comment">Comment (optional)</label>
          <textarea id="rate-comment" name="comment" maxlength="500"></textarea>
          <p class="error" role="alert" id="rate-error"></p>
          <button class="primary" id="rate-submit">Send rating</button></form>`}
      <button class="secondary" id="next" style="width:100%">Back to offers</button>`;
  } else if (r && (r.state === 'cancelled' || r.state === 'no_driver_available')) {
    body = html`<h1 id="ride-state" data-state="${r.state}">Ride cancelled</h1><p>The rider cancelled this ride.</p>
      <button class="primary" id="next">Back to offers</button>`;
  } else if (st.offer) {
    const o = st.offer;
    body = html`<section class="card offer" aria-labelledby="offer-title" data-ride="${o.ride_id}">
      <h1 id="offer-title">New ride offer</h1>
      <p>Answer within <span class="countdown" id="offer-countdown">${fmt.countdown((Date.parse(o.expires_at) - Date.now()) / 1000)}</span></p>
      <dl class="kv"><dt>Pickup</dt><dd>${zoneName(o.pickup)}</dd>
        <dt>Pickup distance</dt><dd id="offer-distance">${fmt.distance(o.pickup_distance_m)} · ${fmt.duration(o.pickup_eta_s)}</dd>
        <dt>Drop-off</dt><dd>${zoneName(o.dropoff)}</dd>
        <dt>Fare</dt><dd id="offer-fare">${fmt.money(o.fare)}</dd></dl>
      <p class="error" role="alert" id="offer-error"></p>
      <div class="row"><button class="secondary" id="decline">Decline</button><button class="primary" id="accept">Accept</button></div>
      </section>`;
  } else {
    body = html`<h1>${st.online ? 'You are online' : 'You are offline'}</h1>
      <div class="toggle card"><span id="online-label">${st.online ? 'Waiting for ride offers…' : 'Go online to receive ride offers.'}</span>
        <button id="online" class="${st.online ? 'go-offline' : 'go-online'}" aria-describedby="online-label">${st.online ? 'Go offline' : 'Go online'}</button></div>
      ${!st.online && permissionHint() ? html`<p class="hint" id="alerts-hint">${permissionHint()}</p>` : ''}
      <p class="error" role="alert" id="online-error"></p>
      ${liveSuggestion()
        ? html`<div class="card" id="suggestion" role="status"><h2>Riders expected nearby</h2>
            <p>More ride requests are expected in <strong>${liveSuggestion().zone}</strong> soon. Heading there is up to you.</p></div>`
        : ''}
      <div class="card">
        <h2>Location</h2>
        <fieldset class="seg"><legend class="visually-hidden">Location source</legend>
          <label><input type="radio" name="source" value="gps" ${st.source === 'gps' ? 'checked' : ''}><span>Device GPS</span></label>
          <label><input type="radio" name="source" value="sim" ${st.source === 'sim' ? 'checked' : ''}><span>Simulated</span></label>
        </fieldset>
        ${st.source === 'sim'
          ? html`<p class="hint">Tap the map or pick a neighbourhood to place the car.</p>
            <label for="start-zone">Place the car in</label>
            <input id="start-zone" list="zone-names" autocomplete="off" placeholder="${zoneName(st.pos)}">
            <datalist id="zone-names">${zones.map((z) => html`<option value="${z.name}"></option>`)}</datalist>`
          : html`<p class="hint">Using the device's location.</p>`}
      </div>`;
  }
  const simControls = st.source === 'sim'
    ? html`<div class="card toggle"><label for="simulate" style="margin:0">Simulate driving toward the pickup and drop-off</label>
        <input type="checkbox" id="simulate" style="width:auto;transform:scale(1.5)" ${st.simulate ? 'checked' : ''}></div>
        <label for="sim-speed">Simulated speed</label>
        <select id="sim-speed">${SIM_SPEEDS.map((s) => html`<option value="${s}" ${st.simSpeed === s ? 'selected' : ''}>${s}× real time</option>`)}</select>`
    : '';
  render(panel, html`${body}${r && fmt.OPEN_STATES.includes(r.state) ? simControls : ''}`);
  drawMap();
  bindDrive(r);
}

/** What the driver is told about wrong PINs so far: nothing, the tries left, or the lock. */
function pinStatus(r) {
  if (r.pin_locked)
    return html`<strong>Too many wrong PINs: the PIN is locked.</strong> Ask the rider for the new PIN — they get one with “New PIN” in their app — then enter it here.`;
  if (r.pin_failed_attempts > 0)
    return html`Wrong PIN. ${r.pin_attempts_left} ${r.pin_attempts_left === 1 ? 'try' : 'tries'} left before the PIN is locked.`;
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
        persist();
        keepAwake(false);
      } else {
        // This tap is the gesture that lets offers ring, and the moment to ask for notifications.
        unlockSound();
        askPermission();
        await api.post('/v1/drivers/me/online');
        st.online = true;
        persist();
        keepAwake(true);
        sendPosition();
        refreshOffers();
      }
      draw();
    }),
  );
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
        $('#ride-error').textContent = 'The PIN has 4 digits.';
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
      title: 'Cancel this ride?',
      body: html`<p>The ride goes back to dispatch and another driver is offered it.</p>`,
      confirm: 'Cancel ride',
      cancel: 'Keep ride',
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

async function earnings() {
  setNav('earnings');
  mapEl.hidden = true;
  render(panel, html`<h1>Today's earnings</h1><p class="loading">Loading…</p>`);
  const from = new Date();
  from.setHours(0, 0, 0, 0);
  try {
    const e = await api.get(`/v1/drivers/me/earnings?from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(new Date().toISOString())}`);
    if (st.screen !== 'earnings') return;
    render(
      panel,
      html`<h1>Today's earnings</h1>
        <div class="card"><p class="big" id="earnings-total">${fmt.money(e.total)}</p>
        <p class="muted">${e.rides} ride${e.rides === 1 ? '' : 's'} since midnight</p></div>
        <h2>Statement</h2>
        ${e.lines.length === 0
          ? html`<p class="muted">No earnings yet today.</p>`
          : html`<table><caption class="visually-hidden">Statement lines</caption>
            <thead><tr><th scope="col">Time</th><th scope="col">Ride</th><th scope="col">Item</th><th scope="col" class="num">Amount</th></tr></thead>
            <tbody>${e.lines.map((l) => html`<tr><td>${fmt.shortTime(l.at)}</td><td>…${fmt.shortId(l.ride_id)}</td><td>${fmt.lineKind(l.kind)}</td><td class="num">${fmt.money(l.amount)}</td></tr>`)}</tbody></table>`}`,
    );
  } catch (err) {
    render(panel, html`<h1>Today's earnings</h1><p class="error" role="alert">${errorText(err)}</p>`);
  }
}

if (api.session) start();
else showAuth();
