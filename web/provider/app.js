// The provider app: a house-call provider (docs/house-calls.md) signs in (or signs up), writes their profile
// (bio, home base from the address search, how far they travel, the most visits a day, the services they
// offer from the catalogue, weekly hours by weekday) and time off, reads their week of visits by day
// (`GET /v1/house-calls/bookings?days=7`) and today's route on the street map (home, the visits in order,
// home again, each leg along the streets), and works a visit from its card: on my way, arrived, check-in
// with the customer's code, check-out, or the customer not there. While a visit is on the way the phone's
// position is shared (`POST /v1/providers/me/location`). Steps the server does not have yet answer 404
// and say so on the card.
//
// Booking events (`booking_*`) on the stream re-read the week; a poll every 30 s is the safety net.
import { Api, errorText } from '/shared/api.js';
import { EventStream, bindConnectionBanner } from '/shared/events.js';
import { CityMap, loadZones } from '/shared/map.js';
import { routeLine, clearRoute } from '/shared/route.js';
import { addressCombobox, reversePlace } from '/shared/places.js';
import * as fmt from '/shared/format.js';
import { html, render, $, $$, busy, authScreen, confirmDialog, focusHeading } from '/shared/ui.js';
import { t, addMessages, locale } from '/shared/i18n.js';
import providerMessages from '/shared/messages/provider.js';

addMessages(providerMessages);

document.title = t('provider.page_title');
for (const el of $$('[data-i18n]')) el.textContent = t(el.dataset.i18n);
for (const el of $$('[data-i18n-aria-label]')) el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));

const TZ = 'America/New_York';
const DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
const POLL_MS = 30000;
/** Minutes to the door the provider may say when setting off. */
const ETA_CHOICES = [5, 10, 15, 20, 30, 45, 60];
const LOCATION_EVERY_MS = 15000;
/** The actions of a visit's card by its state: [path segment, message key]. */
const ACTIONS = {
  confirmed: [['on-my-way', 'provider.visit.on_my_way']],
  on_the_way: [['arrive', 'provider.visit.arrive']],
  arrived: [['check-in', 'provider.visit.check_in'], ['no-show', 'provider.visit.no_show']],
  in_progress: [['check-out', 'provider.visit.check_out']],
};

const api = new Api('provider');
const panel = $('#panel');
const mapEl = $('#map');
let map = null;
let zones = [];
let stream = null;
let timers = [];

const st = {
  screen: 'loading',
  profile: null, // the provider's profile, null before they wrote one
  catalogue: null, // the bookable services, null when the server has no list
  bookings: [],
  draft: null, // the profile editor's state
  errors: {}, // visit id -> the error shown on its card
  shares: {}, // visit id -> the share link made for it
  sos: {}, // visit id -> true once an SOS was sent
  watch: null, // the geolocation watch while on the way
  lastSent: 0,
};

// For the end-to-end tests and debugging from the console.
window.doorstepProvider = st;

// ---- time: the provider's day is the city's

