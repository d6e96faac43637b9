// The city map of every app: an offline street map of Manhattan drawn on a canvas (water, land, parks,
// streets by class, from `/assets/basemap/*.json`, which the server builds from `data/manhattan-streets`),
// under an SVG layer for what the apps put on it (markers, lines, zone heat fills) and for the street and
// park names. Projection: equirectangular (x scaled by the cosine of the mid latitude) fitted to the taxi
// zones' bounding box, SIZE units across the longer side. Markers and names keep their screen size at any
// zoom. Pan/zoom by drag, pinch, wheel, buttons and keyboard; tap to pick a point.
//
// Why a canvas for the streets: the 8,000 street segments (1,700 joined lines, 20,000 points) are cut
// into square tiles with one Path2D per road class, so a frame strokes only the tiles in view; during a
// drag or pinch the last bitmap is moved by a CSS transform (compositor work) and the map is drawn again
// when the view rests. The same map as SVG paths is re-rasterised by the browser on every viewBox change:
// in headless Chromium at 390x844 it panned at 24 ms a frame (p95 52) against 17 ms for the canvas
// (e2e/tests/map.test.mjs prints the times on each run).
// Only the base layer (land, parks, major roads) is loaded at first; the minor streets are loaded when
// the map is zoomed in far enough to draw them.
//
// Street data © OpenStreetMap contributors (ODbL): the attribution line is always shown on the map.
// Nothing is fetched from another host.

import { t, addMessages } from './i18n.js';
import messages from './messages/map.js';

addMessages(messages);

const SVG = 'http://www.w3.org/2000/svg';
const SIZE = 1000; // projected units across the longer side of the city

// The taxi zones' bounding box: the map's frame (fixed, so that the map draws before any data arrives).
const BOX = { minLng: -74.019343, maxLng: -73.910429, minLat: 40.699774, maxLat: 40.877621 };
const KX = Math.cos((((BOX.minLat + BOX.maxLat) / 2) * Math.PI) / 180);
const SCALE = SIZE / Math.max((BOX.maxLng - BOX.minLng) * KX, BOX.maxLat - BOX.minLat);
const FULL = {
  x: -10,
  y: -10,
  w: (BOX.maxLng - BOX.minLng) * KX * SCALE + 20,
  h: (BOX.maxLat - BOX.minLat) * SCALE + 20,
};

/** Projected map units of a point. */
export function project({ lat, lng }) {
  return [(lng - BOX.minLng) * KX * SCALE, (BOX.maxLat - lat) * SCALE];
}

function unprojectXY(x, y) {
  return { lat: BOX.maxLat - y / SCALE, lng: BOX.minLng + x / SCALE / KX };
}

let zonesPromise = null;

/** The zones, loaded once per page: [{zone_id, name, rings: [[[lng,lat],...],...], centroid: {lat,lng}}]. */
export function loadZones() {
  if (!zonesPromise) {
    zonesPromise = fetch('/assets/zones.wgs84.geojson')
      .then((r) => {
        if (!r.ok) throw new Error(`zones: HTTP ${r.status}`);
        return r.json();
      })
      .then((gj) =>
        gj.features.map((f) => {
          const polys = f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates;
          const rings = polys.flat();
          return {
            zone_id: f.properties.zone_id,
            name: f.properties.zone_name,
            polys,
            rings,
            centroid: insidePoint(polys),
          };
        }),
      );
  }
  return zonesPromise;
}

function ringArea(r) {
  let a = 0;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) a += (r[j][0] + r[i][0]) * (r[j][1] - r[i][1]);
  return Math.abs(a / 2);
}

function pointInRing(x, y, r) {
  let inside = false;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
    const [xi, yi] = r[i];
    const [xj, yj] = r[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function pointInPolys(lng, lat, polys) {
  return polys.some((p) => pointInRing(lng, lat, p[0]) && !p.slice(1).some((h) => pointInRing(lng, lat, h)));
}

// A point well inside the zone's largest polygon: the middle of the widest inside span of a horizontal
// line through the vertex-average latitude (a centroid can fall outside a concave zone).
function insidePoint(polys) {
  const main = polys.reduce((a, b) => (ringArea(b[0]) > ringArea(a[0]) ? b : a));
  const outer = main[0];
  const lat = outer.reduce((s, p) => s + p[1], 0) / outer.length;
  const xs = [];
  for (const ring of main) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i];
      const [xj, yj] = ring[j];
      if (yi > lat !== yj > lat) xs.push(xi + ((lat - yi) * (xj - xi)) / (yj - yi));
    }
  }
  xs.sort((a, b) => a - b);
  let best = null;
  for (let i = 0; i + 1 < xs.length; i += 2) {
    if (!best || xs[i + 1] - xs[i] > best[1] - best[0]) best = [xs[i], xs[i + 1]];
  }
  const lng = best ? (best[0] + best[1]) / 2 : outer.reduce((s, p) => s + p[0], 0) / outer.length;
  return { lat: Math.round(lat * 1e6) / 1e6, lng: Math.round(lng * 1e6) / 1e6 };
}

/** The zone containing a point, or null. */
export function zoneAt(zones, lat, lng) {
  return zones.find((z) => pointInPolys(lng, lat, z.polys)) || null;
}

