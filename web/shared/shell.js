// What every page shares around its app, loaded by each index.html beside the app's own module: the
// language switch in the top bar (into the element marked `data-lang-slot`) and, on an installable app
// (a page with a web app manifest), the service worker `/sw.js` registered with the app's own scope
// (`/rider/`, `/driver/`, `/ops/`). See web/sw.js for what it caches (never the API).

import { languageSwitchHtml, bindLanguageSwitch } from './i18n.js';

const slot = document.querySelector('[data-lang-slot]');
if (slot) {
  slot.innerHTML = languageSwitchHtml();
  bindLanguageSwitch(slot);
}

/** The scope of this page's app: its first path segment (`/driver/`), or null off an app. */
function appScope() {
  if (!document.querySelector('link[rel="manifest"]')) return null;
  const first = location.pathname.split('/').filter(Boolean)[0];
  return first ? `/${first}/` : null;
}

/** The same-origin files this page has loaded, for the worker to keep (the API excluded). */
function loadedFiles() {
  return performance
    .getEntriesByType('resource')
    .map((e) => new URL(e.name, location.href))
    .filter((u) => u.origin === location.origin && !u.pathname.startsWith('/v1/'))
    .map((u) => u.origin + u.pathname);
}

async function register(scope) {
  try {
    const reg = await navigator.serviceWorker.register('/sw.js', { scope });
    const worker = reg.active || reg.waiting || reg.installing;
    const send = (w) => w && w.postMessage({ type: 'cache', urls: [location.origin + scope, ...loadedFiles()] });
    if (reg.active) send(reg.active);
    else if (worker)
      worker.addEventListener('statechange', () => {
        if (worker.state === 'activated') send(worker);
      });
  } catch (e) {
    console.warn('service worker', e);
  }
}

const scope = appScope();
if (scope && 'serviceWorker' in navigator) {
  // After the page's own loading, so that registering competes with nothing the user waits for.
  if (document.readyState === 'complete') register(scope);
  else addEventListener('load', () => register(scope), { once: true });
}