const NY_DATE = new Intl.DateTimeFormat('en-CA', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit' });
const NY_FIELDS = new Intl.DateTimeFormat('en-US', { timeZone: TZ, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });

function nyDate(d = new Date()) {
  return NY_DATE.format(d);
}

function addDays(ymd, n) {
  const d = new Date(`${ymd}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** The offset of New York's wall clock from UTC at instant `ms`, in ms. */
function nyOffset(ms) {
  const p = Object.fromEntries(NY_FIELDS.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour) % 24, Number(p.minute), Number(p.second)) - ms;
}

/** The instant of midnight in New York on `ymd`, as RFC 3339. */
function nyMidnight(ymd) {
  const wall = Date.parse(`${ymd}T00:00:00Z`);
  let ms = wall - nyOffset(wall);
  ms = wall - nyOffset(ms);
  return new Date(ms).toISOString();
}

function dayLabel(ymd) {
  return new Date(`${ymd}T12:00:00Z`).toLocaleDateString(locale(), { weekday: 'long', month: 'short', day: 'numeric', timeZone: 'UTC' });
}

/** The city's day of an instant of time off ("Sat, Dec 26"). */
function offDay(iso) {
  return new Date(iso).toLocaleDateString(locale(), { weekday: 'short', month: 'short', day: 'numeric', timeZone: TZ });
}

function clock(iso) {
  return new Date(iso).toLocaleTimeString(locale(), { hour: 'numeric', minute: '2-digit', timeZone: TZ });
}

function stateName(s) {
  const key = `provider.visit.state.${s}`;
  return t(key) === key ? s : t(key);
}

/** A sentence for an API error by its code (`provider.error.<code>`), else the shared one. */
function providerErrorText(e) {
  if (e && e.code) {
    const key = `provider.error.${e.code}`;
    if (t(key) !== key) return t(key);
  }
  return errorText(e);
}

// ---- the page

api.onUnauthorized = () => {
  stop();
  api.saveSession(null);
  showAuth();
};

function stop() {
  if (stream) stream.close();
  stream = null;
  for (const id of timers) clearInterval(id);
  timers = [];
  stopSharing();
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
  if (b) go(b.dataset.go);
});

$('#logout').addEventListener('click', async () => {
  stop();
  await api.logout();
  st.profile = null;
  st.bookings = [];
  showAuth();
});

function showMap(on) {
  mapEl.hidden = !on;
  if (on && !map) map = new CityMap(mapEl, { label: t('provider.today.map_label') });
}

function go(screen) {
  st.screen = screen;
  setNav(screen);
  showMap(screen === 'today');
  if (screen === 'week') drawWeek();
  else if (screen === 'today') drawToday();
  else if (screen === 'profile') openProfile();
  else if (screen === 'earnings') drawEarnings();
  focusHeading(panel);
  // The week and today's route are read again on the way in (and the standing with them).
  if (screen === 'week' || screen === 'today') refresh({ profile: true });
}

function showAuth() {
  st.screen = 'auth';
  setNav(null);
  showMap(false);
  authScreen(panel, api, { title: t('provider.auth_title'), signupRole: 'provider', expectRole: 'provider', onDone: () => start() });
  const form = $('#auth-form', panel);
  if (form) form.insertAdjacentHTML('afterend', String(html`<p class="hint">${t('provider.auth_hint')}</p>`));
}

async function loadProfile() {
  try {
    st.profile = await api.get('/v1/providers/me');
  } catch (e) {
    if (e.status !== 404) throw e;
    st.profile = null;
  }
}

async function loadCatalogue() {
  try {
    const r = await api.get('/v1/house-calls/services');
    st.catalogue = r.services || [];
  } catch (e) {
    // The catalogue's list is not on every server yet.
    if (e.status !== 404) throw e;
    st.catalogue = null;
  }
}

let refreshing = null;
/** Re-reads the week's visits (from the start of today, for seven days). */
async function loadBookings() {
  if (refreshing) return refreshing;
  refreshing = (async () => {
    try {
      const from = encodeURIComponent(nyMidnight(nyDate()));
      const { bookings } = await api.get(`/v1/house-calls/bookings?from=${from}&days=7`);
      st.bookings = bookings;
      shareWhileOnTheWay();
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

async function refresh({ profile = false } = {}) {
  if (!api.token) return;
  try {
    await Promise.all([loadBookings(), profile ? loadProfile() : null]);
    if (st.screen === 'week') redraw(drawWeek);
    if (st.screen === 'today') redraw(drawToday);
  } catch (e) {
    if (e.status !== 401) console.warn('visits', e);
  }
}

/** Redraws a screen keeping the focus and what is typed in a visit's code field. */
function redraw(draw) {
  const codes = $$('input[id^="code-"]').map((el) => [el.id, el.value]);
  const focused = document.activeElement && document.activeElement.id;
  draw();
  for (const [id, value] of codes) {
    const el = document.getElementById(id);
    if (el) el.value = value;
  }
  if (focused) document.getElementById(focused)?.focus();
}

function onMessage(m) {
  if (typeof m.type === 'string' && m.type.startsWith('booking_')) refresh();
}

async function start() {
  setNav(null);
  render(panel, html`<p class="loading">${t('provider.loading_account')}</p>`);
  try {
    await Promise.all([loadProfile(), loadCatalogue(), loadBookings(), loadZones().then((z) => (zones = z), () => [])]);
    stream = new EventStream(() => api.token, { onMessage, onResume: refresh });
    bindConnectionBanner($('#conn'), stream);
    timers.push(setInterval(refresh, POLL_MS));
    go(st.profile ? 'week' : 'profile');
  } catch (e) {
    if (e.status === 401) return;
    render(panel, html`<section class="card"><h1>${t('provider.error_title')}</h1><p class="error" role="alert">${errorText(e)}</p>
      <button class="primary" id="retry">${t('provider.retry')}</button></section>`);
    $('#retry').addEventListener('click', start);
  }
}

function standingHtml() {
  if (!st.profile) return html`<p class="notice warn" id="standing" data-approval="none">${t('provider.no_profile')}</p>`;
  const a = st.profile.approval;
  const cls = a === 'approved' ? 'ok' : a === 'pending' ? 'warn' : 'bad';
  return html`<p class="notice ${cls}" id="standing" data-approval="${a}">${t(`provider.approval.${a}`)}</p>`;
}

// ---- a visit's card

function visitHtml(b, level = 3) {
  const actions = ACTIONS[b.state] || [];
  const title = t('provider.visit.title', { time: clock(b.start), service: b.service_name });
  const heading = level === 2 ? html`<h2 id="v-${b.id}-title">${title}</h2>` : html`<h3 id="v-${b.id}-title">${title}</h3>`;
  const err = st.errors[b.id] || '';
  return html`<article class="card visit" data-booking="${b.id}" data-state="${b.state}" aria-labelledby="v-${b.id}-title">
    <div class="visit-head">${heading}<span class="badge ${b.state === 'cancelled' || b.state === 'missed' ? 'bad' : b.state === 'completed' ? 'ok' : 'info'}">${stateName(b.state)}</span></div>
    <p class="meta">${t('provider.visit.until', { time: clock(b.end) })} · ${b.address}</p>
    <p class="meta">${t('provider.visit.price', { price: fmt.money(b.price) })}</p>
    ${b.state === 'on_the_way' ? html`<p class="hint">${t('provider.visit.sharing')}</p>` : ''}
    ${actions.length
      ? html`<div class="actions">
        ${b.state === 'confirmed'
          ? html`<div class="code-row"><label for="eta-${b.id}">${t('provider.visit.eta')}</label>
            <select id="eta-${b.id}">${ETA_CHOICES.map((m) => html`<option value="${m}" ${m === 15 ? 'selected' : ''}>${t('provider.visit.minutes', { n: m })}</option>`)}</select></div>`
          : ''}
        ${b.state === 'arrived'
          ? html`<div class="code-row"><label for="code-${b.id}">${t('provider.visit.code')}</label>
            <input id="code-${b.id}" inputmode="numeric" autocomplete="one-time-code" maxlength="8"></div>`
          : ''}
        ${actions.map(([act, key]) => html`<button type="button" class="${act === 'no-show' ? 'secondary' : 'primary'}" id="act-${act}-${b.id}" data-act="${act}" data-id="${b.id}">${t(key)}</button>`)}
      </div>`
      : ''}
    ${['completed', 'cancelled', 'missed'].includes(b.state)
      ? ''
      : html`<div class="actions safety">
        <button type="button" class="secondary" id="share-${b.id}" data-safety="share" data-id="${b.id}">${t('provider.visit.share')}</button>
        <button type="button" class="danger" id="sos-${b.id}" data-safety="sos" data-id="${b.id}">${t('provider.visit.sos')}</button>
      </div>`}
    ${st.shares[b.id] ? html`<p class="hint" id="share-link-${b.id}">${t('provider.visit.share_link')} <a href="${st.shares[b.id]}">${st.shares[b.id]}</a></p>` : ''}
    ${st.sos[b.id] ? html`<p class="notice warn" role="status" id="sos-sent-${b.id}">${t('provider.visit.sos_sent')}</p>` : ''}
    <p class="error" role="alert" id="err-${b.id}">${err}</p>
  </article>`;
}

panel.addEventListener('click', (e) => {
  const b = e.target.closest('button[data-act]');
  if (b) visitAction(b, b.dataset.id, b.dataset.act);
  const safety = e.target.closest('button[data-safety]');
  if (safety) safetyAction(safety, safety.dataset.id, safety.dataset.safety);
});

// ---- safety: a share link for a trusted contact, SOS to the operators

async function safetyAction(button, id, what) {
  if (what === 'sos') {
    const ok = await confirmDialog({
      title: t('provider.visit.sos_title'),
      body: html`<p>${t('provider.visit.sos_body')}</p>`,
      confirm: t('provider.visit.sos_confirm'),
      danger: true,
    });
    if (!ok) return;
    await sendPosition();
  }
  st.errors[id] = '';
  await busy(button, null, async () => {
    try {
      if (what === 'share') {
        const made = await api.post(`/v1/house-calls/bookings/${id}/share`, {});
        st.shares[id] = new URL(made.url, location.origin).href;
      } else {
        await api.post(`/v1/house-calls/bookings/${id}/sos`, {});
        st.sos[id] = true;
      }
    } catch (e) {
      st.errors[id] = providerErrorText(e);
    }
  });
  if (st.screen === 'week') drawWeek();
  if (st.screen === 'today') drawToday();
  const shown = document.getElementById(what === 'share' ? `share-link-${id}` : `sos-sent-${id}`) || document.getElementById(`err-${id}`);
  if (shown) {
    shown.setAttribute('tabindex', '-1');
    shown.focus();
  }
}

async function visitAction(button, id, act) {
  const booking = st.bookings.find((x) => x.id === id);
  if (!booking) return;
  let body = {};
  if (act === 'on-my-way') body = { eta_min: Number($(`#eta-${id}`)?.value || 15) };
  if (act === 'arrive') await sendPosition();
  if (act === 'check-in') {
    const code = ($(`#code-${id}`)?.value || '').trim();
    body = { code };
  }
  if (act === 'no-show') {
    const ok = await confirmDialog({
      title: t('provider.visit.no_show_title'),
      body: html`<p>${t('provider.visit.no_show_body')}</p>`,
      confirm: t('provider.visit.no_show_confirm'),
      cancel: t('provider.visit.keep'),
      danger: true,
    });
    if (!ok) return;
  }
  const errEl = $(`#err-${id}`);
  st.errors[id] = '';
  await busy(button, null, async () => {
    try {
      const fresh = await api.post(`/v1/house-calls/bookings/${id}/${act}`, body);
      if (fresh && fresh.id === id) st.bookings = st.bookings.map((x) => (x.id === id ? fresh : x));
      else await loadBookings();
      shareWhileOnTheWay();
    } catch (e) {
      st.errors[id] = e.status === 404 && (e.code === 'route_not_found' || e.code === 'http_404') ? t('provider.visit.not_yet') : providerErrorText(e);
      if (errEl) errEl.textContent = st.errors[id];
      if (e.code === 'invalid_booking_state') await loadBookings().catch(() => {});
      else return;
    }
  });
  if (st.screen === 'week') drawWeek();
  if (st.screen === 'today') drawToday();
  const again = document.getElementById(`act-${act}-${id}`) || document.querySelector(`[data-booking="${id}"] button[data-act]`) || document.getElementById(`v-${id}-title`);
  if (again) {
    if (!again.matches('button')) again.setAttribute('tabindex', '-1');
    again.focus();
  }
}

// ---- sharing the position while on the way

function shareWhileOnTheWay() {
  const going = st.bookings.some((b) => b.state === 'on_the_way');
  if (going && st.watch === null && navigator.geolocation) {
    st.watch = navigator.geolocation.watchPosition(
      (pos) => {
        if (Date.now() - st.lastSent < LOCATION_EVERY_MS) return;
        st.lastSent = Date.now();
        api.post('/v1/providers/me/location', { lat: pos.coords.latitude, lng: pos.coords.longitude }).catch((e) => {
          // Not on this server yet: stop asking.
          if (e.status === 404) stopSharing();
        });
      },
      () => stopSharing(),
      { enableHighAccuracy: true, maximumAge: 10000 },
    );
  } else if (!going) stopSharing();
}

/** Sends the phone's position once (before arriving: the server checks the provider is at the door). */
function sendPosition() {
  if (!navigator.geolocation) return Promise.resolve();
  return new Promise((resolve) => {
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        st.lastSent = Date.now();
        api.post('/v1/providers/me/location', { lat: pos.coords.latitude, lng: pos.coords.longitude }).then(resolve, resolve);
      },
      () => resolve(),
      { enableHighAccuracy: true, timeout: 10000, maximumAge: 0 },
    );
  });
}

