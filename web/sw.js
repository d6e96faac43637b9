// The service worker of the installable apps. Each app registers this one script with its own scope
// (`/rider/`, `/driver/`, `/ops/`, `/merchant/`, `/provider/`); the scope says which app a worker serves and names its cache,
// `doorstep-<app>-<VERSION>`.
//
// - The app shell (the app's page, its modules and styles, the shared modules, the icons, the zone
//   GeoJSON) is cached at install and kept fresh: network first, the cached copy when the network fails or
//   is slower than NETWORK_TIMEOUT_MS, so the apps open offline after one visit. The page also posts the
//   URLs it has loaded (`{type: 'cache', urls}`) so that modules missing from the list below are kept too.
// - The API (`/v1/...`) is never cached and never answered from here: those requests go to the network as
//   if there were no worker, so no response and no token is ever stored. Only GETs of this origin are kept.
// - On activate, the app's caches of other versions are deleted.
// - A click on a notification focuses the app's open window (or opens one).

const VERSION = 'v1';
const NETWORK_TIMEOUT_MS = 4000;
const APP = new URL(self.registration.scope).pathname.replace(/^\/|\/$/g, '') || 'root';
const CACHE = `doorstep-${APP}-${VERSION}`;

const SHARED = [
  '/shared/api.js',
  '/shared/events.js',
  '/shared/format.js',
  '/shared/i18n.js',
  '/shared/map.js',
  '/shared/route.js',
  '/shared/places.js',
  '/shared/messages/map.js',
  '/assets/basemap/base.json',
  '/assets/basemap/detail.json',
  '/shared/ui.js',
  '/shared/alerts.js',
  '/shared/shell.js',
  '/shared/messages/common.js',
  '/shared/messages/alerts.js',
  '/shared/contact.js',
  '/shared/contact.css',
  '/shared/messages/whocoming.js',
  '/shared/messages/money.js',
  '/shared/messages/console.js',
  '/shared/messages/rider.js',
  '/shared/messages/ops.js',
  '/shared/messages/driver.js',
  '/shared/messages/merchant.js',
  '/shared/base.css',
  '/assets/zones.wgs84.geojson',
];
const SHELLS = {
  rider: ['/rider/', '/rider/app.js', '/rider/manifest.webmanifest', '/shared/mobile.css'],
  driver: ['/driver/', '/driver/app.js', '/driver/manifest.webmanifest', '/shared/mobile.css'],
  ops: ['/ops/', '/ops/app.js', '/ops/manifest.webmanifest', '/ops/ops.css'],
  merchant: ['/merchant/', '/merchant/app.js', '/merchant/manifest.webmanifest', '/shared/mobile.css', '/merchant/merchant.css'],
  provider: ['/provider/', '/provider/app.js', '/provider/manifest.webmanifest', '/shared/mobile.css', '/provider/provider.css', '/shared/messages/provider.js'],
};
const ICONS = ['192', '512', 'maskable-512'].map((s) => `/shared/icons/${APP}-${s}.png`);

/** Whether a request of a page is part of the shell this worker keeps (never the API). */
function cacheable(url) {
  if (url.origin !== self.location.origin) return false;
  const p = url.pathname;
  if (p.startsWith('/v1/') || p === '/v1') return false;
  return p.startsWith(`/${APP}/`) || p.startsWith('/shared/') || p.startsWith('/assets/');
}

/** The cache key: navigations drop the query (`?lang=zh-CN` is the same page). */
function keyOf(request) {
  const url = new URL(request.url);
  if (request.mode === 'navigate') url.search = '';
  url.hash = '';
  return url.toString();
}

async function keep(cache, key, response) {
  if (response && response.ok && response.type === 'basic' && !response.redirected) {
    await cache.put(key, response);
  }
}

async function precache(urls) {
  const cache = await caches.open(CACHE);
  // One missing file must not stop the others (nor the install).
  await Promise.allSettled(
    urls.map(async (u) => {
      const url = new URL(u, self.location.origin);
      if (!cacheable(url)) return;
      const res = await fetch(new Request(url, { cache: 'no-cache', credentials: 'same-origin' }));
      await keep(cache, url.toString(), res);
    }),
  );
}

self.addEventListener('install', (event) => {
  event.waitUntil(precache([...SHARED, ...(SHELLS[APP] || []), ...ICONS]).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(
        names.filter((n) => n.startsWith(`doorstep-${APP}-`) && n !== CACHE).map((n) => caches.delete(n)),
      );
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('message', (event) => {
  const m = event.data;
  if (m && m.type === 'cache' && Array.isArray(m.urls)) {
    event.waitUntil(
      (async () => {
        const cache = await caches.open(CACHE);
        const missing = [];
        for (const u of m.urls.slice(0, 200)) {
          if (typeof u === 'string' && !(await cache.match(u))) missing.push(u);
        }
        await precache(missing);
      })(),
    );
  }
});

async function networkFirst(event) {
  const { request } = event;
  const cache = await caches.open(CACHE);
  const key = keyOf(request);
  const network = fetch(request).then(async (res) => {
    await keep(cache, key, res.clone());
    return res;
  });
  event.waitUntil(network.catch(() => {}));
  let timer;
  const slow = new Promise((resolve) => {
    timer = setTimeout(resolve, NETWORK_TIMEOUT_MS, null);
  });
  try {
    const res = await Promise.race([network, slow]);
    if (res) return res;
  } catch {
    // offline: the cached copy below
  } finally {
    clearTimeout(timer);
  }
  const cached = await cache.match(key);
  return cached || network;
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (!cacheable(url)) return; // the API and everything else: straight to the network, untouched
  event.respondWith(networkFirst(event));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const target = (event.notification.data && event.notification.data.url) || self.registration.scope;
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      const mine = windows.find((w) => w.url.startsWith(self.registration.scope));
      if (mine) return mine.focus();
      return self.clients.openWindow(target);
    })(),
  );
});
