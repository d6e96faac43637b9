// A light SVG map of the city: draws the zone polygons from `/assets/zones.wgs84.geojson` with an
// equirectangular projection (x scaled by cos of the mid latitude) fitted to the zones' bounding box,
// with markers, lines, per-zone fills (heat layers), tap-to-pick, and pan/zoom (drag, wheel, buttons,
// keyboard). Marker sizes stay constant in screen pixels whatever the zoom. Nothing is fetched from
// another host.

const SVG = 'http://www.w3.org/2000/svg';
const SIZE = 1000; // projected units across the longer side of the city

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
    container.classList.add('citymap');
    this.svg = document.createElementNS(SVG, 'svg');
    this.svg.setAttribute('role', 'img');
    this.svg.setAttribute('aria-label', opts.label || 'Map of Manhattan');
    this.svg.setAttribute('preserveAspectRatio', 'xMidYMid meet');
    this.svg.setAttribute('tabindex', '0');
    this.gZones = this.el('g', { class: 'zones' });
    this.gLabels = this.el('g', { class: 'zlabels', 'aria-hidden': 'true' });
    this.gLines = this.el('g', { class: 'lines' });
    this.gMarkers = this.el('g', { class: 'markers' });
    this.svg.append(this.gZones, this.gLabels, this.gLines, this.gMarkers);
    const controls = document.createElement('div');
    controls.className = 'map-controls';
    controls.innerHTML =
      '<button type="button" data-z="in" aria-label="Zoom in">+</button>' +
      '<button type="button" data-z="out" aria-label="Zoom out">−</button>' +
      '<button type="button" data-z="fit" aria-label="Show the whole city">⤢</button>';
    controls.addEventListener('click', (e) => {
      const z = e.target.closest('button') && e.target.closest('button').dataset.z;
      if (z === 'in') this.zoomBy(1 / 1.6);
      if (z === 'out') this.zoomBy(1.6);
      if (z === 'fit') this.fit();
    });
    this.status = document.createElement('p');
    this.status.className = 'map-status';
    this.status.textContent = 'Loading map…';
    container.append(this.svg, controls, this.status);
    this.bindGestures();
    this.ready = loadZones().then(
      (zones) => {
        this.zones = zones;
        this.drawZones();
        this.status.remove();
        return this;
      },
      (e) => {
        this.status.textContent = `The map could not be loaded (${e.message}).`;
        this.status.classList.add('error');
        throw e;
      },
    );
    new ResizeObserver(() => this.rescaleMarkers()).observe(this.svg);
  }

  el(name, attrs = {}) {
    const e = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    return e;
  }

  drawZones() {
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    for (const z of this.zones)
      for (const r of z.rings)
        for (const [x, y] of r) {
          minX = Math.min(minX, x); maxX = Math.max(maxX, x);
          minY = Math.min(minY, y); maxY = Math.max(maxY, y);
        }
    this.kx = Math.cos((((minY + maxY) / 2) * Math.PI) / 180);
    this.lng0 = minX;
    this.lat1 = maxY;
    const w = (maxX - minX) * this.kx;
    const h = maxY - minY;
    this.scale = SIZE / Math.max(w, h);
    this.full = { x: -10, y: -10, w: w * this.scale + 20, h: h * this.scale + 20 };
    this.zonePaths = new Map();
    for (const z of this.zones) {
      let d = '';
      for (const r of z.rings) {
        d += r.map(([lng, lat], i) => {
          const [x, y] = this.project({ lat, lng });
          return `${i ? 'L' : 'M'}${x.toFixed(1)} ${y.toFixed(1)}`;
        }).join('') + 'Z';
      }
      const p = this.el('path', { d, class: 'zone', 'data-zone': z.zone_id });
      const t = this.el('title');
      t.textContent = z.name;
      p.append(t);
      this.gZones.append(p);
      this.zonePaths.set(z.zone_id, p);
      const label = this.el('text', { 'text-anchor': 'middle' });
      label.textContent = z.name;
      label._pos = this.project(z.centroid);
      this.gLabels.append(label);
    }
    this.fit();
  }

  project({ lat, lng }) {
    return [(lng - this.lng0) * this.kx * this.scale, (this.lat1 - lat) * this.scale];
  }

  unproject(x, y) {
    return { lat: this.lat1 - y / this.scale, lng: this.lng0 + x / this.scale / this.kx };
  }

  setView(v) {
    this.view = v;
    this.svg.setAttribute('viewBox', `${v.x} ${v.y} ${v.w} ${v.h}`);
    this.rescaleMarkers();
  }

  fit() {
    if (this.full) this.setView({ ...this.full });
  }

  /** Zooms so that the given points are visible with some margin (and at most to street level). */
  fitPoints(points, minSpan = 60) {
    if (!this.full || !points.length) return;
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
    const w = Math.min(Math.max(v.w * f, 20), this.full.w * 2);
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

  clientToMap(clientX, clientY) {
    const m = this.svg.getScreenCTM();
    if (!m) return null;
    const p = new DOMPoint(clientX, clientY).matrixTransform(m.inverse());
    return [p.x, p.y];
  }

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

  /**
   * Adds or moves a marker. `kind` picks its shape and colour (CSS classes `m-<kind>`, plus `s-<status>`).
   * @param {string} id
   * @param {{lat:number,lng:number,kind:string,status?:string,label?:string}} m
   */
  setMarker(id, m) {
    let g = this.markers.get(id);
    if (!g) {
      g = this.el('g', { 'data-marker': id });
      const shape = m.kind === 'pickup' || m.kind === 'dropoff'
        ? this.el('path', { d: 'M0 0 C -3 -7 -9 -10 -9 -16 A 9 9 0 1 1 9 -16 C 9 -10 3 -7 0 0 Z' })
        : m.kind === 'request'
          ? this.el('path', { d: 'M0 -7 L7 0 L0 7 L-7 0 Z' })
          : this.el('circle', { r: m.kind === 'driver' ? 4.5 : 8 });
      const title = this.el('title');
      g.append(shape, title);
      if (m.kind === 'pickup' || m.kind === 'dropoff') {
        const t = this.el('text', { x: 0, y: -12, 'text-anchor': 'middle' });
        t.textContent = m.kind === 'pickup' ? 'A' : 'B';
        g.append(t);
      }
      this.gMarkers.append(g);
      this.markers.set(id, g);
      g._first = true;
    }
    g.setAttribute('class', `m m-${m.kind}${m.status ? ` s-${m.status}` : ''}`);
    g.querySelector('title').textContent = m.label || m.kind;
    g._pos = this.full ? this.project(m) : null;
    g._m = m;
    this.place(g, this.unitsPerPixel());
    if (g._first) {
      g._first = false;
      // Appear in place, then animate later moves.
      requestAnimationFrame(() => g.classList.add('moving'));
    }
  }

  place(g, upp) {
    if (!g._pos && this.full && g._m) g._pos = this.project(g._m);
    if (!g._pos) return;
    g.style.transform = `translate(${g._pos[0]}px, ${g._pos[1]}px) scale(${upp})`;
  }

  rescaleMarkers() {
    const upp = this.unitsPerPixel();
    // Zone names once zoomed in enough for them to fit, at a constant screen size.
    const width = this.svg.getBoundingClientRect().width * upp;
    const labels = this.view && this.full && width < this.full.w * 0.5;
    this.gLabels.style.display = labels ? '' : 'none';
    if (labels)
      for (const t of this.gLabels.children) t.setAttribute('transform', `translate(${t._pos[0]} ${t._pos[1]}) scale(${upp})`);
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

  setLine(id, points, cls = 'route') {
    if (!this.full) {
      this.ready.then(() => this.setLine(id, points, cls));
      return;
    }
    let l = this.lines.get(id);
    if (!l) {
      l = this.el('polyline');
      this.gLines.append(l);
      this.lines.set(id, l);
    }
    l.setAttribute('class', cls);
    l.setAttribute('points', points.map((p) => this.project(p).map((v) => v.toFixed(1)).join(',')).join(' '));
    l.style.strokeWidth = `${3 * this.unitsPerPixel()}px`;
  }

  removeLine(id) {
    const l = this.lines.get(id);
    if (l) l.remove();
    this.lines.delete(id);
  }

  /** Fills zones: `fill(zone_id)` returns a CSS colour or null for the default. */
  setZoneFill(fill) {
    if (!this.zonePaths) return;
    for (const [id, p] of this.zonePaths) {
      const c = fill ? fill(id) : null;
      if (c) p.style.fill = c;
      else p.style.removeProperty('fill');
    }
  }

  setZoneTitle(title) {
    if (!this.zonePaths) return;
    for (const [id, p] of this.zonePaths) {
      const z = this.zones.find((zz) => zz.zone_id === id);
      p.querySelector('title').textContent = title ? title(id) : z.name;
    }
  }
}
