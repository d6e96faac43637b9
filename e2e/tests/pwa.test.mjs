// The apps as installable PWAs, their alerts and their languages, in Chromium against `doorstep demo`:
// each app's manifest (linked, valid, icons of the sizes it says), the service worker (registers, controls
// the page after a reload, the sign-in screen opens offline after one visit, the API never cached), a
// driver account's offer ringing and raising a notification while the page is hidden, and the Chinese
// locale (labels, html lang, the language switch, 0 axe violations).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startDemo, launch, screenshot, PHONE, DESKTOP, PASSWORD, signUp, goOnlineIn, requestRideInApp, cancelRideInApp, offerToDriver,
} from '../lib.mjs';

let demo;
let b;

before(async () => {
  // A small fleet, so that the driver account placed in Inwood is the nearest driver to a ride there.
  demo = await startDemo({ speed: 20, drivers: 30 });
  b = await launch();
});

after(async () => {
  if (b) await b.close();
  if (demo) await demo.stop();
});

const APPS = [
  { app: 'rider', heading: 'Doorstep — ride' },
  { app: 'driver', heading: 'Doorstep — drive' },
  { app: 'ops', heading: 'Operations console' },
  { app: 'merchant', heading: 'Doorstep — kitchen' },
  { app: 'provider', heading: 'Doorstep — Provider' },
];

/** The width and height of a PNG, from its IHDR chunk. */
function pngSize(buf) {
  assert.equal(buf.subarray(1, 4).toString('latin1'), 'PNG', 'a PNG file');
  assert.equal(buf.subarray(12, 16).toString('latin1'), 'IHDR');
  return `${buf.readUInt32BE(16)}x${buf.readUInt32BE(20)}`;
}

