// The merchant app's tests run against a real `doorstep serve` (no demo city): an operator account made
// with `doorstep admin create`, then everything else through the public API as each role would do it —
// the operator creates and approves a restaurant with a new staff account, the staff member sets its
// hours and imports its menu, a customer places orders.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, freePort, unique, PASSWORD } from './lib.mjs';

export const TABLET = { width: 1024, height: 768 };

/** Starts `doorstep serve` on a free port with a fresh SQLite file and an operator, with `args` added to its
 *  command line; resolves once it answers. */
export async function startServe({ args = [] } = {}) {
  const bin = process.env.DOORSTEP_BIN || path.join(ROOT, 'target', 'debug', 'doorstep');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run cargo build -p doorstep-cli first`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'doorstep-e2e-merchant-'));
  const databaseUrl = `sqlite://${path.join(dir, 'serve.db')}?mode=rwc`;
  const operator = { email: `ops-${unique()}@example.com`, password: PASSWORD };
  const made = spawnSync(bin, ['admin', 'create', '--email', operator.email, '--database-url', databaseUrl], {
    env: { ...process.env, DOORSTEP_ADMIN_PASSWORD: operator.password },
    encoding: 'utf8',
  });
  if (made.status !== 0) throw new Error(`doorstep admin create failed: ${made.stderr}`);
  const port = await freePort();
  const child = spawn(bin, ['serve', '--addr', `127.0.0.1:${port}`, '--database-url', databaseUrl, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`doorstep serve exited: ${log}`);
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`doorstep serve did not start: ${log}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    base,
    operator,
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

/** A call to the API; throws with the status and body unless it succeeds (or `expect` is the status). */
export async function call(base, method, p, { body, token, key, expect } = {}) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (key) headers['idempotency-key'] = key;
  const r = await fetch(base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  const data = text ? JSON.parse(text) : null;
  if (expect !== undefined) {
    if (r.status !== expect) throw new Error(`${method} ${p}: expected ${expect}, got ${r.status} ${text}`);
    return data;
  }
  if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${text}`);
  return data;
}

export async function login(base, email, password = PASSWORD) {
  return (await call(base, 'POST', '/v1/auth/login', { body: { email, password } })).token;
}

/** Union Square: where the restaurant is, and a customer a few blocks away. */
export const RESTAURANT = { lat: 40.7359, lng: -73.9911 };
export const CUSTOMER = { lat: 40.7392, lng: -73.9896 };

/** The menu the restaurant imports: two categories, options on the first item. */
export const MENU = {
  currency: 'USD',
  categories: [
    {
      name: 'Mains',
      items: [
        {
          name: 'Pad thai',
          description: 'Rice noodles, tamarind, peanuts',
          price: 1450,
          option_groups: [
            { name: 'Size', min: 1, max: 1, options: [{ name: 'Regular', price_delta: 0 }, { name: 'Large', price_delta: 300 }] },
            { name: 'Extras', min: 0, max: 2, options: [{ name: 'Egg', price_delta: 150 }, { name: 'Shrimp', price_delta: 400 }] },
          ],
        },
        { name: 'Green curry', description: 'Chicken, Thai basil, jasmine rice', price: 1600 },
      ],
    },
    { name: 'Drinks', items: [{ name: 'Thai iced tea', price: 450 }] },
  ],
};

export const WHOLE_WEEK = Object.fromEntries(
  ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'].map((d) => [d, [{ open: '00:00', close: '24:00' }]]),
);

/**
 * An approved restaurant open all week with the menu above and a staff account, created by the operator;
 * resolves to `{ merchantId, staff: {email, token}, menu (the export) }`.
 */
export async function setUpRestaurant(server, name = `Thai Corner ${unique()}`) {
  const ops = await login(server.base, server.operator.email, server.operator.password);
  const staff = { email: `kitchen-${unique()}@example.com`, name: 'Somchai', password: PASSWORD };
  const m = await call(server.base, 'POST', '/v1/admin/merchants', {
    token: ops,
    key: `create-${unique()}`,
    body: {
      name, cuisines: ['thai'], address: '1 Union Square W', ...RESTAURANT, delivery_radius_m: 3000, prep_minutes: 15,
      new_staff: staff, reason: 'signed the restaurant agreement',
    },
  });
  await call(server.base, 'POST', `/v1/admin/merchants/${m.merchant_id}/approve`, {
    token: ops, key: `approve-${unique()}`, body: { reason: 'menu and hygiene certificate checked' },
  });
  const token = await login(server.base, staff.email);
  await call(server.base, 'PUT', `/v1/merchants/${m.merchant_id}/hours`, { token, body: { weekly: WHOLE_WEEK, exceptions: [] } });
  const menu = await call(server.base, 'PUT', `/v1/merchants/${m.merchant_id}/menu`, { token, body: MENU });
  return { merchantId: m.merchant_id, name, staff: { email: staff.email, token }, menu, ops };
}

/** A customer account (role rider) with a token. */
export async function newCustomer(server) {
  const email = `diner-${unique()}@example.com`;
  const r = await call(server.base, 'POST', '/v1/auth/signup', { body: { email, password: PASSWORD, name: 'Dana Diner', role: 'rider' } });
  // Food orders are paid with a card (the newest by default) or the wallet: a test card that approves.
  await call(server.base, 'POST', '/v1/me/payment-methods', { token: r.token, body: { kind: 'test_card', number: '4242 4242 4242 4242' }, expect: 201 });
  return { email, token: r.token };
}

/** The customer orders a large pad thai with egg and a note, and a Thai iced tea; resolves to the order. */
export async function placeOrder(server, restaurant, customer, { expect } = {}) {
  const [mains, drinks] = restaurant.menu.categories;
  const pad = mains.items[0];
  const large = pad.option_groups[0].options[1];
  const egg = pad.option_groups[1].options[0];
  return call(server.base, 'POST', '/v1/orders', {
    token: customer.token,
    key: `order-${unique()}`,
    expect,
    body: {
      merchant_id: restaurant.merchantId,
      dropoff: CUSTOMER,
      address: '200 Park Ave S, apt 4',
      lines: [
        { item_id: pad.id, option_ids: [large.id, egg.id], quantity: 2, note: 'no peanuts please' },
        { item_id: drinks.items[0].id, quantity: 1 },
      ],
    },
  });
}

/** Logs the staff member in to the merchant app on `page`; resolves once the board shows. */
export async function logInToKitchen(page, base, email, { lang } = {}) {
  await page.goto(`${base}/merchant/${lang ? `?lang=${lang}` : ''}`);
  await page.locator('#auth-email').fill(email);
  await page.locator('#auth-password').fill(PASSWORD);
  await page.locator('#auth-submit').click();
  await page.locator('#col-new').waitFor();
}
