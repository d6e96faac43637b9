// The operations console (admins): a live map of every driver by status and every open ride, pushed over
// the WebSocket after one fleet snapshot; a demand/supply heatmap by zone and KPI tiles with time series,
// refreshed every 15 s; a searchable ride table; and a ride page with its timeline and price breakdown.
import { Api, errorText } from '/shared/api.js';
import { EventStream, bindConnectionBanner } from '/shared/events.js';
import { CityMap, loadZones, placeName } from '/shared/map.js';
import { routeLine } from '/shared/route.js';
import * as fmt from '/shared/format.js';
import { html, render, $, $$, authScreen, focusHeading } from '/shared/ui.js';
import { addMessages, t } from '/shared/i18n.js';
import whocoming from '/shared/messages/whocoming.js';
import opsMessages from '/shared/messages/ops.js';
import { initConsole, loadNames, personLink, personName, peoplePage, personPage, auditPage, rideConsole } from './console.js';
import { initFood, addFoodTabs, routeFood, onFoodEvent, refreshFoodSummary, renderFoodTile } from './food.js';
import { initHouseCalls, addHouseCallTabs, routeHouseCalls, onHouseCallEvent, startSosWatch, stopSosWatch } from './housecalls.js';

addMessages(whocoming, opsMessages);

// The static page (index.html) in the reader's language: its English stays in the HTML for a browser
// without JavaScript; elements marked `data-i18n` get the message's text, `data-i18n-label` its aria-label.
document.title = t('ops.page_title');
for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
for (const el of document.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));

/** `key`'s message, or `fallback` where the catalogue has none (a value the server added later). */
function tOr(key, fallback, params) {
  const text = t(key, params);
  return text === key ? fallback : text;
}

const api = new Api('ops');
const main = $('#main');
const KPI_EVERY_MS = 15000;

let zones = [];
let stream = null;
let liveMap = null;
let liveEl = null; // the live view, kept across navigation so the map keeps its state
const drivers = new Map(); // driver_id -> {status, lat, lng}
const openRides = new Map(); // ride_id -> ride view
let kpis = null;
let statsTimer = null;
let zoneStats = new Map();
const prefs = { heat: 'demand', showDrivers: true, showRides: true };

api.onUnauthorized = () => {
  if (stream) stream.close();
  stream = null;
  api.saveSession(null);
  showAuth();
};

function showAuth() {
  $('#nav').hidden = true;
  liveEl = null;
  liveMap = null;
  authScreen(main, api, { title: t('ops.auth.title'), expectRole: 'admin', onDone: () => start() });
}

$('#logout').addEventListener('click', async () => {
  clearInterval(statsTimer);
  if (stream) stream.close();
  stream = null;
  stopSosWatch();
  await api.logout();
  location.hash = '#/';
  showAuth();
});

// The console's People and Audit tabs (their labels come from the message catalogue).
function addConsoleTabs() {
  if ($('[data-nav="people"]')) return;
  const logout = $('#logout');
  for (const [which, path] of [['people', '#/people'], ['audit', '#/audit']]) {
    const a = document.createElement('a');
    a.href = path;
    a.dataset.nav = which;
    a.textContent = t(`console.nav.${which}`);
    logout.before(a);
  }
}

async function start() {
  $('#nav').hidden = false;
  addConsoleTabs();
  addFoodTabs();
  addHouseCallTabs();
  render(main, html`<p class="loading">${t('ops.loading_fleet')}</p>`);
  try {
    const me = await api.get('/v1/me');
    if (me.role !== 'admin') {
      await api.logout();
      return showAuth();
    }
    zones = await loadZones();
    await snapshot();
    stream = new EventStream(() => api.token, { onMessage, onResume: snapshot });
    bindConnectionBanner($('#conn'), stream);
    refreshStats();
    clearInterval(statsTimer);
    statsTimer = setInterval(refreshStats, KPI_EVERY_MS);
    startSosWatch();
    route();
  } catch (e) {
    if (e.status === 401) return;
    render(main, html`<div class="card"><h1>${t('ops.error.title')}</h1><p class="error" role="alert">${errorText(e)}</p>
      <button class="primary" id="retry" style="width:auto">${t('ops.retry')}</button></div>`);
    $('#retry').addEventListener('click', start);
  }
}

