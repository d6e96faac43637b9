// Helpers of the end-to-end suite: start `doorstep demo` on a free port with a temporary database, launch
// Debian's Chromium headless through playwright-core, and watch every request a page makes so that the
// tests can assert nothing left localhost.
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import net from 'node:net';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SHOTS = path.join(ROOT, 'e2e', 'screenshots');
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1440, height: 900 };

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Starts `target/debug/doorstep demo`; resolves once it answers /healthz. */
export async function startDemo({ speed = 20, drivers = 200, args = [] } = {}) {
  const bin = process.env.DOORSTEP_BIN || path.join(ROOT, 'target', 'debug', 'doorstep');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run cargo build -p doorstep-cli first`);
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'doorstep-e2e-'));
  const child = spawn(
    bin,
    ['demo', '--addr', `127.0.0.1:${port}`, '--database-file', path.join(dir, 'demo.db'), '--speed', String(speed), '--drivers', String(drivers), ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`doorstep demo exited: ${log}`);
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`doorstep demo did not start: ${log}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    base,
    port,
    log: () => log,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => {
        if (child.exitCode !== null) return r();
        const t = setTimeout(() => {
          child.kill('SIGKILL');
          r();
        }, 10000);
        child.on('exit', () => {
          clearTimeout(t);
          r();
        });
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function launch() {
  // playwright-core runs Chromium with a fresh temporary profile (user-data-dir) of its own, deleted on close;
  // it refuses an explicit --user-data-dir for launch().
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  const foreign = [];
  // URLs that carried a bearer token (must stay empty) and the WebSocket URLs opened.
  const tokenInUrl = [];
  const sockets = [];
  const watcher = {
    browser,
    foreign,
    tokenInUrl,
    sockets,
    /** A fresh context (own storage) with one page; every request is checked to stay on localhost. */
    async page(viewport = PHONE) {
      const context = await browser.newContext({ viewport, locale: 'en-US', timezoneId: 'America/New_York' });
      const page = await context.newPage();
      const check = (url) => {
        watcher.requests += 1;
        const u = new URL(url);
        if (!['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname) && !['data:', 'blob:'].includes(u.protocol)) {
          foreign.push(url);
        }
        if (u.searchParams.has('token') || /dst_[0-9a-f]{16}/.test(url)) tokenInUrl.push(url);
      };
      page.on('request', (req) => check(req.url()));
      page.on('websocket', (ws) => {
        check(ws.url());
        sockets.push(ws.url());
      });
      page.errors = [];
      page.logs = [];
      page.on('console', (m) => page.logs.push(`${m.type()}: ${m.text()}`));
      page.on('response', (r) => { if (r.status() >= 400) page.logs.push(`HTTP ${r.status()} ${r.url()}`); });
      page.on('pageerror', (e) => page.errors.push(String(e)));
      return page;
    },
    async close() {
      await browser.close();
    },
    requests: 0,
  };
  return watcher;
}

/** Saves a screenshot and checks the screen's controls: every visible one has an accessible name. */
export async function screenshot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
  const unnamed = await page.evaluate(() =>
    [...document.querySelectorAll('button, input, select, textarea, a[href], [tabindex="0"]')]
      .filter((el) => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden')
      .filter((el) => {
        if (el.type === 'hidden') return false;
        const labelled = (el.labels && [...el.labels].some((l) => l.textContent.trim())) ||
          el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.getAttribute('title');
        return !labelled && !(el.textContent || '').trim();
      })
      .map((el) => el.outerHTML.slice(0, 120)),
  );
  if (unnamed.length) throw new Error(`${name}: controls without an accessible name: ${unnamed.join(' | ')}`);
  await assertNoAxeViolations(page, name);
}

/** The axe-core rules (WCAG 2.0–2.2 A and AA, and axe's best practices) on the page as it is now: every
 *  screen the suite photographs must have no violation. axe is injected from node_modules, never a CDN. */
export async function assertNoAxeViolations(page, name) {
  await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const result = await axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
    });
    return result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
  });
  if (violations.length) throw new Error(`${name}: axe violations: ${violations.join(' | ')}`);
}