function stopSharing() {
  if (st.watch !== null && navigator.geolocation) navigator.geolocation.clearWatch(st.watch);
  st.watch = null;
}

// ---- the week

function drawWeek() {
  const today = nyDate();
  const days = Array.from({ length: 7 }, (_, i) => addDays(today, i));
  const byDay = new Map(days.map((d) => [d, []]));
  for (const b of st.bookings) {
    const d = nyDate(new Date(b.start));
    if (byDay.has(d)) byDay.get(d).push(b);
  }
  for (const list of byDay.values()) list.sort((a, b) => a.start.localeCompare(b.start));
  render(
    panel,
    html`<h1 id="week-title">${t('provider.week.title')}</h1>
      ${standingHtml()}
      ${st.bookings.length === 0 ? html`<p class="muted" id="week-none">${t('provider.week.none')}</p>` : ''}
      ${days.map((d, i) => {
        const list = byDay.get(d);
        return html`<section class="day" data-date="${d}" aria-labelledby="day-${d}">
          <h2 id="day-${d}">${i === 0 ? `${t('provider.week.today')} · ` : ''}${dayLabel(d)} <span class="count">${list.length ? t('provider.visits', { n: list.length }) : ''}</span></h2>
          ${list.length ? list.map((b) => visitHtml(b)) : html`<p class="muted">${t('provider.week.none_day')}</p>`}
        </section>`;
      })}`,
  );
}