// ---- live state

async function snapshot() {
  const fleet = await api.get('/v1/admin/fleet');
  drivers.clear();
  for (const d of fleet.drivers) if (d.position) drivers.set(d.driver_id, { status: d.status, ...d.position, ride_id: d.ride_id });
  openRides.clear();
  for (const r of fleet.open_rides) openRides.set(r.ride_id, r);
  if (liveMap) {
    liveMap.pruneMarkers(() => false);
    drawAllMarkers();
  }
  scheduleSideRender();
}

function onMessage(m) {
  onFoodEvent(m);
  onHouseCallEvent(m);
  if (m.type === 'driver_position') {
    const d = { status: m.status, lat: m.lat, lng: m.lng };
    drivers.set(m.driver_id, d);
    drawDriver(m.driver_id, d);
    return;
  }
  if (m.type === 'driver_location') {
    const d = drivers.get(m.driver_id) || { status: 'to_pickup' };
    Object.assign(d, { lat: m.lat, lng: m.lng });
    drivers.set(m.driver_id, d);
    drawDriver(m.driver_id, d);
    return;
  }
  if (!m.ride_id || typeof m.id !== 'number') return;
  const states = {
    driver_assigned: 'driver_assigned',
    driver_arrived: 'driver_arrived',
    started: 'in_progress',
    driver_cancelled: 'requested',
  };
  if (['completed', 'cancelled', 'no_driver_available'].includes(m.type)) {
    openRides.delete(m.ride_id);
    if (liveMap) liveMap.removeMarker(`r:${m.ride_id}`);
  } else if (m.type === 'requested') {
    api.get(`/v1/rides/${m.ride_id}`).then((r) => {
      if (!fmt.OPEN_STATES.includes(r.state)) return;
      openRides.set(r.ride_id, r);
      drawRide(r);
      scheduleSideRender();
    }, () => {});
  } else if (states[m.type]) {
    const r = openRides.get(m.ride_id);
    if (r) {
      r.state = states[m.type];
      if (m.driver) r.driver_id = m.type === 'driver_cancelled' ? null : m.driver;
      drawRide(r);
    }
  }
  scheduleSideRender();
  if (rideOnPage && rideOnPage === m.ride_id) ridePage(m.ride_id, true);
}

function drawDriver(id, d) {
  if (!liveMap) return;
  if (!prefs.showDrivers || d.status === 'offline') return liveMap.removeMarker(`d:${id}`);
  liveMap.setMarker(`d:${id}`, { lat: d.lat, lng: d.lng, kind: 'driver', status: d.status, label: t('ops.marker.driver', { id: fmt.shortId(id), status: tOr(`ops.driver_status.${d.status}`, d.status.replace('_', ' ')) }) });
}

function drawRide(r) {
  if (!liveMap) return;
  if (!prefs.showRides) return liveMap.removeMarker(`r:${r.ride_id}`);
  liveMap.setMarker(`r:${r.ride_id}`, { ...r.pickup, kind: 'request', status: r.state, label: t('ops.marker.ride', { id: fmt.shortId(r.ride_id), state: fmt.rideState(r.state) }) });
}

function drawAllMarkers() {
  for (const [id, d] of drivers) drawDriver(id, d);
  for (const r of openRides.values()) drawRide(r);
}

async function refreshStats() {
  if (!api.token) return;
  refreshFoodSummary().then(scheduleSideRender, () => {});
  try {
    const [k, z] = await Promise.all([api.get('/v1/admin/kpis'), api.get('/v1/admin/zones')]);
    kpis = k;
    zoneStats = new Map(z.zones.map((s) => [s.zone_id, s]));
    drawHeat();
    scheduleSideRender();
  } catch (e) {
    const el = $('#stats-error');
    if (el) el.textContent = t('ops.kpis_failed', { error: errorText(e) });
  }
}

