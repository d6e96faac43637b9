// Address search for the apps: an accessible autocomplete (the ARIA 1.2 combobox pattern: an input with
// role=combobox that owns a listbox of options, arrow keys move the active option through
// aria-activedescendant, Enter picks it, Escape closes the list, then clears the text) over the server's
// offline geocoder (`GET /v1/places/search`), and reverse geocoding for "use my location" and map taps
// (`GET /v1/places/reverse`: the point snapped to the nearest street, or a 422 `in_water` /
// `outside_service_area`). Where the server has no geocoder (404), the search falls back to the taxi
// zones' names, as the apps did before, and a tap is named after its zone.
import { t, addMessages } from './i18n.js';
import messages from './messages/map.js';
import { placeName } from './map.js';

addMessages(messages);

let searchAvailable = null; // null: unknown; then true or false (the endpoint answered 404)

/** Whether the server has the place search (asked once per page). */
export async function hasPlaceSearch(api) {
  if (searchAvailable === null) {
    try {
      await api.get('/v1/places/search?q=a&limit=1');
      searchAvailable = true;
    } catch (e) {
      searchAvailable = !(e.status === 404 || e.status === 405);
    }
  }
  return searchAvailable;
}

function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

/** How precise a result is, in words. */
export function precisionText(r) {
  const m = r.precision_m ? Math.round(r.precision_m) : null;
  switch (r.precision) {
    case 'exact':
    case 'address':
    case 'rooftop':
      return t('places.precision_exact');
    case 'interpolated':
      return t('places.precision_interpolated', { m: m ?? '?' });
    case 'street':
      return t('places.precision_street');
    case 'place':
    case 'poi':
      return m && m > 30 ? t('places.precision_approximate', { m }) : t('places.precision_place');
    default:
      return m ? t('places.precision_approximate', { m }) : '';
  }
}

/** What a failed reverse lookup tells the user (the 422 codes, else a general line). */
export function reverseErrorText(e) {
  if (e && e.code === 'in_water') return t('places.in_water');
  if (e && e.code === 'outside_service_area') return t('places.outside_service_area');
  return t('places.reverse_failed');
}

/**
 * Names a point: `{lat, lng, label}` from the server's reverse geocoder (the point snapped to the street,
 * labelled "Near <address>", a tap being only roughly where the door is), or from the zones where the
 * server has none. Throws the API error (code `in_water`, `outside_service_area`) when the point is refused.
 */
export async function reversePlace(api, p, zones) {
  if ((await hasPlaceSearch(api)) === false) return { lat: p.lat, lng: p.lng, label: t('places.near', { name: placeName(zones, p) }) };
  try {
    const r = await api.get(`/v1/places/reverse?lat=${p.lat.toFixed(6)}&lng=${p.lng.toFixed(6)}`);
    const at = r.snapped && Number.isFinite(r.snapped.lat) ? r.snapped : { lat: r.lat ?? p.lat, lng: r.lng ?? p.lng };
    return { lat: at.lat, lng: at.lng, label: t('places.near', { name: r.label || r.address || placeName(zones, p) }), address: r.address };
  } catch (e) {
    if (e.status === 404 && e.code === 'route_not_found') {
      searchAvailable = false;
      return { lat: p.lat, lng: p.lng, label: t('places.near', { name: placeName(zones, p) }) };
    }
    throw e;
  }
}

/**
 * Makes `input` an address autocomplete; the listbox is created after it. `onPick(result)` receives
 * `{label, address, lat, lng, precision, precision_m}`. `near()` may give a point to rank results by.
 * A `change` of the text (leaving the field, or a test filling it) picks the best match of that text.
 */