// ---- today's route

function drawToday() {
  const today = nyDate();
  const visits = st.bookings
    .filter((b) => nyDate(new Date(b.start)) === today && b.state !== 'cancelled')
    .sort((a, b) => a.start.localeCompare(b.start));
  const home = st.profile && st.profile.home;
  render(
    panel,
    html`<h1 id="today-title">${t('provider.today.title')}</h1>
      ${home ? '' : html`<p class="hint">${t('provider.today.no_home')}</p>`}
      ${visits.length === 0 ? html`<p class="muted" id="today-none">${t('provider.today.none')}</p>` : ''}
      <ol class="route-list" id="route-list">
        ${home ? html`<li class="stop-home">${t('provider.today.home')}</li>` : ''}
        ${visits.map((b, i) => html`<li>${t('provider.today.stop', { n: i + 1, time: clock(b.start), service: b.service_name })}</li>`)}
        ${home && visits.length ? html`<li class="stop-home">${t('provider.today.home')}</li>` : ''}
      </ol>
      ${visits.map((b) => visitHtml(b, 2))}`,
  );
  if (!map) return;
  map.pruneMarkers(() => false);
  for (const id of [...map.lines.keys()]) clearRoute(map, id);
  const points = [];
  if (home) {
    map.setMarker('home', { ...home, kind: 'pickup', text: '⌂', label: t('provider.today.home') });
    points.push(home);
  }
  visits.forEach((b, i) => {
    map.setMarker(`visit-${i}`, { ...b.location, kind: 'dropoff', text: String(i + 1), label: t('provider.today.stop', { n: i + 1, time: clock(b.start), service: b.service_name }) });
    points.push(b.location);
  });
  if (home && visits.length) points.push(home);
  for (let i = 0; i + 1 < points.length; i++) routeLine(api, map, `leg-${i}`, points[i], points[i + 1]);
  // Fitted to the route when it changes, not on every re-read (the provider may have moved the map).
  const key = points.map((p) => `${p.lat.toFixed(5)},${p.lng.toFixed(5)}`).join('|');
  if (key !== st.fitted) {
    st.fitted = key;
    map.ready.then(() => {
      if (points.length) map.fitPoints(points, 120);
    }, () => {});
  }
}