for (const { app } of APPS) {
  test(`the ${app} app links a valid web app manifest with 192, 512 and maskable icons`, async () => {
    const page = await b.page(PHONE);
    await page.goto(`${demo.base}/${app}/`);
    const href = await page.locator('link[rel="manifest"]').getAttribute('href');
    const url = new URL(href, `${demo.base}/${app}/`).toString();
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/manifest+json');
    const m = await res.json();
    assert.equal(m.start_url, `/${app}/`);
    assert.equal(m.scope, `/${app}/`);
    assert.equal(m.display, 'standalone');
    assert.ok(m.name && m.name.startsWith('Doorstep'), m.name);
    assert.ok(m.short_name && m.short_name.length <= 12, m.short_name);
    assert.match(m.theme_color, /^#[0-9a-f]{6}$/);
    assert.match(m.background_color, /^#[0-9a-f]{6}$/);
    const seen = new Set();
    for (const icon of m.icons) {
      const r = await fetch(new URL(icon.src, url));
      assert.equal(r.status, 200, icon.src);
      assert.equal(r.headers.get('content-type'), 'image/png');
      assert.equal(icon.type, 'image/png');
      assert.equal(pngSize(Buffer.from(await r.arrayBuffer())), icon.sizes, icon.src);
      seen.add(`${icon.sizes} ${icon.purpose || 'any'}`);
    }
    for (const want of ['192x192 any', '512x512 any', '512x512 maskable']) assert.ok(seen.has(want), `icon ${want}`);
    // The page's icon is the app's own, not an empty data: URL.
    const icon = await page.locator('link[rel="icon"]').getAttribute('href');
    assert.equal((await fetch(new URL(icon, url))).status, 200);
    assert.equal(await page.evaluate(() => document.querySelector('meta[name="theme-color"]').content), m.theme_color);
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });
}

test('the service worker is served from /sw.js as JavaScript, with no-cache', async () => {
  const res = await fetch(`${demo.base}/sw.js`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /javascript/);
  assert.equal(res.headers.get('cache-control'), 'no-cache');
});

for (const { app, heading } of APPS) {
  test(`the ${app} app's service worker controls it after a reload, and it opens offline after one visit`, async () => {
    const page = await b.page(PHONE);
    await page.goto(`${demo.base}/${app}/`);
    const scope = await page.evaluate(async () => (await navigator.serviceWorker.ready).scope);
    assert.equal(scope, `${demo.base}/${app}/`);
    await page.reload();
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
    assert.equal(await page.evaluate(() => navigator.serviceWorker.controller.scriptURL), `${demo.base}/sw.js`);
    await page.locator('#auth-submit').waitFor();
    // Let the page's list of loaded files reach the worker's cache, then cut the network.
    await page.waitForFunction(
      async (a) => {
        const names = await caches.keys();
        const name = names.find((n) => n.startsWith(`doorstep-${a}-`));
        if (!name) return false;
        const c = await caches.open(name);
        return !!(await c.match(`${location.origin}/${a}/app.js`)) && !!(await c.match(`${location.origin}/shared/ui.js`));
      },
      app,
    );
    // Nothing from the API is ever kept.
    const cachedApi = await page.evaluate(async () => {
      const out = [];
      for (const n of await caches.keys()) for (const r of await (await caches.open(n)).keys()) if (new URL(r.url).pathname.startsWith('/v1/')) out.push(r.url);
      return out;
    });
    assert.deepEqual(cachedApi, []);
    await page.context().setOffline(true);
    const res = await page.reload();
    assert.ok(res.fromServiceWorker(), 'the page came from the service worker');
    await page.getByRole('heading', { name: heading }).waitFor();
    await page.getByLabel('Email').waitFor();
    await page.getByLabel('Password').waitFor();
    await page.locator('#auth-submit').waitFor();
    // A call to the API while offline fails as "cannot be reached", not from a cache.
    if (await page.locator('#auth-name').count()) await page.getByLabel('Name').fill('Offline');
    await page.getByLabel('Email').fill('nobody@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.locator('#auth-submit').click();
    await page.locator('#auth-error', { hasText: 'cannot be reached' }).waitFor();
    await page.context().setOffline(false);
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });
}

// Records the page's notifications, vibrations and tones, and lets the test hide the page.
const HOOKS = () => {
  window.__alerts = { shown: [], vibrated: [], tones: 0, wakeLocks: [] };
  let hidden = false;
  window.__setHidden = (h) => {
    hidden = h;
    document.dispatchEvent(new Event('visibilitychange'));
  };
  Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
  Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => hidden });
  const show = ServiceWorkerRegistration.prototype.showNotification;
  ServiceWorkerRegistration.prototype.showNotification = function (title, options) {
    window.__alerts.shown.push({ via: 'worker', title, body: options && options.body, tag: options && options.tag });
    return show.call(this, title, options).catch(() => {});
  };
  const N = window.Notification;
  if (N) {
    window.Notification = class extends N {
      constructor(title, options) {
        super(title, options);
        window.__alerts.shown.push({ via: 'page', title, body: options && options.body, tag: options && options.tag });
      }
    };
  }
  navigator.vibrate = (p) => {
    window.__alerts.vibrated.push(p);
    return true;
  };
  // A screen wake lock that the page's hiding releases, as the browser's does.
  Object.defineProperty(navigator, 'wakeLock', {
    configurable: true,
    value: {
      async request(type) {
        const lock = new EventTarget();
        lock.type = type;
        lock.released = false;
        lock.release = async () => {
          if (lock.released) return;
          lock.released = true;
          lock.dispatchEvent(new Event('release'));
        };
        window.__alerts.wakeLocks.push(lock);
        return lock;
      },
    },
  });
  document.addEventListener('visibilitychange', () => {
    if (hidden) for (const l of window.__alerts.wakeLocks) l.release();
  }, true);
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (...a) {
    window.__alerts.tones += 1;
    return start.apply(this, a);
  };
};

test("a driver account's offer rings, vibrates and, with the app hidden, raises a notification with the pickup", async () => {
  const driver = await b.page(PHONE);
  await driver.context().grantPermissions(['notifications'], { origin: demo.base });
  await driver.addInitScript(HOOKS);
  await driver.goto(`${demo.base}/driver/`);
  await signUp(driver, 'Nia');
  await driver.getByRole('heading', { name: 'You are offline' }).waitFor();
  await driver.evaluate(async () => navigator.serviceWorker.ready);
  // "Go online" is the gesture that unlocks the tone.
  await goOnlineIn(driver, 'Inwood');
  assert.equal(await driver.evaluate(() => Notification.permission), 'granted');
  // Online, the screen stays on; hiding the page drops the lock and showing it takes it again.
  const locks = () => driver.evaluate(() => window.__alerts.wakeLocks.map((l) => `${l.type}:${l.released ? 'released' : 'held'}`));
  await driver.waitForFunction(() => window.__alerts.wakeLocks.length === 1);
  assert.deepEqual(await locks(), ['screen:held']);
  await driver.evaluate(() => window.__setHidden(true));
  await driver.evaluate(() => window.__setHidden(false));
  await driver.waitForFunction(() => window.__alerts.wakeLocks.length === 2);
  assert.deepEqual(await locks(), ['screen:released', 'screen:held']);
  await driver.evaluate(() => window.__setHidden(true));

  const rider = await b.page(PHONE);
  await rider.context().grantPermissions(['notifications'], { origin: demo.base });
  await rider.addInitScript(HOOKS);
  await rider.goto(`${demo.base}/rider/`);
  await signUp(rider, 'Ravi');

  // Demo drivers compete for the ride and demo riders' rides may be offered to our driver (lib.mjs).
  await offerToDriver(driver, {
    request: () => requestRideInApp(rider, 'Inwood', 'Washington Heights North'),
    cancel: () => cancelRideInApp(rider),
    attempts: 5,
  });
  await driver.waitForFunction(() => window.__alerts.shown.length > 0, null, { timeout: 10000 });
  const alerts = await driver.evaluate(() => window.__alerts);
  const last = alerts.shown[alerts.shown.length - 1];
  assert.equal(last.via, 'worker', 'shown through the service worker, so that a click focuses the app');
  assert.equal(last.title, 'New ride offer');
  assert.match(last.body, /^Pickup: Inwood · (Your take|Fare): \$\d+\.\d\d/);
  assert.match(last.tag, /^offer-/);
  assert.ok(alerts.vibrated.length > 0, 'vibrated');
  assert.ok(alerts.tones > 0, 'the tone played');
  // The worker really shows it (headless Chromium lists it a moment after showNotification resolves,
  // later still on a loaded machine).
  let shown = [];
  for (let i = 0; i < 20 && !shown.includes('New ride offer'); i += 1) {
    if (i > 0) await driver.waitForTimeout(250);
    shown = await driver.evaluate(async () => (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => n.title));
  }
  assert.ok(shown.includes('New ride offer'), JSON.stringify(shown));

  // The rider, in the background, is told when the driver is assigned.
  await rider.evaluate(() => window.__setHidden(true));
  await driver.evaluate(() => window.__setHidden(false));
  await driver.getByRole('button', { name: 'Accept' }).click();
  await driver.locator('#ride-state[data-state="driver_assigned"]').waitFor({ timeout: 10000 });
  await rider.waitForFunction(() => window.__alerts.shown.some((n) => n.title === 'Your driver is on the way'), null, { timeout: 15000 });
  await screenshot(driver, 'pwa-driver-to-pickup-390');
  // Not while the page is in front: the driver's page is visible, so its own events raised nothing more.
  assert.equal((await driver.evaluate(() => window.__alerts.shown.length)), alerts.shown.length);
  await driver.getByRole('button', { name: 'Cancel this ride (it goes back to dispatch)' }).click();
  await driver.locator('#dlg-confirm').click();
  await driver.getByRole('button', { name: 'Back to offers' }).or(driver.getByRole('heading', { name: 'You are online' })).first().waitFor();
  assert.deepEqual(driver.errors, []);
  assert.deepEqual(rider.errors, []);
  await driver.context().close();
  await rider.context().close();
});

test('the offline driver screen explains why notifications are asked for', async () => {
  const driver = await b.page(PHONE);
  await driver.goto(`${demo.base}/driver/`);
  await signUp(driver, 'Oli');
  await driver.getByRole('heading', { name: 'You are offline' }).waitFor();
  await driver.locator('#alerts-hint', { hasText: 'allow them to hear about ride offers' }).waitFor();
  await screenshot(driver, 'pwa-driver-offline-390');
  await driver.context().close();
});

test('the Chinese locale renders: the sign-in screen in Chinese, html lang=zh-CN, the switch, 0 axe violations', async () => {
  const page = await b.page(PHONE);
  await page.goto(`${demo.base}/rider/?lang=zh-CN`);
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'zh-CN');
  await page.getByRole('heading', { name: '创建账户' }).waitFor();
  for (const label of ['姓名', '电子邮箱', '密码']) await page.getByLabel(label, { exact: true }).waitFor();
  await page.getByRole('button', { name: '注册' }).waitFor();
  assert.equal(await page.locator('#pw-hint').textContent(), '至少 8 个字符。');
  // No mojibake: the text is the catalogue's, character for character, and the page says UTF-8.
  assert.equal(await page.evaluate(() => document.characterSet), 'UTF-8');
  assert.equal(await page.getByRole('combobox', { name: '语言' }).inputValue(), 'zh-CN');
  // A CJK font comes first in the stack for Chinese.
  assert.match(await page.evaluate(() => getComputedStyle(document.documentElement).fontFamily), /^"PingFang SC"/);
  await screenshot(page, 'pwa-rider-signup-zh-390');
  // Errors from the shared layer are in Chinese too.
  await page.getByRole('button', { name: '注册' }).click();
  await page.locator('#auth-error', { hasText: '请填写所有字段。' }).waitFor();

  // The switch keeps the choice; back to English.
  await page.getByRole('combobox', { name: '语言' }).selectOption('en');
  await page.getByRole('heading', { name: 'Create your account' }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
  assert.equal(await page.evaluate(() => localStorage.getItem('doorstep.locale')), 'en');
  await page.getByRole('combobox', { name: 'Language' }).selectOption('zh-CN');
  await page.getByRole('heading', { name: '创建账户' }).waitFor();
  await page.goto(`${demo.base}/ops/`);
  await page.getByRole('heading', { name: '登录' }).waitFor();
  await page.getByRole('button', { name: '登录' }).waitFor();
  await screenshot(page, 'pwa-ops-login-zh-390');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('the landing page has the language switch and reads in Chinese', async () => {
  const page = await b.page(DESKTOP);
  await page.goto(`${demo.base}/`);
  await page.getByRole('combobox', { name: 'Language' }).waitFor();
  await screenshot(page, 'pwa-landing-1440');
  await page.getByRole('combobox', { name: 'Language' }).selectOption('zh-CN');
  await page.getByRole('link', { name: /^乘车/ }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'zh-CN');
  for (const name of [/^开车/, /^运营/, 'API 文档']) await page.getByRole('link', { name }).waitFor();
  await screenshot(page, 'pwa-landing-zh-1440');
  await page.setViewportSize(PHONE);
  await screenshot(page, 'pwa-landing-zh-390');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('no page made a request to another host than localhost', () => {
  assert.ok(b.requests > 20, 'requests were watched');
  assert.deepEqual(b.foreign, []);
});