/** The name of the zone containing a point, else of the zone whose centre is nearest (points on a pier or a shore). */
export function placeName(zones, p) {
  if (!p || !zones || !zones.length) return '—';
  const z = zoneAt(zones, p.lat, p.lng);
  if (z) return z.name;
  let best = zones[0];
  for (const c of zones) if (metres(c.centroid, p) < metres(best.centroid, p)) best = c;
  return best.name;
}

/** Great-circle distance in metres. */
export function metres(a, b) {
  const R = 6371000;
  const toRad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * toRad;
  const dLng = (b.lng - a.lng) * toRad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * toRad) * Math.cos(b.lat * toRad) * Math.sin(dLng / 2) ** 2;
  return 2 * R * Math.asin(Math.sqrt(h));
}

/** Initial bearing from a to b in degrees clockwise from north (0..360). */
export function bearing(a, b) {
  const toRad = Math.PI / 180;
  const y = Math.sin((b.lng - a.lng) * toRad) * Math.cos(b.lat * toRad);
  const x =
    Math.cos(a.lat * toRad) * Math.sin(b.lat * toRad) -
    Math.sin(a.lat * toRad) * Math.cos(b.lat * toRad) * Math.cos((b.lng - a.lng) * toRad);
  return ((Math.atan2(y, x) * 180) / Math.PI + 360) % 360;
}

// ---- the street map's data

// Road classes: drawing order (minor first, so major roads lie on top), width in screen pixels at the
// whole-city view, fill and casing colours, and label priority (lower first).
const ROADS = {
  living_street: { order: 0, w: 1.1, fill: '#ffffff', casing: '#d3cdbf', label: 5 },
  residential: { order: 1, w: 1.2, fill: '#ffffff', casing: '#cbc4b5', label: 4 },
  unclassified: { order: 1, w: 1.2, fill: '#ffffff', casing: '#cbc4b5', label: 4 },
  tertiary: { order: 2, w: 1.5, fill: '#ffffff', casing: '#bdb5a4', label: 3 },
  secondary_link: { order: 3, w: 1.4, fill: '#fff6d8', casing: '#b7a77a', label: 9 },
  secondary: { order: 4, w: 1.9, fill: '#fff6d8', casing: '#b7a77a', label: 2 },
  primary_link: { order: 5, w: 1.6, fill: '#fcdc8f', casing: '#c49a3d', label: 9 },
  primary: { order: 6, w: 2.3, fill: '#fcdc8f', casing: '#c49a3d', label: 1 },
  trunk_link: { order: 7, w: 1.6, fill: '#f6b96b', casing: '#b5782c', label: 9 },
  trunk: { order: 8, w: 2.6, fill: '#f6b96b', casing: '#b5782c', label: 0 },
  motorway_link: { order: 9, w: 1.7, fill: '#ec9a56', casing: '#a8622a', label: 9 },
  motorway: { order: 10, w: 3, fill: '#ec9a56', casing: '#a8622a', label: 0 },
};
const ROAD_DEFAULT = ROADS.residential;
const COLOURS = { water: '#aad3df', land: '#f3f0ea', park: '#c6e5b0', parkEdge: '#a4cf8a' };
/** Zoom level (log2 of the scale over the whole-city view) from which minor streets are drawn and named. */
const DETAIL_Z = 1.6;
/** Zoom level from which major roads are named. */
const LABEL_Z = 1.2;
const PARK_LABEL_KINDS = new Set(['park', 'garden', 'recreation_ground', 'dog_park', 'playground', 'park (NTA 2020 open-space area)']);

const layers = new Map(); // 'base' | 'detail' -> Promise of the decoded layer

// Decodes `[x, y, dx, dy, ...]` (1e-5 degree from the layer's origin) into projected map units.
function decodeLine(layer, coords) {
  const out = new Float32Array(coords.length);
  let x = 0;
  let y = 0;
  for (let i = 0; i < coords.length; i += 2) {
    x += coords[i];
    y += coords[i + 1];
    const [px, py] = project({ lng: layer.x0 + x / layer.q, lat: layer.y0 + y / layer.q });
    out[i] = px;
    out[i + 1] = py;
  }
  return out;
}

function pathOf(pts, close) {
  const p = new Path2D();
  addToPath(p, pts, close);
  return p;
}

function addToPath(p, pts, close) {
  p.moveTo(pts[0], pts[1]);
  for (let i = 2; i < pts.length; i += 2) p.lineTo(pts[i], pts[i + 1]);
  if (close) p.closePath();
}

// Straight runs of a line (consecutive steps within ~12° of the run's direction): where a name can sit.
function straightRuns(pts) {
  const runs = [];
  const n = pts.length / 2;
  const dir = (k) => Math.atan2(pts[2 * k + 3] - pts[2 * k + 1], pts[2 * k + 2] - pts[2 * k]);
  let i = 0;
  while (i < n - 1) {
    const a0 = dir(i);
    let j = i + 1;
    while (j < n - 1) {
      let d = Math.abs(dir(j) - a0);
      if (d > Math.PI) d = 2 * Math.PI - d;
      if (d > 0.21) break;
      j += 1;
    }
    runs.push([pts[2 * i], pts[2 * i + 1], pts[2 * j], pts[2 * j + 1]]);
    i = j;
  }
  return runs;
}