// ---- the profile

function draftOf(p) {
  const hours = {};
  for (const day of DAYS) {
    const ranges = p ? p.hours[day] || [] : ['saturday', 'sunday'].includes(day) ? [] : [{ open: '09:00', close: '17:00' }];
    hours[day] = ranges.map((r) => ({ ...r }));
  }
  return {
    bio: p ? p.bio : '',
    home: p ? { ...p.home, label: '' } : null,
    areaKm: p ? String(p.area_m / 1000) : '5',
    cap: p ? String(p.daily_cap) : '6',
    services: new Set(p ? p.service_ids : []),
    hours,
    errors: {},
    general: '',
    notice: '',
    offFrom: '',
    offTo: '',
    offError: '',
    offNotice: '',
  };
}

function openProfile() {
  st.draft = draftOf(st.profile);
  drawProfile();
  // The home base by name: the server's reverse geocoder, once.
  const d = st.draft;
  if (d.home && !d.home.label) {
    reversePlace(api, d.home, zones).then(
      (place) => {
        if (st.draft !== d || st.screen !== 'profile') return;
        d.home.label = place.label;
        const input = $('#p-home');
        if (input && !input.value) input.combobox.set(place.label);
      },
      () => {},
    );
  }
}

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$|^24:00$/;

function fieldError(key) {
  return html`<p class="field-error" id="perr-${key}">${st.draft.errors[key] || ''}</p>`;
}