// ---- heat layer

const HEAT = {
  demand: { label: () => t('ops.heat.demand'), get: (s) => s.requests_last_hour, hue: [194, 24, 91] },
  open: { label: () => t('ops.heat.open'), get: (s) => s.open_requests, hue: [230, 81, 0] },
  supply: { label: () => t('ops.heat.supply'), get: (s) => s.available_drivers, hue: [10, 122, 61] },
};

function heatColour(hue, share) {
  const base = [238, 240, 234];
  const c = base.map((b, i) => Math.round(b + (hue[i] - b) * Math.min(1, share) * 0.85));
  return `rgb(${c.join(',')})`;
}

function drawHeat() {
  if (!liveMap) return;
  const h = HEAT[prefs.heat];
  if (!h) {
    liveMap.setZoneFill(null);
    liveMap.setZoneTitle(null);
    return;
  }
  const max = Math.max(1, ...[...zoneStats.values()].map(h.get));
  liveMap.setZoneFill((id) => {
    const s = zoneStats.get(id);
    return s ? heatColour(h.hue, h.get(s) / max) : null;
  });
  liveMap.setZoneTitle((id) => {
    const s = zoneStats.get(id);
    return s
      ? t('ops.heat.zone_title', { name: s.name, requests: s.requests_last_hour, open: s.open_requests, available: s.available_drivers })
      : '';
  });
  const legend = $('#heat-legend');
  if (legend)
    legend.innerHTML = html`${t('ops.heat.legend', { label: h.label() })} <span class="heat-scale" style="background:linear-gradient(90deg, ${heatColour(h.hue, 0)}, ${heatColour(h.hue, 1)})"></span> ${max}`.toString();
}

// ---- routing

let rideOnPage = null;
window.addEventListener('hashchange', route);
initConsole({ api, main, setNav, drivers, onChanged: (id) => ridePage(id, true) });
initFood({ api, main, setNav, drivers, loadNames, personName, personLink });
initHouseCalls({ api, main, setNav });