// Streets are cut into square tiles of the map so that a frame strokes only the tiles in view: each
// segment goes to the tile of its first point, and a tile's box grows to hold its segments' ends.
const TILE = 40;

function addToTiles(tiles, cls, pts) {
  let tile = null;
  for (let i = 0; i + 3 < pts.length; i += 2) {
    const x = pts[i], y = pts[i + 1], x2 = pts[i + 2], y2 = pts[i + 3];
    const key = `${Math.floor(x / TILE)},${Math.floor(y / TILE)}`;
    let t = tiles.get(key);
    if (!t) tiles.set(key, (t = { box: [Infinity, Infinity, -Infinity, -Infinity], byClass: new Map() }));
    let path = t.byClass.get(cls);
    if (!path) t.byClass.set(cls, (path = new Path2D()));
    if (t !== tile || path !== tile.path) path.moveTo(x, y);
    path.lineTo(x2, y2);
    tile = t;
    tile.path = path;
    const b = t.box;
    b[0] = Math.min(b[0], x, x2); b[1] = Math.min(b[1], y, y2);
    b[2] = Math.max(b[2], x, x2); b[3] = Math.max(b[3], y, y2);
  }
}

function decodeLayer(raw) {
  const layer = { streets: [], tiles: new Map(), parks: [], land: null };
  const classes = new Set();
  for (const [n, c, coords] of raw.streets) {
    const pts = decodeLine(raw, coords);
    const cls = raw.classes[c];
    const name = raw.names[n];
    classes.add(cls);
    addToTiles(layer.tiles, cls, pts);
    if (name) {
      const runs = straightRuns(pts);
      let len = 0;
      for (const r of runs) len += Math.hypot(r[2] - r[0], r[3] - r[1]);
      layer.streets.push({ name, cls, runs, len, rank: (ROADS[cls] || ROAD_DEFAULT).label });
    }
  }
  if (raw.land) {
    layer.land = new Path2D();
    for (const ring of raw.land) addToPath(layer.land, decodeLine(raw, ring), true);
  }
  if (raw.parks) {
    layer.parkPath = new Path2D();
    for (const [name, kind, rings] of raw.parks) {
      const outer = decodeLine(raw, rings[0]);
      addToPath(layer.parkPath, outer, true);
      for (const hole of rings.slice(1)) addToPath(layer.parkPath, decodeLine(raw, hole), true);
      if (name && PARK_LABEL_KINDS.has(kind)) {
        let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
        for (let i = 0; i < outer.length; i += 2) {
          minX = Math.min(minX, outer[i]); maxX = Math.max(maxX, outer[i]);
          minY = Math.min(minY, outer[i + 1]); maxY = Math.max(maxY, outer[i + 1]);
        }
        layer.parks.push({ name, x: (minX + maxX) / 2, y: (minY + maxY) / 2, w: maxX - minX, h: maxY - minY });
      }
    }
    // Biggest parks are named first.
    layer.parks.sort((a, b) => b.w * b.h - a.w * a.h);
  }
  layer.streets.sort((a, b) => a.rank - b.rank || b.len - a.len);
  layer.tiles = [...layer.tiles.values()];
  layer.classes = [...classes].sort((a, b) => (ROADS[a] || ROAD_DEFAULT).order - (ROADS[b] || ROAD_DEFAULT).order);
  return layer;
}

/** A basemap layer ('base' or 'detail'), fetched and decoded once per page. */
export function loadLayer(name) {
  if (!layers.has(name)) {
    layers.set(
      name,
      fetch(`/assets/basemap/${name}.json`)
        .then((r) => {
          if (!r.ok) throw new Error(`basemap: HTTP ${r.status}`);
          return r.json();
        })
        .then(decodeLayer),
    );
  }
  return layers.get(name);
}

// One canvas to measure label widths.
let measurer = null;
const LABEL_FONT = '600 11px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif';
const PARK_FONT = 'italic 600 12px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif';
function textWidth(text, font) {
  if (!measurer) measurer = document.createElement('canvas').getContext('2d');
  measurer.font = font;
  return measurer.measureText(text).width;
}

// Clips segment [x1,y1,x2,y2] to rectangle r (Liang–Barsky); null when outside.
function clip(s, r) {
  let [x1, y1, x2, y2] = s;
  let t0 = 0, t1 = 1;
  const dx = x2 - x1, dy = y2 - y1;
  const edges = [[-dx, x1 - r.x], [dx, r.x + r.w - x1], [-dy, y1 - r.y], [dy, r.y + r.h - y1]];
  for (const [p, q] of edges) {
    if (p === 0) {
      if (q < 0) return null;
    } else {
      const tt = q / p;
      if (p < 0) t0 = Math.max(t0, tt);
      else t1 = Math.min(t1, tt);
    }
  }
  if (t0 > t1) return null;
  return [x1 + t0 * dx, y1 + t0 * dy, x1 + t1 * dx, y1 + t1 * dy];
}