function drawProfile() {
  const d = st.draft;
  const catalogue = st.catalogue;
  render(
    panel,
    html`<h1 id="profile-title">${t('provider.profile.title')}</h1>
      ${standingHtml()}
      <form id="profile-form" class="card" novalidate>
        <label for="p-bio">${t('provider.profile.bio')}</label>
        <textarea id="p-bio" maxlength="500">${d.bio}</textarea>
        <label for="p-home">${t('provider.profile.home')}</label>
        <div class="ac"><input id="p-home" placeholder="${t('places.search_placeholder')}" value="${d.home ? d.home.label : ''}" aria-describedby="perr-home"></div>
        ${fieldError('home')}
        <div class="two">
          <div><label for="p-area">${t('provider.profile.area')}</label>
            <input id="p-area" type="number" min="0.5" max="30" step="0.5" inputmode="decimal" value="${d.areaKm}" aria-describedby="p-area-hint"></div>
          <div><label for="p-cap">${t('provider.profile.cap')}</label>
            <input id="p-cap" type="number" min="1" max="16" step="1" inputmode="numeric" value="${d.cap}" aria-describedby="p-cap-hint"></div>
        </div>
        <p class="hint" id="p-area-hint">${t('provider.profile.area_hint')}</p>
        <p class="hint" id="p-cap-hint">${t('provider.profile.cap_hint')}</p>
        <fieldset class="checks" id="p-services"><legend>${t('provider.profile.services')}</legend>
          ${catalogue && catalogue.length
            ? catalogue.map((s) => html`<label class="check"><input type="checkbox" name="service" value="${s.id}" ${d.services.has(s.id) ? 'checked' : ''}>
              <span>${s.name} <span class="muted">· ${fmt.money(s.price)} · ${s.duration_min} min</span></span></label>`)
            : html`<p class="muted" id="p-no-catalogue">${t('provider.profile.no_catalogue')}</p>`}
        </fieldset>
        <fieldset class="hours"><legend>${t('provider.profile.hours')}</legend>
          ${DAYS.map((day) => {
            const name = t(`provider.day.${day}`);
            return html`<div class="day-hours" data-day="${day}">
              <p class="day-name" id="ph-${day}">${name}</p>
              ${d.hours[day].length ? '' : html`<p class="muted">${t('provider.profile.off')}</p>`}
              ${d.hours[day].map((r, i) => html`<div class="range">
                <div><label for="ph-${day}-${i}-open">${t('provider.profile.from')}</label>
                  <input id="ph-${day}-${i}-open" data-hours="${day}:${i}:open" value="${r.open}" placeholder="HH:MM" inputmode="numeric" maxlength="5" aria-describedby="ph-${day}"></div>
                <div><label for="ph-${day}-${i}-close">${t('provider.profile.to')}</label>
                  <input id="ph-${day}-${i}-close" data-hours="${day}:${i}:close" value="${r.close}" placeholder="HH:MM" inputmode="numeric" maxlength="5" aria-describedby="ph-${day}"></div>
                <button type="button" class="secondary" data-remove-range="${day}:${i}">${t('provider.profile.remove_range', { day: name, open: r.open, close: r.close })}</button>
              </div>`)}
              ${fieldError(`hours-${day}`)}
              ${d.hours[day].length < 4 ? html`<button type="button" class="link" data-add-range="${day}">${t('provider.profile.add_range', { day: name })}</button>` : ''}
            </div>`;
          })}
        </fieldset>
        <p role="status" class="hint" id="profile-status">${d.notice}</p>
        <p class="error" role="alert" id="profile-error">${d.general}</p>
        <button type="submit" class="primary" id="profile-save">${t('provider.profile.save')}</button>
      </form>
      <section class="card" aria-labelledby="off-title">
        <h2 id="off-title">${t('provider.off.title')}</h2>
        ${st.profile && st.profile.time_off.length
          ? html`<ul class="off-list" id="off-list">${st.profile.time_off.map((o) => html`<li>${t('provider.off.item', { from: offDay(o.from), to: offDay(new Date(Date.parse(o.to) - 1).toISOString()) })}</li>`)}</ul>`
          : html`<p class="muted" id="off-none">${t('provider.off.none')}</p>`}
        <form id="off-form" novalidate>
          <div class="two">
            <div><label for="off-from">${t('provider.off.from')}</label><input id="off-from" type="date" value="${d.offFrom}"></div>
            <div><label for="off-to">${t('provider.off.to')}</label><input id="off-to" type="date" value="${d.offTo}"></div>
          </div>
          <p role="status" class="hint" id="off-status">${d.offNotice}</p>
          <p class="error" role="alert" id="off-error">${d.offError}</p>
          <button type="submit" class="secondary" id="off-add" ${st.profile ? '' : 'disabled'}>${t('provider.off.add')}</button>
          ${st.profile ? '' : html`<p class="hint">${t('provider.off.needs_profile')}</p>`}
        </form>
      </section>`,
  );
  const input = $('#p-home');
  input.combobox = addressCombobox(input, {
    api,
    zones,
    label: t('provider.profile.home'),
    near: () => st.draft.home,
    onError: (e, text) => {
      st.draft.errors.home = text || errorText(e);
      $('#perr-home').textContent = st.draft.errors.home;
    },
    onPick: (r) => {
      st.draft.home = { lat: r.lat, lng: r.lng, label: r.label };
      st.draft.errors.home = '';
      $('#perr-home').textContent = '';
    },
  });
}