function setNav(which) {
  for (const a of $$('[data-nav]')) {
    if (a.dataset.nav === which) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function route() {
  if (!api.session) return;
  const h = location.hash.replace(/^#/, '') || '/';
  rideOnPage = null;
  if (routeFood(h)) return;
  if (routeHouseCalls(h)) return;
  const m = h.match(/^\/rides\/([\w-]+)$/);
  const person = h.match(/^\/people\/([\w-]+)$/);
  if (m) ridePage(m[1]);
  else if (h.startsWith('/rides')) ridesPage();
  else if (person) personPage(person[1]);
  else if (h.startsWith('/people')) peoplePage();
  else if (h.startsWith('/audit')) auditPage();
  else livePage();
}

// ---- live page

function livePage() {
  setNav('live');
  if (!liveEl) {
    liveEl = document.createElement('div');
    liveEl.innerHTML = html`<h1 class="visually-hidden">${t('ops.live.title')}</h1>
      <ul class="kpis" id="kpis" aria-label="${t('ops.live.kpis')}"></ul>
      <p class="error" role="alert" id="stats-error"></p>
      <div class="live">
        <section aria-labelledby="map-title">
          <h2 id="map-title">${t('ops.live.map')}</h2>
          <div class="layers">
            <div><label for="heat">${t('ops.live.heatmap')}</label>
              <select id="heat"><option value="demand">${t('ops.live.heat_demand')}</option><option value="open">${t('ops.live.heat_open')}</option>
              <option value="supply">${t('ops.live.heat_supply')}</option><option value="off">${t('ops.live.heat_off')}</option></select></div>
            <label class="check"><input type="checkbox" id="show-drivers" checked> ${t('ops.live.show_drivers')}</label>
            <label class="check"><input type="checkbox" id="show-rides" checked> ${t('ops.live.show_rides')}</label>
          </div>
          <div id="live-map" class="opsmap"></div>
          <ul class="legend" aria-label="${t('ops.live.map_legend')}">
            <li><span class="dot" style="background:#0a8f44"></span>${t('ops.legend.available')}</li>
            <li><span class="dot" style="background:#d4a000"></span>${t('ops.legend.offered')}</li>
            <li><span class="dot" style="background:#e65100"></span>${t('ops.legend.to_pickup')}</li>
            <li><span class="dot" style="background:#1e4fd8"></span>${t('ops.legend.on_trip')}</li>
            <li><span class="dot" style="background:#fff;border:2px solid #616161"></span>${t('ops.legend.stale')}</li>
            <li><span class="dot" style="background:#c2185b;border-radius:2px"></span>${t('ops.legend.waiting')}</li>
            <li><span class="dot" style="background:#e65100;border-radius:2px"></span>${t('ops.legend.assigned')}</li>
            <li><span class="dot" style="background:#5e35b1;border-radius:2px"></span>${t('ops.legend.ride_on_trip')}</li>
          </ul>
          <p class="hint" id="heat-legend"></p>
        </section>
        <div class="side">
          <section class="card" aria-labelledby="food-title"><h2 id="food-title">${t('ops.food.title')}</h2><div id="food-tile"></div></section>
          <section class="card chart" aria-labelledby="c1"><h2 id="c1">${t('ops.chart.rides')}</h2><div id="chart-rides"></div>
            <ul class="legend"><li><span class="dot" style="background:#c2185b"></span>${t('ops.chart.requested')}</li><li><span class="dot" style="background:#0a7a3d"></span>${t('ops.chart.completed')}</li><li><span class="dot" style="background:#8a5300"></span>${t('ops.chart.cancelled')}</li></ul></section>
          <section class="card chart" aria-labelledby="c2"><h2 id="c2">${t('ops.chart.gross')}</h2><div id="chart-gross"></div></section>
          <section class="card" aria-labelledby="open-title"><h2 id="open-title">${t('console.open_list')} <span class="badge" id="open-count">0</span></h2>
            <ul class="open-list" id="open-list"></ul></section>
          <section class="card" aria-labelledby="zones-title"><h2 id="zones-title">${t('ops.live.busiest')}</h2><div id="zone-table"></div></section>
        </div>
      </div>`.toString();
    liveMap = new CityMap($('#live-map', liveEl), {
      label: t('ops.live.map_label'),
      onMarker: (id) => {
        if (id.startsWith('r:')) location.hash = `#/rides/${id.slice(2)}`;
      },
    });
    $('#heat', liveEl).value = prefs.heat;
    $('#heat', liveEl).addEventListener('change', (e) => {
      prefs.heat = e.target.value;
      drawHeat();
    });
    $('#show-drivers', liveEl).addEventListener('change', (e) => {
      prefs.showDrivers = e.target.checked;
      liveMap.pruneMarkers((id) => !id.startsWith('d:'));
      drawAllMarkers();
    });
    $('#show-rides', liveEl).addEventListener('change', (e) => {
      prefs.showRides = e.target.checked;
      liveMap.pruneMarkers((id) => !id.startsWith('r:'));
      drawAllMarkers();
    });
    liveMap.ready.then(() => {
      drawAllMarkers();
      drawHeat();
    });
  }
  main.replaceChildren(liveEl);
  renderSide();
}

let sidePending = false;
function scheduleSideRender() {
  if (sidePending) return;
  sidePending = true;
  setTimeout(() => {
    sidePending = false;
    renderSide();
  }, 500);
}

function renderSide() {
  if (!liveEl || !liveEl.isConnected) return;
  const k = kpis;
  const tiles = k
    ? [
        // Waiting + under way = every ride not yet ended (the list beside the map); drivers online counts
        // only drivers heard from lately (stale ones are drawn as stale, not counted).
        [t('console.tile.waiting'), k.waiting_for_driver, 'kpi-open'],
        [t('console.tile.under_way'), k.rides_under_way, 'kpi-under-way'],
        [t('console.tile.online'), `${k.drivers_online}`, 'kpi-online'],
        [t('console.tile.available'), k.drivers_available, 'kpi-available'],
        [t('console.tile.assigned_1min'), fmt.percent(k.assigned_within_1min), 'kpi-assigned'],
        [t('console.tile.eta'), fmt.duration(k.mean_pickup_eta_s), 'kpi-eta'],
        [t('console.tile.completed'), k.completed_last_hour, 'kpi-completed'],
        [t('console.tile.cancelled'), html`${k.cancelled_last_hour} <small>${t('console.tile.no_driver', { count: k.no_driver_last_hour })}</small>`, 'kpi-cancelled'],
        [t('console.tile.gross'), fmt.money(k.gross_last_hour), 'kpi-gross'],
        [t('console.tile.revenue'), fmt.money(k.revenue_last_hour), 'kpi-revenue'],
      ]
    : [];
  render($('#kpis', liveEl), k ? tiles.map(([label, v, id]) => html`<li class="kpi" id="${id}"><span class="v">${v}</span><span class="k">${label}</span></li>`) : html`<li class="loading">${t('ops.live.loading_kpis')}</li>`);
  renderFoodTile($('#food-tile', liveEl));
  if (k) {
    render($('#chart-rides', liveEl), lineChart(k.series, ['requested', 'completed', 'cancelled'], t('ops.chart.rides_label')));
    render($('#chart-gross', liveEl), barChart(k.series, 'gross', t('ops.chart.gross_label'), k.gross_last_hour.currency));
  }
  const rides = [...openRides.values()].sort((a, b) => b.requested_at.localeCompare(a.requested_at));
  $('#open-count', liveEl).textContent = String(rides.length);
  render($('#open-list', liveEl), rides.length
    ? rides.slice(0, 100).map((r) => html`<li data-ride="${r.ride_id}"><a href="#/rides/${r.ride_id}">…${fmt.shortId(r.ride_id)} · ${zoneName(r.pickup)}</a>
      <span class="badge ${r.state === 'requested' ? 'bad' : 'info'}">${fmt.rideState(r.state)}</span></li>`)
    : html`<li class="muted">${t('ops.live.no_open')}</li>`);
  const top = [...zoneStats.values()].sort((a, b) => b.requests_last_hour - a.requests_last_hour || b.open_requests - a.open_requests).slice(0, 8);
  render($('#zone-table', liveEl), top.length
    ? html`<table><thead><tr><th scope="col">${t('ops.zones.zone')}</th><th scope="col" class="num">${t('ops.zones.req_h')}</th><th scope="col" class="num">${t('ops.zones.open')}</th><th scope="col" class="num">${t('ops.zones.available')}</th></tr></thead>
      <tbody>${top.map((s) => html`<tr><td>${s.name}</td><td class="num">${s.requests_last_hour}</td><td class="num">${s.open_requests}</td><td class="num">${s.available_drivers}</td></tr>`)}</tbody></table>`
    : html`<p class="loading">${t('ops.zones.loading')}</p>`);
}

function zoneName(p) {
  return placeName(zones, p);
}

// ---- charts (SVG)

const W = 460, H = 150, PAD = { l: 34, r: 8, t: 8, b: 22 };

function axes(series, max, fmtY) {
  const x0 = PAD.l, y0 = H - PAD.b;
  const ticks = [0, max / 2, max];
  return html`${ticks.map((t) => {
    const y = y0 - (t / max) * (H - PAD.t - PAD.b);
    return html`<line class="grid" x1="${x0}" x2="${W - PAD.r}" y1="${y}" y2="${y}"></line><text x="${x0 - 4}" y="${y + 4}" text-anchor="end">${fmtY(t)}</text>`;
  })}<line class="axis" x1="${x0}" x2="${W - PAD.r}" y1="${y0}" y2="${y0}"></line>
  ${series.length ? html`<text x="${x0}" y="${H - 6}">${fmt.shortTime(series[0].start)}</text><text x="${W - PAD.r}" y="${H - 6}" text-anchor="end">${fmt.shortTime(series[series.length - 1].start)}</text>` : ''}`;
}

function lineChart(series, keys, title) {
  const max = Math.max(4, ...series.flatMap((s) => keys.map((k) => s[k])));
  const n = Math.max(1, series.length - 1);
  const x = (i) => PAD.l + (i / n) * (W - PAD.l - PAD.r);
  const y = (v) => H - PAD.b - (v / max) * (H - PAD.t - PAD.b);
  const last = series[series.length - 1] || {};
  return html`<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${t('ops.chart.last5', { title, values: keys.map((k) => t('ops.chart.value', { count: last[k] ?? 0, series: t(`ops.chart.series.${k}`) })).join(', ') })}">
    ${axes(series, max, (t) => Math.round(t))}
    ${keys.map((k) => html`<polyline class="s-${k}" points="${series.map((s, i) => `${x(i).toFixed(1)},${y(s[k]).toFixed(1)}`).join(' ')}"></polyline>`)}
  </svg>`;
}

function barChart(series, key, title, currency) {
  const max = Math.max(1000, ...series.map((s) => s[key]));
  const bw = (W - PAD.l - PAD.r) / Math.max(1, series.length);
  const total = series.reduce((a, s) => a + s[key], 0);
  return html`<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${t('ops.chart.total', { title, total: fmt.money({ amount: total, currency }) })}">
    ${axes(series, max, (t) => fmt.money({ amount: Math.round(t), currency }).replace(/\.00$/, ''))}
    ${series.map((s, i) => {
      const h = (s[key] / max) * (H - PAD.t - PAD.b);
      return html`<rect class="bar" x="${(PAD.l + i * bw + 1).toFixed(1)}" y="${(H - PAD.b - h).toFixed(1)}" width="${Math.max(1, bw - 2).toFixed(1)}" height="${h.toFixed(1)}"><title>${fmt.shortTime(s.start)}: ${fmt.money({ amount: s[key], currency })}</title></rect>`;
    })}
  </svg>`;
}

// ---- rides table

const STATES = ['requested', 'driver_assigned', 'driver_arrived', 'in_progress', 'completed', 'cancelled', 'no_driver_available'];
const search = { q: '', state: '' };
let searchTimer = null;

function ridesPage() {
  setNav('rides');
  render(main, html`<h1>${t('ops.rides.title')}</h1>
    <form class="filters" id="ride-filters" role="search">
      <div><label for="q">${t('ops.rides.search')}</label><input id="q" type="search" value="${search.q}" placeholder="${t('ops.rides.placeholder')}"></div>
      <div><label for="state">${t('ops.rides.state')}</label><select id="state"><option value="">${t('ops.rides.any_state')}</option>
        ${STATES.map((s) => html`<option value="${s}" ${search.state === s ? 'selected' : ''}>${fmt.rideState(s)}</option>`)}</select></div>
    </form>
    <p role="status" id="rides-status" class="muted"></p>
    <div class="table-wrap" id="rides-table"><p class="loading">${t('ops.rides.loading')}</p></div>`);
  $('#ride-filters').addEventListener('submit', (e) => e.preventDefault());
  $('#q').addEventListener('input', (e) => {
    search.q = e.target.value.trim();
    clearTimeout(searchTimer);
    searchTimer = setTimeout(loadRides, 300);
  });
  $('#state').addEventListener('change', (e) => {
    search.state = e.target.value;
    loadRides();
  });
  focusHeading(main);
  loadRides();
}

async function loadRides() {
  const params = new URLSearchParams({ limit: '100' });
  if (search.q) params.set('q', search.q);
  if (search.state) params.set('state', search.state);
  const table = $('#rides-table');
  if (!table) return;
  try {
    const { rides } = await api.get(`/v1/admin/rides?${params}`);
    await loadNames(rides.flatMap((r) => [r.rider_id, r.driver_id]));
    if (!table.isConnected) return;
    $('#rides-status').textContent = t(rides.length === 100 ? 'ops.rides.count_more' : 'ops.rides.count', { count: rides.length });
    render(table, html`<table><caption class="visually-hidden">${t('ops.rides.caption')}</caption>
      <thead><tr><th scope="col">${t('ops.rides.ride')}</th><th scope="col">${t('ops.rides.state')}</th><th scope="col">${t('ops.rides.requested')}</th><th scope="col">${t('ops.rides.pickup')}</th><th scope="col">${t('ops.rides.dropoff')}</th>
      <th scope="col" class="num">${t('ops.rides.fare')}</th><th scope="col" class="num">${t('ops.rides.surge')}</th><th scope="col">${t('console.rider')}</th><th scope="col">${t('console.driver')}</th></tr></thead>
      <tbody>${rides.map((r) => html`<tr data-ride="${r.ride_id}"><td><a href="#/rides/${r.ride_id}">…${fmt.shortId(r.ride_id)}</a></td>
        <td>${fmt.rideState(r.state)}</td><td>${fmt.time(r.requested_at)}</td><td>${zoneName(r.pickup)}</td><td>${zoneName(r.dropoff)}</td>
        <td class="num">${fmt.money(r.final_fare || r.fare)}</td><td class="num">×${r.surge_multiplier.toFixed(2)}</td><td>${personLink(r.rider_id)}</td><td>${personLink(r.driver_id)}</td></tr>`)}</tbody></table>`);
  } catch (e) {
    if (table.isConnected) render(table, html`<p class="error" role="alert">${errorText(e)}</p>`);
  }
}

// ---- one ride

async function ridePage(id, quiet = false) {
  setNav('rides');
  rideOnPage = id;
  if (!quiet) render(main, html`<p><a href="#/rides">${t('ops.ride.back')}</a></p><h1>${t('ops.ride.title', { id: fmt.shortId(id) })}</h1><p class="loading">${t('ops.ride.loading')}</p>`);
  try {
    const [r, ev] = await Promise.all([api.get(`/v1/rides/${id}`), api.get(`/v1/rides/${id}/events`)]);
    await loadNames([r.rider_id, r.driver_id, ...ev.events.map((e) => e.driver)]);
    if (rideOnPage !== id) return;
    render(main, html`<p><a href="#/rides">${t('ops.ride.back')}</a></p>
      <h1>${t('ops.ride.title', { id: fmt.shortId(id) })} <span class="badge" id="ride-page-state" data-state="${r.state}">${fmt.rideState(r.state)}</span></h1>
      <p class="muted">${r.ride_id}</p>
      <div class="ride-page">
        <div>
          <div id="ride-map" class="ridemap"></div>
          <section class="card" aria-labelledby="people"><h2 id="people">${t('ops.ride.details')}</h2>
            <dl class="kv"><dt>${t('console.rider')}</dt><dd id="ride-rider">${personLink(r.rider_id)}</dd><dt>${t('console.driver')}</dt><dd id="ride-driver">${personLink(r.driver_id)}</dd>
            <dt>${t('ops.rides.pickup')}</dt><dd>${zoneName(r.pickup)}</dd><dt>${t('ops.rides.dropoff')}</dt><dd>${zoneName(r.dropoff)}</dd>
            <dt>${t('ops.ride.eta')}</dt><dd>${fmt.duration(r.pickup_eta_s)}</dd>
            ${r.no_driver_reason ? html`<dt>${t('ops.ride.no_driver')}</dt><dd>${reasonText(r.no_driver_reason)}</dd>` : ''}
            ${r.cancel_fee ? html`<dt>${t('ops.ride.cancel_fee')}</dt><dd>${fmt.money(r.cancel_fee)}</dd>` : ''}</dl></section>
        </div>
        <div>
          <section class="card" aria-labelledby="price"><h2 id="price">${t('ops.ride.price')}</h2>
            <h3>${t('ops.ride.quoted')} ${r.surge_multiplier > 1.0001 ? html`<span class="badge warn">${t('ops.ride.surge', { multiplier: r.surge_multiplier.toFixed(2) })}</span>` : ''}</h3>
            ${lines(r.breakdown, r.fare)}
            ${r.final_breakdown ? html`<h3>${t('ops.ride.final')}</h3>${lines(r.final_breakdown, r.final_fare)}` : ''}</section>
          <section class="card" aria-labelledby="tl"><h2 id="tl">${t('ops.ride.timeline')}</h2>
            <ol class="timeline" id="timeline">${ev.events.map((e) => html`<li data-type="${e.type}"><time datetime="${e.at}">${fmt.time(e.at)}</time><br>${describe(e)}</li>`)}</ol></section>
        </div>
      </div>
      <div class="ride-page" id="ride-console"></div>`);
    rideConsole($('#ride-console'), r).catch((e) => {
      const el = $('#ride-console');
      if (el) render(el, html`<p class="error" role="alert">${errorText(e)}</p>`);
    });
    const m = new CityMap($('#ride-map'), { label: t('ops.ride.map_label') });
    m.setMarker('pickup', { ...r.pickup, kind: 'pickup', label: t('ops.rides.pickup') });
    m.setMarker('dropoff', { ...r.dropoff, kind: 'dropoff', label: t('ops.rides.dropoff') });
    routeLine(api, m, 'trip', r.pickup, r.dropoff);
    m.ready.then(() => m.fitPoints([r.pickup, r.dropoff], 120));
    if (!quiet) focusHeading(main);
  } catch (e) {
    render(main, html`<p><a href="#/rides">${t('ops.ride.back')}</a></p><h1>${t('ops.ride.title', { id: fmt.shortId(id) })}</h1><p class="error" role="alert">${errorText(e)}</p>`);
  }
}

function lines(ls, total) {
  return html`<table class="lines"><tbody>${ls.map((l) => html`<tr><td>${fmt.lineKind(l.kind)}</td><td>${fmt.money(l.amount)}</td></tr>`)}
    <tr class="total"><td>${t('ops.ride.total')}</td><td>${fmt.money(total)}</td></tr></tbody></table>`;
}

function reasonText(reason) {
  const r = String(reason || '');
  return tOr(`ops.reason.${r}`, r.replace(/_/g, ' '));
}

function describe(e) {
  const who = (id) => (id ? personName(id) : '');
  switch (e.type) {
    case 'requested': return t('ops.event.requested', { fare: fmt.money(e.fare) });
    case 'offered': return t('ops.event.offered', { driver: who(e.driver), eta: fmt.duration(e.pickup_eta_s), until: fmt.time(e.expires_at) });
    case 'driver_assigned': return t('ops.event.driver_assigned', { driver: who(e.driver), eta: fmt.duration(e.pickup_eta_s) });
    case 'driver_arrived': return t('ops.event.driver_arrived');
    case 'started': return t('ops.event.started');
    case 'completed': return t('ops.event.completed', { fare: fmt.money(e.fare) });
    case 'cancelled': {
      const by = tOr(`common.role.${e.by}`, e.by);
      return e.fee ? t('ops.event.cancelled_fee', { by, fee: fmt.money(e.fee) }) : t('ops.event.cancelled', { by });
    }
    case 'driver_cancelled': return t('ops.event.driver_cancelled', { driver: who(e.driver) });
    case 'no_driver_available': return t('ops.event.no_driver_available', { reason: reasonText(e.reason) });
    case 'pin_attempt_failed': return t('ops.event.pin_attempt_failed', { count: e.attempts_left });
    case 'pin_locked': return t('ops.event.pin_locked');
    case 'pin_reissued': return t('ops.event.pin_reissued');
    case 'message_sent': return html`${t(e.sender === 'customer' ? 'whocoming.ops_message_rider' : 'whocoming.ops_message_driver', { text: e.text })}`;
    default: return html`${e.type}`;
  }
}

if (api.session) start();
else showAuth();