function overlaps(a, list) {
  return list.some((b) => a.x1 < b.x2 && a.x2 > b.x1 && a.y1 < b.y2 && a.y2 > b.y1);
}

export class CityMap {
  /**
   * @param {HTMLElement} container
   * @param {{label?: string, onTap?: (p: {lat:number,lng:number}) => void, onMarker?: (id: string) => void}} opts
   */
  constructor(container, opts = {}) {
    this.opts = opts;
    this.markers = new Map();
    this.lines = new Map();
    this.container = container;
    this.full = { ...FULL };
    this.kx = KX;
    this.scale = SCALE;
    this.stats = { frames: 0, totalMs: 0, maxMs: 0, lastMs: 0 };
    container.classList.add('citymap');
    container.citymap = this; // for tests and the console
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'basemap';
    this.canvas.setAttribute('aria-hidden', 'true');
    this.svg = document.createElementNS(SVG, 'svg');
    this.svg.setAttribute('role', 'img');
    this.svg.setAttribute('aria-label', opts.label || t('map.label'));
    this.svg.setAttribute('preserveAspectRatio', 'xMidYMid meet');
    this.svg.setAttribute('tabindex', '0');
    this.gZones = this.el('g', { class: 'zones' });
    this.gZones.style.display = 'none';
    this.gLabels = this.el('g', { class: 'labels', 'aria-hidden': 'true' });
    this.gLines = this.el('g', { class: 'lines' });
    this.gMarkers = this.el('g', { class: 'markers' });
    this.svg.append(this.gZones, this.gLines, this.gLabels, this.gMarkers);
    const controls = document.createElement('div');
    controls.className = 'map-controls';
    controls.innerHTML =
      `<button type="button" data-z="in" aria-label="${t('map.zoom_in')}">+</button>` +
      `<button type="button" data-z="out" aria-label="${t('map.zoom_out')}">−</button>` +
      `<button type="button" data-z="fit" aria-label="${t('map.fit')}">⤢</button>`;
    controls.addEventListener('click', (e) => {
      const z = e.target.closest('button') && e.target.closest('button').dataset.z;
      if (z === 'in') this.zoomBy(1 / 1.6);
      if (z === 'out') this.zoomBy(1.6);
      if (z === 'fit') this.fit();
    });
    // The OpenStreetMap attribution, always visible on the map (ODbL).
    const attrib = document.createElement('p');
    attrib.className = 'map-attrib';
    attrib.innerHTML = `<a href="https://www.openstreetmap.org/copyright" target="_blank" rel="noopener">${t('map.attribution')}</a>`;
    this.status = document.createElement('p');
    this.status.className = 'map-status';
    this.status.setAttribute('role', 'status');
    this.status.textContent = t('map.loading');
    container.append(this.canvas, this.svg, controls, attrib, this.status);
    this.bindGestures();
    this.fit();
    this.ready = loadLayer('base').then(
      (base) => {
        this.base = base;
        this.status.remove();
        this.redraw(true);
        return this;
      },
      (e) => {
        this.status.textContent = t('map.failed', { error: e.message });
        this.status.classList.add('error');
        throw e;
      },
    );
    // Zones are drawn only as heat fills (see setZoneFill), but loaded at once: the apps use them anyway.
    loadZones().then((zones) => this.drawZones(zones), () => {});
    new ResizeObserver(() => {
      this.resizeCanvas();
      this.drawn = null;
      this.redraw(true);
    }).observe(this.svg);
  }

  el(name, attrs = {}) {
    const e = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    return e;
  }

  drawZones(zones) {
    this.zones = zones;
    this.zonePaths = new Map();
    for (const z of zones) {
      let d = '';
      for (const r of z.rings) {
        d += r.map(([lng, lat], i) => {
          const [x, y] = this.project({ lat, lng });
          return `${i ? 'L' : 'M'}${x.toFixed(1)} ${y.toFixed(1)}`;
        }).join('') + 'Z';
      }
      const p = this.el('path', { d, class: 'zone', 'data-zone': z.zone_id });
      const title = this.el('title');
      title.textContent = z.name;
      p.append(title);
      this.gZones.append(p);
      this.zonePaths.set(z.zone_id, p);
    }
    if (this.pendingFill !== undefined) this.setZoneFill(this.pendingFill);
    if (this.pendingTitle !== undefined) this.setZoneTitle(this.pendingTitle);
  }

  project(p) {
    return project(p);
  }

  unproject(x, y) {
    return unprojectXY(x, y);
  }

  setView(v) {
    // A zoom hides the names until they are placed again for the new scale (a pan keeps them: they move
    // with the map).
    if (this.view && Math.abs(v.w / this.view.w - 1) > 0.02) this.gLabels.style.display = 'none';
    this.view = v;
    this.svg.setAttribute('viewBox', `${v.x} ${v.y} ${v.w} ${v.h}`);
    this.rescaleMarkers();
    this.redraw();
  }

  fit() {
    this.setView({ ...this.full });
  }