panel.addEventListener('input', (e) => {
  if (st.screen !== 'profile') return;
  const el = e.target;
  const d = st.draft;
  if (el.dataset.hours) {
    const [day, i, key] = el.dataset.hours.split(':');
    d.hours[day][Number(i)][key] = el.value.trim();
  } else if (el.id === 'p-bio') d.bio = el.value;
  else if (el.id === 'p-area') d.areaKm = el.value;
  else if (el.id === 'p-cap') d.cap = el.value;
  else if (el.id === 'off-from') d.offFrom = el.value;
  else if (el.id === 'off-to') d.offTo = el.value;
});

panel.addEventListener('change', (e) => {
  if (st.screen !== 'profile' || e.target.name !== 'service') return;
  if (e.target.checked) st.draft.services.add(e.target.value);
  else st.draft.services.delete(e.target.value);
});

panel.addEventListener('click', (e) => {
  if (st.screen !== 'profile') return;
  const b = e.target.closest('button');
  if (!b) return;
  const d = st.draft;
  if (b.dataset.addRange) {
    const day = b.dataset.addRange;
    const last = d.hours[day][d.hours[day].length - 1];
    d.hours[day].push(last ? { open: last.close, close: last.close } : { open: '09:00', close: '17:00' });
    drawProfile();
    $(`#ph-${day}-${d.hours[day].length - 1}-open`).focus();
  } else if (b.dataset.removeRange) {
    const [day, i] = b.dataset.removeRange.split(':');
    d.hours[day].splice(Number(i), 1);
    drawProfile();
    $(`#ph-${day}`).setAttribute('tabindex', '-1');
    $(`#ph-${day}`).focus();
  }
});

panel.addEventListener('submit', (e) => {
  if (st.screen !== 'profile') return;
  e.preventDefault();
  if (e.target.id === 'profile-form') saveProfile();
  if (e.target.id === 'off-form') addTimeOff();
});