export async function api(base, method, p, body, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await fetch(base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const t = await r.text();
  if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${t}`);
  return t ? JSON.parse(t) : null;
}

// ---- the flows every app test goes through

/** A short suffix that makes e-mail addresses and idempotency keys unique within a run. */
export const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

/** The password of every account the suite signs up. */
export const PASSWORD = 'correct horse battery';

/** The demo operator's login (`doorstep demo` creates it). */
export const DEMO_OPERATOR = { email: 'admin@demo.doorstep.dev', password: 'doorstep-demo' };

/** Signs up on the rider or driver app's sign-up form, with a fresh address made from `name` unless one is given. */
export async function signUp(page, name, email = `${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${unique()}@example.com`) {
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign up' }).click();
}

/** Logs the demo operator in to the operations console on `page`; resolves once the live view shows. */
export async function logInToOps(page, base) {
  await page.goto(`${base}/ops/`);
  await page.getByLabel('Email').fill(DEMO_OPERATOR.email);
  await page.getByLabel('Password').fill(DEMO_OPERATOR.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#kpi-open').waitFor();
}

/** Registers the driver's car on the driver app's vehicle form; resolves once the app shows its plate. */
export async function registerVehicle(driver, { make, model, colour, plate }) {
  await driver.getByLabel('Make').fill(make);
  await driver.getByLabel('Model').fill(model);
  await driver.getByLabel('Colour').fill(colour);
  await driver.getByLabel('Number plate').fill(plate);
  await driver.getByRole('button', { name: 'Save vehicle', exact: true }).click();
  await driver.locator('#vehicle-summary', { hasText: plate.toUpperCase().replace(/\s+/g, ' ') }).waitFor();
}

/** Places the driver app's simulated car at the centre of `zone` (typed into "Place the car in"). */
export async function placeCar(driver, zone) {
  await driver.getByLabel('Place the car in').fill(zone);
  await driver.getByLabel('Place the car in').dispatchEvent('change');
}

/** Places the driver app's car in `zone` and goes online; resolves once the app says so. */
export async function goOnlineIn(driver, zone) {
  await placeCar(driver, zone);
  await driver.getByRole('button', { name: 'Go online' }).click();
  await driver.getByRole('heading', { name: 'You are online' }).waitFor();
}

/** Fills the rider app's pickup and drop-off (place or zone names) and asks for the price. */
export async function quoteTrip(rider, from, to) {
  for (const [label, value] of [['Pickup', from], ['Drop-off', to]]) {
    await rider.getByRole('combobox', { name: label }).fill(value);
    await rider.getByRole('combobox', { name: label }).dispatchEvent('change');
  }
  await rider.getByRole('button', { name: 'See price' }).click();
  await rider.getByRole('heading', { name: 'Your price' }).waitFor();
}

/** Requests the ride quoted on the rider app's screen; resolves to its id. */
export async function requestQuotedRide(rider) {
  await rider.getByRole('button', { name: 'Request ride' }).click();
  await rider.locator('#ride-state').waitFor();
  return rider.locator('#ride-state').getAttribute('data-ride');
}

/** From the rider app's home: a ride from `from` to `to`, quoted and requested; resolves to its id. */
export async function requestRideInApp(rider, from, to) {
  await rider.locator('#svc-ride').click();
  await quoteTrip(rider, from, to);
  return requestQuotedRide(rider);
}

/** Cancels the rider app's ride if it can still be cancelled, and goes back home. */
export async function cancelRideInApp(rider) {
  const state = await rider.locator('#ride-state').getAttribute('data-state');
  if (['requested', 'driver_assigned', 'driver_arrived'].includes(state)) {
    await rider.getByRole('button', { name: 'Cancel ride' }).click();
    await rider.locator('#dlg-confirm').click();
    await rider.locator('#ride-state[data-state="cancelled"]').waitFor();
  }
  await rider.getByRole('button', { name: 'Home', exact: true }).click();
}

/**
 * Gets one of our riders' rides offered to the `driver` page, against `doorstep demo`'s fleet: demo drivers
 * compete for each ride and demo riders' rides may be offered to our driver. Each attempt `request()`s a ride
 * (resolving to its id), declines every other offer the driver gets for `waitMs`, and `cancel(id)`s the ride
 * when another driver took it, then asks again. Resolves to the id of the ride now offered to the driver (its
 * offer on screen); throws after `attempts` attempts.
 */
export async function offerToDriver(driver, { request, cancel, attempts = 4, waitMs = 20000 }) {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const ours = await request(attempt);
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      const offer = driver.locator('section.offer');
      try {
        await offer.waitFor({ timeout: Math.max(1, deadline - Date.now()) });
      } catch {
        break;
      }
      if ((await offer.getAttribute('data-ride')) === ours) return ours;
      await driver.getByRole('button', { name: 'Decline' }).click();
      await offer.waitFor({ state: 'detached' }).catch(() => {});
    }
    await cancel(ours);
  }
  throw new Error('the driver account never got an offer');
}