  /** Zooms so that the given points are visible with some margin (and at most to street level). */
  fitPoints(points, minSpan = 60) {
    points = points.filter(Boolean);
    if (!points.length) return;
    const xy = points.map((p) => this.project(p));
    let minX = Math.min(...xy.map((p) => p[0])), maxX = Math.max(...xy.map((p) => p[0]));
    let minY = Math.min(...xy.map((p) => p[1])), maxY = Math.max(...xy.map((p) => p[1]));
    const w = Math.max(maxX - minX, minSpan) * 1.5;
    const h = Math.max(maxY - minY, minSpan) * 1.5;
    this.setView({ x: (minX + maxX) / 2 - w / 2, y: (minY + maxY) / 2 - h / 2, w, h });
  }

  zoomBy(f, cx, cy) {
    const v = this.view;
    if (!v) return;
    const w = Math.min(Math.max(v.w * f, 12), this.full.w * 2);
    const ratio = w / v.w;
    const h = v.h * ratio;
    cx = cx ?? v.x + v.w / 2;
    cy = cy ?? v.y + v.h / 2;
    this.setView({ x: cx - (cx - v.x) * ratio, y: cy - (cy - v.y) * ratio, w, h });
  }

  panBy(dx, dy) {
    const v = this.view;
    if (v) this.setView({ ...v, x: v.x + dx, y: v.y + dy });
  }

  // Projected units per screen pixel (the `meet` scale).
  unitsPerPixel() {
    const r = this.svg.getBoundingClientRect();
    if (!this.view || !r.width || !r.height) return 1;
    return Math.max(this.view.w / r.width, this.view.h / r.height);
  }

  /** The zoom level: log2 of the scale over the scale that shows the whole city. */
  zoomLevel() {
    const r = this.svg.getBoundingClientRect();
    if (!this.view || !r.width || !r.height) return 0;
    const s = Math.min(r.width / this.view.w, r.height / this.view.h);
    const s0 = Math.min(r.width / this.full.w, r.height / this.full.h);
    return Math.log2(s / s0);
  }

  /** The map area on screen, in projected units (larger than the view on the side `meet` pads). */
  visibleRect() {
    const r = this.svg.getBoundingClientRect();
    const upp = this.unitsPerPixel();
    const v = this.view;
    const w = r.width * upp, h = r.height * upp;
    return { x: v.x + v.w / 2 - w / 2, y: v.y + v.h / 2 - h / 2, w, h };
  }

  clientToMap(clientX, clientY) {
    const m = this.svg.getScreenCTM();
    if (!m) return null;
    const p = new DOMPoint(clientX, clientY).matrixTransform(m.inverse());
    return [p.x, p.y];
  }

  // ---- the canvas basemap

  resizeCanvas() {
    const r = this.svg.getBoundingClientRect();
    const dpr = Math.min(window.devicePixelRatio || 1, 2);
    const w = Math.round(r.width * dpr), h = Math.round(r.height * dpr);
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    this.dpr = dpr;
  }

  /** Screen pixels per map unit and the offset of the map's origin, for a view (the `meet` fit). */
  screenTransform(v = this.view) {
    const r = this.svg.getBoundingClientRect();
    const s = Math.min(r.width / v.w, r.height / v.h);
    return { s, tx: (r.width - v.w * s) / 2 - v.x * s, ty: (r.height - v.h * s) / 2 - v.y * s };
  }

  /**
   * Keeps the basemap in step with the view. While the view keeps changing (a drag, a pinch, a wheel),
   * the last drawn bitmap is moved and scaled by a CSS transform (work for the compositor, not the
   * main thread), and the map is drawn again once the view rests for 80 ms, or every 300 ms of a long
   * gesture. The first draw, and one after a resize, is at the next frame.
   */
  redraw(now = false) {
    if (this.drawn && this.view && !now) {
      const n = this.screenTransform();
      const k = n.s / this.drawn.s;
      this.canvas.style.transform = `translate(${n.tx - k * this.drawn.tx}px, ${n.ty - k * this.drawn.ty}px) scale(${k})`;
      clearTimeout(this.drawTimer);
      const soon = performance.now() - this.drawnAt > 300;
      this.drawTimer = setTimeout(() => this.redraw(true), soon ? 0 : 80);
    } else if (!this.frame) this.frame = requestAnimationFrame(() => this.draw());
    clearTimeout(this.labelTimer);
    this.labelTimer = setTimeout(() => this.placeLabels(), 120);
  }