export function addressCombobox(input, { api, zones, onPick, onError, near = () => null, label }) {
  const id = input.id;
  const list = document.createElement('ul');
  list.id = `${id}-list`;
  list.className = 'ac-list';
  list.setAttribute('role', 'listbox');
  list.setAttribute('aria-label', label);
  list.hidden = true;
  const status = document.createElement('p');
  status.className = 'visually-hidden';
  status.setAttribute('role', 'status');
  input.after(list, status);
  input.setAttribute('role', 'combobox');
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-expanded', 'false');
  input.setAttribute('aria-controls', list.id);
  input.setAttribute('autocomplete', 'off');
  input.removeAttribute('list');

  let results = [];
  let active = -1;
  let timer = null;
  let seq = 0;
  let pending = null; // the search of the text typed last: Promise<results>
  let picked = input.value; // the text of the last pick (a change to it is no new search)

  const zoneResults = (q) => {
    const s = q.trim().toLowerCase();
    if (!s) return [];
    const exact = zones.filter((z) => z.name.toLowerCase() === s);
    const rest = zones.filter((z) => z.name.toLowerCase() !== s && z.name.toLowerCase().includes(s));
    return [...exact, ...rest].slice(0, 8).map((z) => ({ label: z.name, address: '', kind: 'zone', lat: z.centroid.lat, lng: z.centroid.lng, precision: 'zone' }));
  };

  async function search(q) {
    if (!q.trim()) return [];
    if ((await hasPlaceSearch(api)) === false) return zoneResults(q);
    const p = near();
    const at = p ? `&lat=${p.lat.toFixed(5)}&lng=${p.lng.toFixed(5)}` : '';
    try {
      const r = await api.get(`/v1/places/search?q=${encodeURIComponent(q.trim())}&limit=8${at}`);
      // A taxi zone's name the geocoder does not know ("Midtown Center") still names a place.
      return r.results && r.results.length ? r.results : zoneResults(q);
    } catch (e) {
      if (e.status === 404 && e.code === 'route_not_found') {
        searchAvailable = false;
        return zoneResults(q);
      }
      throw e;
    }
  }

  function close() {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  }

  function show() {
    list.innerHTML = results
      .map((r, i) => {
        const hint = r.kind === 'zone' ? '' : precisionText(r);
        const line = [r.address, hint].filter(Boolean).join(' · ');
        return `<li role="option" id="${id}-opt-${i}" aria-selected="${i === active}" data-i="${i}">
          <span class="ac-label">${esc(r.label)}</span>${line ? `<span class="ac-addr">${esc(line)}</span>` : ''}</li>`;
      })
      .join('');
    const open = results.length > 0 && document.activeElement === input;
    list.hidden = !open;
    input.setAttribute('aria-expanded', String(open));
    if (active >= 0 && open) input.setAttribute('aria-activedescendant', `${id}-opt-${active}`);
    else input.removeAttribute('aria-activedescendant');
  }

  function setActive(i) {
    active = results.length ? (i + results.length) % results.length : -1;
    show();
    const el = document.getElementById(`${id}-opt-${active}`);
    if (el) el.scrollIntoView({ block: 'nearest' });
  }

  function pick(r) {
    if (!r) return;
    picked = r.label;
    input.value = r.label;
    close();
    onPick(r);
  }

  function runSearch() {
    const q = input.value;
    const mine = ++seq;
    pending = search(q).then(
      (res) => {
        if (mine !== seq) return res;
        results = res;
        active = -1;
        show();
        status.textContent = q.trim() ? (res.length ? t('places.results', { n: res.length }) : t('places.no_results', { q: q.trim() })) : '';
        return res;
      },
      (e) => {
        if (mine === seq && onError) onError(e);
        return [];
      },
    );
    return pending;
  }

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(runSearch, 120);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      if (list.hidden && results.length) setActive(0);
      else setActive(active + 1);
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      setActive(active < 0 ? results.length - 1 : active - 1);
    } else if (e.key === 'Enter') {
      if (!list.hidden && results.length) {
        e.preventDefault();
        pick(results[Math.max(active, 0)]);
      }
    } else if (e.key === 'Escape') {
      if (!list.hidden) {
        e.preventDefault();
        close();
      } else if (input.value) {
        e.preventDefault();
        input.value = '';
      }
    }
  });
  input.addEventListener('change', async () => {
    // The text was committed without choosing an option: take the best match of that very text.
    const q = input.value;
    if (!q.trim() || q === picked) return;
    clearTimeout(timer);
    const res = await runSearch();
    if (input.value !== q) return;
    if (res.length) pick(res[0]);
    else if (onError) onError(null, t(searchAvailable === false ? 'places.no_zone' : 'places.no_results', { q: q.trim() }));
  });
  input.addEventListener('blur', () => setTimeout(close, 150));
  input.addEventListener('focus', () => {
    if (results.length && input.value !== picked) show();
  });
  // Pointer: keep the focus in the input, pick on click.
  list.addEventListener('pointerdown', (e) => e.preventDefault());
  list.addEventListener('click', (e) => {
    const li = e.target.closest('[data-i]');
    if (li) pick(results[Number(li.dataset.i)]);
  });
  return {
    close,
    set(text) {
      picked = text;
      input.value = text;
    },
  };
}