async function saveProfile() {
  const d = st.draft;
  d.errors = {};
  d.general = '';
  d.notice = '';
  if (!d.home) d.errors.home = t('provider.profile.home_missing');
  for (const day of DAYS) {
    if (d.hours[day].some((r) => !HHMM.test(r.open) || !HHMM.test(r.close) || r.close <= r.open)) d.errors[`hours-${day}`] = t('provider.profile.bad_range');
  }
  if (Object.values(d.errors).some(Boolean)) {
    drawProfile();
    const first = Object.keys(d.errors)[0];
    (first === 'home' ? $('#p-home') : $(`#ph-${first.slice(6)}`))?.focus();
    return;
  }
  const body = {
    bio: d.bio.trim(),
    home: { lat: d.home.lat, lng: d.home.lng },
    area_m: Math.round(Number(String(d.areaKm).replace(',', '.')) * 1000),
    daily_cap: Math.round(Number(d.cap)),
    // Services the catalogue no longer lists are kept only when the server has no list to show.
    service_ids: [...d.services].filter((id) => !st.catalogue || st.catalogue.some((s) => s.id === id)),
    hours: d.hours,
  };
  await busy($('#profile-save'), null, async () => {
    try {
      st.profile = await api.put('/v1/providers/me', body);
      const label = d.home.label;
      st.draft = draftOf(st.profile);
      st.draft.home.label = label;
      st.draft.notice = t('provider.profile.saved');
    } catch (e) {
      d.general = providerErrorText(e);
    }
  });
  drawProfile();
  (st.draft.general ? $('#profile-error') : $('#profile-status'))?.setAttribute('tabindex', '-1');
  $('#profile-save')?.focus();
}

async function addTimeOff() {
  const d = st.draft;
  d.offError = '';
  d.offNotice = '';
  if (!d.offFrom || !d.offTo || d.offTo < d.offFrom) {
    d.offError = t('provider.off.bad');
    drawProfile();
    $('#off-from').focus();
    return;
  }
  await busy($('#off-add'), null, async () => {
    try {
      st.profile = await api.post('/v1/providers/me/time-off', { from: nyMidnight(d.offFrom), to: nyMidnight(addDays(d.offTo, 1)) });
      d.offFrom = '';
      d.offTo = '';
      d.offNotice = t('provider.off.added');
    } catch (e) {
      d.offError = providerErrorText(e);
    }
  });
  drawProfile();
  $('#off-add')?.focus();
}

if (api.session) start();
else showAuth();

// ---- earnings: the last seven days, from the ledger

async function drawEarnings() {
  render(panel, html`<h1 id="earnings-title">${t('provider.earnings.title')}</h1><p class="loading">${t('provider.loading')}</p>`);
  const from = new Date(Date.now() - 7 * 86400000).toISOString();
  let e;
  try {
    e = await api.get(`/v1/providers/me/earnings?from=${encodeURIComponent(from)}`);
  } catch (err) {
    render(panel, html`<h1 id="earnings-title">${t('provider.earnings.title')}</h1><p class="error" role="alert">${providerErrorText(err)}</p>`);
    return;
  }
  if (st.screen !== 'earnings') return;
  render(panel, html`<h1 id="earnings-title">${t('provider.earnings.title')}</h1>
    <dl class="facts" id="earnings-totals">
      <dt>${t('provider.earnings.gross')}</dt><dd id="earn-gross">${fmt.money(e.gross)}</dd>
      <dt>${t('provider.earnings.commission')}</dt><dd id="earn-commission">${fmt.money(e.commission)}</dd>
      <dt>${t('provider.earnings.net')}</dt><dd id="earn-net">${fmt.money(e.net)}</dd>
      <dt>${t('provider.earnings.tips')}</dt><dd>${fmt.money(e.tips)}</dd>
    </dl>
    ${e.days.length
      ? html`<table class="earnings"><caption>${t('provider.earnings.by_day')}</caption>
        <thead><tr><th scope="col">${t('provider.earnings.day')}</th><th scope="col">${t('provider.earnings.net')}</th></tr></thead>
        <tbody>${e.days.map((d) => html`<tr><th scope="row">${d.start}</th><td>${fmt.money(d.net)}</td></tr>`)}</tbody></table>`
      : html`<p class="hint" id="earn-none">${t('provider.earnings.none')}</p>`}`);
  focusHeading(panel);
}