  draw() {
    this.frame = null;
    clearTimeout(this.drawTimer);
    const t0 = performance.now();
    const r = this.svg.getBoundingClientRect();
    if (!r.width || !r.height || !this.view) return;
    if (!this.dpr) this.resizeCanvas();
    const ctx = this.canvas.getContext('2d');
    const dpr = this.dpr;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = COLOURS.water;
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.canvas.style.transform = '';
    const base = this.base;
    if (!base) return;
    const v = this.view;
    const { s, tx, ty } = this.screenTransform(v);
    this.drawn = { s, tx, ty };
    this.drawnAt = performance.now();
    ctx.setTransform(s * dpr, 0, 0, s * dpr, tx * dpr, ty * dpr);
    const px = 1 / s; // one screen pixel in map units
    ctx.fillStyle = COLOURS.land;
    ctx.fill(base.land, 'evenodd');
    ctx.fillStyle = COLOURS.park;
    ctx.fill(base.parkPath, 'evenodd');
    const z = this.zoomLevel();
    if (z >= 1.5) {
      ctx.strokeStyle = COLOURS.parkEdge;
      ctx.lineWidth = px;
      ctx.stroke(base.parkPath);
    }
    // Widths grow with the zoom, from thin lines over the whole island to wide streets up close.
    const grow = Math.min(Math.max(2 ** ((z - 1.8) * 0.75), 0.45), 5);
    const drawn = [];
    if (z >= DETAIL_Z) {
      if (this.detail) drawn.push(this.detail);
      else if (!this.detailLoading) {
        this.detailLoading = loadLayer('detail').then((d) => {
          this.detail = d;
          this.redraw(true);
        }, () => {});
      }
    }
    drawn.push(base);
    // Round caps and joins cost a software rasteriser most of a frame over many lines: only up close.
    const round = z >= 3.5;
    ctx.lineCap = round ? 'round' : 'butt';
    ctx.lineJoin = round ? 'round' : 'bevel';
    const casing = z >= 1;
    // Only the tiles in view (with a margin of the widest stroke).
    const vr = this.visibleRect();
    const m = 12 * px;
    const inView = (b) => b[0] <= vr.x + vr.w + m && b[2] >= vr.x - m && b[1] <= vr.y + vr.h + m && b[3] >= vr.y - m;
    for (const layer of drawn) {
      const tiles = layer.tiles.filter((tile) => inView(tile.box));
      const stroke = (cls) => {
        for (const tile of tiles) {
          const path = tile.byClass.get(cls);
          if (path) ctx.stroke(path);
        }
      };
      if (casing)
        for (const cls of layer.classes) {
          const st = ROADS[cls] || ROAD_DEFAULT;
          ctx.strokeStyle = st.casing;
          ctx.lineWidth = (st.w * grow + 1.5) * px;
          stroke(cls);
        }
      for (const cls of layer.classes) {
        const st = ROADS[cls] || ROAD_DEFAULT;
        ctx.strokeStyle = casing ? st.fill : st.casing;
        ctx.lineWidth = st.w * grow * px;
        stroke(cls);
      }
    }
    const ms = performance.now() - t0;
    this.stats.frames += 1;
    this.stats.totalMs += ms;
    this.stats.lastMs = ms;
    this.stats.maxMs = Math.max(this.stats.maxMs, ms);
  }

  /**
   * Names streets and parks in the view (SVG text, hidden from assistive technology: the apps' own
   * controls and texts are the accessible path), largest roads and parks first, never overlapping: a
   * name is placed along a straight run of its street that is long enough on screen, and skipped where
   * it would cover a name already placed or repeat the same name close by.
   */
  placeLabels() {
    this.gLabels.replaceChildren();
    this.gLabels.style.display = '';
    if (!this.base || !this.view) return;
    const z = this.zoomLevel();
    const upp = this.unitsPerPixel();
    const rect = this.visibleRect();
    const placed = [];
    const byName = new Map();
    const max = 70;
    const add = (text, x, y, angle, w, h, cls) => {
      // The rotated label's bounding box, in screen pixels from the rectangle's corner.
      const cos = Math.abs(Math.cos(angle)), sin = Math.abs(Math.sin(angle));
      const bw = w * cos + h * sin, bh = w * sin + h * cos;
      const sx = (x - rect.x) / upp, sy = (y - rect.y) / upp;
      const box = { x1: sx - bw / 2, x2: sx + bw / 2, y1: sy - bh / 2, y2: sy + bh / 2 };
      if (box.x1 < 2 || box.y1 < 2 || box.x2 > rect.w / upp - 50 || box.y2 > rect.h / upp - 24) return false;
      if (overlaps(box, placed)) return false;
      const same = byName.get(text) || [];
      if (same.some(([ox, oy]) => Math.hypot(ox - sx, oy - sy) < 260)) return false;
      placed.push(box);
      same.push([sx, sy]);
      byName.set(text, same);
      const el = this.el('text', { class: cls, 'text-anchor': 'middle', 'dominant-baseline': 'central' });
      el.textContent = text;
      el._x = x;
      el._y = y;
      el._deg = (angle * 180) / Math.PI;
      el.setAttribute('transform', this.labelTransform(el, upp));
      this.gLabels.append(el);
      return true;
    };
    if (z >= 0.6)
      for (const p of this.base.parks) {
        if (placed.length >= max) break;
        const w = textWidth(p.name, PARK_FONT);
        if (p.w / upp < w * 0.8 || p.h / upp < 14) continue;
        if (p.x < rect.x || p.x > rect.x + rect.w || p.y < rect.y || p.y > rect.y + rect.h) continue;
        add(p.name, p.x, p.y, 0, w + 4, 16, 'park');
      }
    if (z >= LABEL_Z) {
      const streets = z >= DETAIL_Z && this.detail ? [...this.base.streets, ...this.detail.streets] : this.base.streets;
      if (streets !== this.base.streets) streets.sort((a, b) => a.rank - b.rank || b.len - a.len);
      for (const s of streets) {
        if (placed.length >= max) break;
        if (s.rank > 5 && z < DETAIL_Z) continue;
        const w = textWidth(s.name, LABEL_FONT) + 8;
        // Straight runs of this street inside the view, longest first; on each, a few places along it
        // (the middle first) until one is free.
        const runs = [];
        for (const run of s.runs) {
          const c = clip(run, rect);
          if (!c) continue;
          const len = Math.hypot(c[2] - c[0], c[3] - c[1]) / upp;
          if (len >= w + 16) runs.push([len, c]);
        }
        runs.sort((a, b) => b[0] - a[0]);
        placing: for (const [len, c] of runs.slice(0, 4)) {
          let angle = Math.atan2(c[3] - c[1], c[2] - c[0]);
          if (angle > Math.PI / 2) angle -= Math.PI;
          if (angle < -Math.PI / 2) angle += Math.PI;
          for (const f of [0.5, 0.3, 0.7, 0.15, 0.85]) {
            if (f * len < w / 2 + 4 || (1 - f) * len < w / 2 + 4) continue;
            if (add(s.name, c[0] + (c[2] - c[0]) * f, c[1] + (c[3] - c[1]) * f, angle, w, 14, `street r${s.rank}`)) break placing;
          }
        }
      }
    }
  }

