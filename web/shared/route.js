// Routes along the streets: `GET /v1/route` (the server's road graph) drawn on a CityMap, with the
// straight dashed line as the fallback while the answer is on its way, when the server has no such
// endpoint (404), or when the trip cannot be routed (422). Also the hand-off of a stop to the phone's
// own maps app (a link the driver follows; the app fetches nothing from another host).
import { metres } from './map.js';

const cache = new Map(); // "from|to" rounded -> Promise<route | null>
const drawn = new WeakMap(); // map -> Map(id -> {from, to, at, seq})

function key(p) {
  return `${p.lat.toFixed(5)},${p.lng.toFixed(5)}`;
}

/**
 * The route from `from` to `to` ({lat, lng} each): `{distance_m, duration_s, points: [{lat,lng}...]}`, or
 * null when the server cannot route it (no endpoint yet, unroutable, offline). Answers are kept per page.
 */
export function fetchRoute(api, from, to) {
  const k = `${key(from)}|${key(to)}`;
  if (!cache.has(k)) {
    const q = `from_lat=${from.lat}&from_lng=${from.lng}&to_lat=${to.lat}&to_lng=${to.lng}`;
    cache.set(
      k,
      api.get(`/v1/route?${q}`).then(
        (r) =>
          r && Array.isArray(r.points) && r.points.length >= 2
            ? { distance_m: r.distance_m, duration_s: r.duration_s, points: r.points.map(([lng, lat]) => ({ lat, lng })) }
            : null,
        () => null,
      ),
    );
    if (cache.size > 200) cache.delete(cache.keys().next().value);
  }
  return cache.get(k);
}

/**
 * Draws line `id` on `map` from `from` to `to` along the streets. A moving start (a driver's car) is
 * re-routed only when it has moved more than `refreshM` metres from the start of the route drawn, or the
 * destination changed; in between the line stays. Resolves to the route (or null: a straight line).
 */
export async function routeLine(api, map, id, from, to, { refreshM = 120 } = {}) {
  if (!from || !to) return null;
  let lines = drawn.get(map);
  if (!lines) drawn.set(map, (lines = new Map()));
  const last = lines.get(id);
  if (last && map.lines.has(id) && key(last.to) === key(to) && metres(last.from, from) < refreshM) return last.route;
  const seq = (last ? last.seq : 0) + 1;
  const entry = { from, to, seq, route: null };
  lines.set(id, entry);
  // Until the answer comes, the straight guess (unless a routed line to the same place is already shown).
  if (!last || key(last.to) !== key(to) || !map.lines.has(id)) map.setLine(id, [from, to], 'route');
  const route = await fetchRoute(api, from, to);
  if (lines.get(id) !== entry) return route; // a newer request took over
  entry.route = route;
  if (!map.lines.has(id)) return route; // the app removed the line meanwhile
  if (route) map.setLine(id, [from, ...route.points, to], 'route routed');
  else map.setLine(id, [from, to], 'route');
  return route;
}

/** Forgets line `id` (the next routeLine fetches again) and removes it from the map. */
export function clearRoute(map, id) {
  const lines = drawn.get(map);
  if (lines) lines.delete(id);
  map.removeLine(id);
}

/**
 * A link that opens the phone's maps app at a destination: `maps://` on iOS, `geo:` on Android, else
 * Google Maps directions on the web. Only a link: nothing is requested until the driver follows it.
 */
export function navigateUrl(to, label, userAgent = navigator.userAgent) {
  const ll = `${to.lat.toFixed(6)},${to.lng.toFixed(6)}`;
  if (/iPhone|iPad|iPod/i.test(userAgent)) return `maps://?daddr=${ll}`;
  if (/Android/i.test(userAgent)) return `geo:${ll}?q=${ll}(${encodeURIComponent(label || '')})`;
  return `https://www.google.com/maps/dir/?api=1&destination=${ll}`;
}