  labelTransform(el, upp) {
    return `translate(${el._x} ${el._y}) rotate(${el._deg}) scale(${upp})`;
  }

  // ---- gestures

  bindGestures() {
    let drag = null;
    let pinch = null;
    const touches = new Map();
    const spread = () => {
      const [a, b] = [...touches.values()];
      return { d: Math.hypot(a.x - b.x, a.y - b.y), x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
    };
    this.svg.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      touches.set(e.pointerId, { x: e.clientX, y: e.clientY });
      if (touches.size === 2) {
        // Two fingers: pinch to zoom (and no tap).
        drag = null;
        pinch = spread();
        return;
      }
      drag = { id: e.pointerId, x: e.clientX, y: e.clientY, moved: false, upp: this.unitsPerPixel() };
    });
    this.svg.addEventListener('pointermove', (e) => {
      if (touches.has(e.pointerId)) touches.set(e.pointerId, { x: e.clientX, y: e.clientY });
      if (pinch && touches.size === 2) {
        const now = spread();
        if (now.d > 10 && pinch.d > 10) {
          const c = this.clientToMap(now.x, now.y);
          this.zoomBy(pinch.d / now.d, c && c[0], c && c[1]);
        }
        pinch = now;
        return;
      }
      if (!drag || drag.id !== e.pointerId) return;
      const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
      if (!drag.moved && Math.hypot(dx, dy) < 6) return;
      if (!drag.moved) this.svg.setPointerCapture(e.pointerId);
      drag.moved = true;
      this.panBy(-dx * drag.upp, -dy * drag.upp);
      drag.x = e.clientX;
      drag.y = e.clientY;
    });
    const end = (e) => {
      touches.delete(e.pointerId);
      if (touches.size < 2) pinch = null;
      if (!drag || drag.id !== e.pointerId) return;
      const wasTap = !drag.moved;
      drag = null;
      if (!wasTap || e.type === 'pointercancel') return;
      const marker = e.target.closest && e.target.closest('[data-marker]');
      if (marker && this.opts.onMarker) {
        this.opts.onMarker(marker.dataset.marker);
        return;
      }
      if (this.opts.onTap && this.view) {
        const p = this.clientToMap(e.clientX, e.clientY);
        if (p) this.opts.onTap(this.unproject(p[0], p[1]));
      }
    };
    this.svg.addEventListener('pointerup', end);
    this.svg.addEventListener('pointercancel', end);
    this.svg.addEventListener(
      'wheel',
      (e) => {
        e.preventDefault();
        const p = this.clientToMap(e.clientX, e.clientY);
        this.zoomBy(e.deltaY > 0 ? 1.25 : 0.8, p && p[0], p && p[1]);
      },
      { passive: false },
    );
    this.svg.addEventListener('keydown', (e) => {
      const step = (this.view ? this.view.w : 100) / 8;
      const keys = {
        ArrowLeft: () => this.panBy(-step, 0),
        ArrowRight: () => this.panBy(step, 0),
        ArrowUp: () => this.panBy(0, -step),
        ArrowDown: () => this.panBy(0, step),
        '+': () => this.zoomBy(1 / 1.4),
        '=': () => this.zoomBy(1 / 1.4),
        '-': () => this.zoomBy(1.4),
        '0': () => this.fit(),
      };
      if (keys[e.key]) {
        e.preventDefault();
        keys[e.key]();
      }
    });
  }

  // ---- what the apps draw

  /**
   * Adds or moves a marker. `kind` picks its shape and colour (CSS classes `m-<kind>`, plus `s-<status>`).
   * A car (`me`, `car`) shows an arrow of its heading: `heading` in degrees from north when known, else
   * the direction of its last move.
   * @param {string} id
   * @param {{lat:number,lng:number,kind:string,status?:string,label?:string,heading?:number,text?:string}} m
   */
  setMarker(id, m) {
    let g = this.markers.get(id);
    const vehicle = m.kind === 'me' || m.kind === 'car';
    if (!g) {
      g = this.el('g', { 'data-marker': id });
      const shape = m.kind === 'pickup' || m.kind === 'dropoff'
        ? this.el('path', { d: 'M0 0 C -3 -7 -9 -10 -9 -16 A 9 9 0 1 1 9 -16 C 9 -10 3 -7 0 0 Z' })
        : m.kind === 'request'
          ? this.el('path', { d: 'M0 -7 L7 0 L0 7 L-7 0 Z' })
          : this.el('circle', { r: m.kind === 'driver' ? 4.5 : 8 });
      const title = this.el('title');
      if (vehicle) {
        const arrow = this.el('path', { class: 'heading', d: 'M0 -17 L6 -9 L-6 -9 Z' });
        arrow.style.display = 'none';
        g.append(arrow);
      }
      g.append(shape, title);
      if (m.kind === 'pickup' || m.kind === 'dropoff') {
        const text = this.el('text', { x: 0, y: -12, 'text-anchor': 'middle' });
        text.textContent = m.kind === 'pickup' ? 'A' : 'B';
        g.append(text);
      }
      this.gMarkers.append(g);
      this.markers.set(id, g);
      g._first = true;
    }
    if (vehicle) {
      const prev = g._m;
      if (typeof m.heading === 'number' && Number.isFinite(m.heading)) g._heading = m.heading;
      else if (prev && metres(prev, m) > 3) g._heading = bearing(prev, m);
      const arrow = g.querySelector('.heading');
      if (arrow && g._heading !== undefined) {
        arrow.style.display = '';
        arrow.setAttribute('transform', `rotate(${g._heading.toFixed(0)})`);
        g.dataset.heading = g._heading.toFixed(0);
      }
    }
    g.setAttribute('class', `m m-${m.kind}${m.status ? ` s-${m.status}` : ''}`);
    g.querySelector('title').textContent = m.label || m.kind;
    // A stop's letter (A, B), or the text asked for (a delivery's stops are numbered in visiting order).
    const letter = g.querySelector('text');
    if (letter) letter.textContent = m.text || (m.kind === 'pickup' ? 'A' : 'B');
    g._pos = this.project(m);
    g._m = m;
    this.place(g, this.unitsPerPixel());
    if (g._first) {
      g._first = false;
      // Appear in place, then animate later moves.
      requestAnimationFrame(() => g.classList.add('moving'));
    }
  }

  place(g, upp) {
    if (!g._pos) return;
    g.style.transform = `translate(${g._pos[0]}px, ${g._pos[1]}px) scale(${upp})`;
  }

  rescaleMarkers() {
    const upp = this.unitsPerPixel();
    for (const el of this.gLabels.children) el.setAttribute('transform', this.labelTransform(el, upp));
    for (const g of this.markers.values()) {
      g.classList.remove('moving');
      this.place(g, upp);
    }
    requestAnimationFrame(() => {
      for (const g of this.markers.values()) g.classList.add('moving');
    });
    for (const l of this.lines.values()) l.style.strokeWidth = `${3 * upp}px`;
  }

  hasMarker(id) {
    return this.markers.has(id);
  }

  removeMarker(id) {
    const g = this.markers.get(id);
    if (g) g.remove();
    this.markers.delete(id);
  }

  /** Removes markers whose id is not kept by `keep(id)`. */
  pruneMarkers(keep) {
    for (const id of [...this.markers.keys()]) if (!keep(id)) this.removeMarker(id);
  }

  /** Draws a line through points ({lat,lng}); `cls` 'route' (dashed, a straight guess) or 'route routed'
   *  (solid: along the streets). The line's point count is in `data-points`. */
  setLine(id, points, cls = 'route') {
    let l = this.lines.get(id);
    if (!l) {
      l = this.el('polyline');
      this.gLines.append(l);
      this.lines.set(id, l);
    }
    l.setAttribute('class', cls);
    l.dataset.line = id;
    l.dataset.points = String(points.length);
    l.setAttribute('points', points.map((p) => this.project(p).map((v) => v.toFixed(1)).join(',')).join(' '));
    l.style.strokeWidth = `${3 * this.unitsPerPixel()}px`;
  }

  removeLine(id) {
    const l = this.lines.get(id);
    if (l) l.remove();
    this.lines.delete(id);
  }

  /** Fills zones (a heat layer over the streets): `fill(zone_id)` returns a CSS colour or null for none;
   *  `setZoneFill(null)` hides the zones. */
  setZoneFill(fill) {
    if (!this.zonePaths) {
      this.pendingFill = fill;
      return;
    }
    this.gZones.style.display = fill ? '' : 'none';
    for (const [id, p] of this.zonePaths) {
      const c = fill ? fill(id) : null;
      if (c) p.style.fill = c;
      else p.style.removeProperty('fill');
    }
  }

  setZoneTitle(title) {
    if (!this.zonePaths) {
      this.pendingTitle = title;
      return;
    }
    for (const [id, p] of this.zonePaths) {
      const z = this.zones.find((zz) => zz.zone_id === id);
      p.querySelector('title').textContent = title ? title(id) : z.name;
    }
  }
}
