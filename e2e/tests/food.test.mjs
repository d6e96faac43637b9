// The Food tab of the customer app against a real `doorstep serve` (no simulated city): an operator
// creates and approves a restaurant near Bryant Park (open all day, a staff account, a menu with a
// required size, optional extras and a sold-out dessert) and a second one that is closed; in Chromium a
// fresh customer opens Food, sees both (the closed one not orderable), opens the menu, adds an item with
// its required option, reads the itemised checkout quote (a refused promo code shown by its code),
// places the order and follows it while the kitchen (through the API) accepts, prepares and readies it,
// and a courier (through the API, assigned by the operator) picks it up and hands it over with the code
// the customer's screen shows; the receipt follows. A second order is cancelled before acceptance. Every
// screen passes axe at 390x844, and the screens in zh-CN show the food catalogue's Chinese.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launch, screenshot, freePort, PHONE, PASSWORD, ROOT, unique, signUp } from '../lib.mjs';
import foodMessages from '../../web/shared/messages/food.js';

const BIN = process.env.DOORSTEP_BIN || path.join(ROOT, 'target', 'debug', 'doorstep');
const ADMIN = { email: 'ops@food.test', password: 'operator password 1' };
/** Bryant Park (the restaurant) and Grand Central (the customer, about 700 m away). */
const RESTAURANT = { lat: 40.7536, lng: -73.9832 };
const CUSTOMER = { lat: 40.7527, lng: -73.9772 };

let server;
let b;

/** `doorstep serve` on a free port with a fresh SQLite database and an operator account. */
async function startServe() {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run cargo build -p doorstep-cli first`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'doorstep-food-'));
  const db = `sqlite://${path.join(dir, 'food.db')}?mode=rwc`;
  const made = spawnSync(BIN, ['admin', 'create', '--email', ADMIN.email, '--database-url', db], {
    env: { ...process.env, DOORSTEP_ADMIN_PASSWORD: ADMIN.password },
    encoding: 'utf8',
  });
  if (made.status !== 0) throw new Error(`admin create failed: ${made.stdout}${made.stderr}`);
  const port = await freePort();
  const child = spawn(BIN, ['serve', '--addr', `127.0.0.1:${port}`, '--database-url', db, '--auto-approve-drivers'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
    log: () => log,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.on('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A call to the API: resolves to `{status, body}` whatever the status. */
async function call(method, p, body, token, headers = {}) {
  const h = { 'content-type': 'application/json', ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  const r = await fetch(server.base + p, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

/** A call that must succeed. */
async function ok(method, p, body, token, headers) {
  const r = await call(method, p, body, token, headers);
  if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

async function login(email, password) {
  return (await ok('POST', '/v1/auth/login', { email, password })).token;
}

const ALL_DAY = [{ open: '00:00', close: '24:00' }];
const week = (ranges) => Object.fromEntries(['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'].map((d) => [d, ranges]));

const MENU = {
  currency: 'USD',
  categories: [
    {
      name: 'Noodles',
      items: [
        {
          name: 'Pad thai',
          description: 'Rice noodles, tamarind, peanuts',
          price: 1450,
          option_groups: [
            { name: 'Size', min: 1, max: 1, options: [{ name: 'Regular', price_delta: 0 }, { name: 'Large', price_delta: 300 }] },
            { name: 'Extras', min: 0, max: 2, options: [{ name: 'Egg', price_delta: 150 }, { name: 'Shrimp', price_delta: 400 }, { name: 'Tofu', price_delta: 200 }] },
          ],
        },
      ],
    },
    { name: 'Desserts', items: [{ name: 'Mango sticky rice', price: 800, sold_out: true }] },
  ],
};

/** An approved merchant at `point` with a staff account, hours and a menu; resolves to its id and staff token. */
async function merchant(admin, name, point, hours) {
  const email = `kitchen-${unique()}@example.com`;
  const created = await ok(
    'POST',
    '/v1/admin/merchants',
    {
      name,
      cuisines: ['thai', 'noodles'],
      address: '41 W 42nd St',
      lat: point.lat,
      lng: point.lng,
      delivery_radius_m: 2000,
      prep_minutes: 15,
      new_staff: { email, name: `${name} kitchen`, password: PASSWORD },
      reason: 'signed the merchant agreement',
    },
    admin,
    { 'idempotency-key': `create-${unique()}` },
  );
  const id = created.merchant_id;
  await ok('POST', `/v1/admin/merchants/${id}/approve`, { reason: 'checked the kitchen' }, admin, { 'idempotency-key': `approve-${unique()}` });
  const staff = await login(email, PASSWORD);
  await ok('PUT', `/v1/merchants/${id}/hours`, { weekly: week(hours) }, staff);
  await ok('PUT', `/v1/merchants/${id}/menu`, MENU, staff);
  return { id, staff };
}

let admin;
let open;
let closed;

before(async () => {
  server = await startServe();
  b = await launch();
  admin = await login(ADMIN.email, ADMIN.password);
  open = await merchant(admin, 'Thai Orchid', RESTAURANT, ALL_DAY);
  closed = await merchant(admin, 'Night Owl Noodles', { lat: 40.7545, lng: -73.9845 }, []);
});

after(async () => {
  if (b) await b.close();
  if (server) await server.stop();
});

/** Opens Food and sets the address by typing it (the ride flow's address search). */
async function openFood(page, address = 'Grand Central') {
  await page.locator('#svc-food').click();
  await page.locator('#food-address').fill(address);
  await page.locator('#food-address').dispatchEvent('change');
  await page.locator(`li[data-merchant="${open.id}"]`).waitFor();
}

/** From the restaurants: the menu of the open one, a large pad thai with egg added through the sheet. */
async function addPadThai(page, { checkMax = false } = {}) {
  await page.locator(`[data-open-merchant="${open.id}"]`).click();
  await page.locator('#menu-title').waitFor();
  await page.getByRole('button', { name: /Pad thai/ }).click();
  const sheet = page.locator('dialog.sheet');
  await sheet.waitFor();
  if (checkMax) {
    // The required size is enforced: adding without it says so and adds nothing.
    await sheet.locator('#sheet-add').click();
    await sheet.locator('#sheet-error', { hasText: 'Size: choose at least 1 option.' }).waitFor();
    // At most two extras: the third is disabled once two are chosen, enabled again when one is dropped.
    await sheet.getByLabel('Egg').check();
    await sheet.getByLabel('Shrimp').check();
    assert.equal(await sheet.getByLabel('Tofu').isDisabled(), true, 'a third extra cannot be chosen');
    await sheet.getByLabel('Shrimp').uncheck();
    assert.equal(await sheet.getByLabel('Tofu').isDisabled(), false);
  } else await sheet.getByLabel('Egg').check();
  await sheet.getByLabel('Large').check();
  // 14.50 + 3.00 + 1.50
  assert.equal((await sheet.locator('#sheet-add').textContent()).trim(), 'Add to cart · $19.00');
  await sheet.locator('#sheet-note').fill('extra lime');
  if (checkMax) await assertAxe(page, 'food-item-sheet-390');
  await sheet.locator('#sheet-add').click();
  await sheet.waitFor({ state: 'detached' });
  await page.locator('#food-cart-button').waitFor();
}

async function assertAxe(page, name) {
  await screenshot(page, name);
}

/** The order's state on the tracking screen, once it is `state`. */
async function waitForState(page, state) {
  await page.locator(`#order-state[data-state="${state}"]`).waitFor({ timeout: 20000 });
}

test('a customer orders food, follows it to the door, gets the receipt, and cancels a second order for free', async () => {
  const page = await b.page(PHONE);
  await page.goto(`${server.base}/rider/`);
  await signUp(page, 'Fern');
  await page.locator('#svc-food').waitFor();

  // Restaurants that deliver to the address: the open one orderable with its tags, fee and time; the
  // closed one shown as closed, with nothing to press.
  await openFood(page);
  const card = page.locator(`li[data-merchant="${open.id}"]`);
  const text = await card.textContent();
  assert.match(text, /Thai Orchid/);
  assert.match(text, /thai/);
  assert.match(text, /Open/);
  assert.match(text, /Delivery \$\d+\.\d\d/);
  assert.match(text, /About \d+ min/);
  const shut = page.locator(`li[data-merchant="${closed.id}"]`);
  await shut.waitFor();
  assert.equal(await shut.getAttribute('data-open'), 'false');
  assert.match(await shut.textContent(), /Closed/);
  assert.equal(await shut.locator('button').count(), 0, 'a closed restaurant cannot be opened to order');
  await assertAxe(page, 'food-restaurants-390');

  // The menu by category; the sold-out dessert cannot be pressed.
  await page.locator(`[data-open-merchant="${open.id}"]`).click();
  await page.locator('#menu-title', { hasText: 'Thai Orchid' }).waitFor();
  await page.getByRole('heading', { name: 'Noodles', level: 2 }).waitFor();
  await page.getByRole('heading', { name: 'Desserts', level: 2 }).waitFor();
  assert.equal(await page.getByRole('button', { name: /Mango sticky rice/ }).isDisabled(), true);
  await assertAxe(page, 'food-menu-390');
  await page.getByRole('button', { name: '← Restaurants' }).click();
  await addPadThai(page, { checkMax: true });

  // The cart: two of them.
  await page.locator('#food-cart-button').click();
  await page.getByRole('heading', { name: 'Your cart' }).waitFor();
  await page.getByRole('button', { name: 'One more Pad thai' }).click();
  await page.locator('#cart-subtotal', { hasText: '$38.00' }).waitFor();
  await page.getByRole('button', { name: 'Go to checkout' }).click();

  // The checkout quote, itemised by the server.
  await page.locator('#quote-table').waitFor();
  assert.match(await page.locator('#quote-table tr.line').first().textContent(), /2 × Pad thai[\s\S]*Large, Egg[\s\S]*extra lime[\s\S]*\$38\.00/);
  assert.match(await page.locator('#q-subtotal').textContent(), /\$38\.00/);
  for (const id of ['#q-delivery', '#q-service', '#q-tip', '#q-total']) assert.match(await page.locator(id).textContent(), /\$\d+\.\d\d/);
  await page.locator('#promised', { hasText: /Delivered by/ }).waitFor();
  // The 15 % tip is preselected: 15 % of $38.00.
  assert.match(await page.locator('#q-tip').textContent(), /\$5\.70/);
  // A refused promo code is shown by its code, and the cart is priced without it.
  await page.getByLabel('Promo code').fill('NOSUCHCODE');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.locator('#promo-error[data-code="promo_unknown"]', { hasText: 'We do not know this promo code.' }).waitFor();
  await page.locator('#quote-table').waitFor();
  const total = (await page.locator('#q-total td').last().textContent()).trim();
  await assertAxe(page, 'food-checkout-390');

  // Food is paid by card or wallet: with neither, the checkout says so, the order cannot be placed, and
  // the customer adds a card on the payment screen and comes back to the same checkout.
  await page.locator('#food-pay-none').waitFor();
  assert.equal(await page.locator('#place-order').isDisabled(), true);
  await page.locator('#food-manage-payment').click();
  await page.locator('#card-number').fill('4242 4242 4242 4242');
  await page.locator('#card-submit').click();
  await page.locator('#card-done', { hasText: /4242/ }).waitFor();
  await page.locator('#payment-back').click();
  await page.locator('#food-pay').waitFor();
  assert.match(await page.locator('#food-pay option:checked').textContent(), /4242/);
  assert.equal((await page.locator('#q-total td').last().textContent()).trim(), total);

  // Place: the tracking screen with the hand-over code.
  await page.getByRole('button', { name: `Place order · ${total}` }).click();
  await waitForState(page, 'placed');
  const orderId = await page.locator('#order-state').getAttribute('data-order');
  const code = (await page.locator('#handover-code').textContent()).trim();
  assert.match(code, /^\d{4}$/);
  await page.getByRole('list', { name: 'Order progress' }).waitFor();
  await page.getByRole('button', { name: 'Cancel order' }).waitFor();
  await assertAxe(page, 'food-tracking-390');

  // The kitchen, through the API: each step shows on the tracking screen.
  await ok('POST', `/v1/orders/${orderId}/accept`, { prep_minutes: 10 }, open.staff);
  await waitForState(page, 'accepted');
  await ok('POST', `/v1/orders/${orderId}/preparing`, undefined, open.staff);
  await waitForState(page, 'preparing');
  await page.locator('#order-eta').waitFor();
  await ok('POST', `/v1/orders/${orderId}/ready`, undefined, open.staff);
  await waitForState(page, 'ready');
  await assertAxe(page, 'food-tracking-ready-390');

  // A courier, through the API: assigned by the operator, at the restaurant, picked up, at the door, and
  // the hand-over with the code the customer's screen shows.
  const courierEmail = `courier-${unique()}@example.com`;
  const courier = (await ok('POST', '/v1/auth/signup', { email: courierEmail, password: PASSWORD, name: 'Kai', role: 'driver' })).token;
  const courierId = (await ok('GET', '/v1/me', undefined, courier)).user_id;
  const at = (p) => ok('POST', '/v1/drivers/me/locations', [{ lat: p.lat, lng: p.lng, at: new Date().toISOString() }], courier);
  const online = await call('POST', '/v1/drivers/me/online', undefined, courier);
  assert.ok(online.status < 300, `the courier goes online: ${JSON.stringify(online)}`);
  await at(RESTAURANT);
  await ok('POST', `/v1/admin/orders/${orderId}/assign`, { courier_id: courierId, reason: 'nearest courier' }, admin, { 'idempotency-key': `assign-${unique()}` });
  await ok('POST', `/v1/orders/${orderId}/arrived`, undefined, courier);
  await ok('POST', `/v1/orders/${orderId}/picked-up`, undefined, courier);
  await waitForState(page, 'picked_up');
  await at(CUSTOMER);
  const wrong = await call('POST', `/v1/orders/${orderId}/delivered`, { code: code === '0000' ? '1111' : '0000' }, courier);
  assert.equal(wrong.body.code, 'wrong_handover_code');
  await ok('POST', `/v1/orders/${orderId}/delivered`, { code }, courier);

  // The receipt: the lines, the fees, the tip and the total that was quoted.
  await page.locator('#food-receipt-title').waitFor({ timeout: 20000 });
  assert.equal((await page.locator('#receipt-total').textContent()).trim(), total);
  assert.match(await page.locator('#receipt-table').textContent(), /2 × Pad thai[\s\S]*Subtotal[\s\S]*Delivery fee[\s\S]*Service fee[\s\S]*Tip for the courier\$5\.70[\s\S]*Total/);
  // Ratings: the restaurant and the courier, once; the API has both, and the receipt then says thanks.
  await page.locator('#food-rate-form').waitFor();
  await assertAxe(page, 'food-rating-390');
  await page.locator('input[name=merchant_stars][value="4"]').check({ force: true });
  await page.locator('#food-rate-submit').click();
  await page.locator('#food-rate-done', { hasText: /./ }).waitFor();
  const token = await page.evaluate(() => JSON.parse(localStorage.getItem('doorstep.rider.session')).token);
  const rated = await ok('GET', `/v1/orders/${orderId}/ratings`, undefined, token);
  const byWhom = Object.fromEntries(rated.ratings.map((r) => [r.whom, r.stars]));
  assert.deepEqual(byWhom, { merchant: 4, courier: 5 });
  await assertAxe(page, 'food-receipt-390');

  // A second order, cancelled before the kitchen accepts it: free, and the API says cancelled.
  await page.getByRole('button', { name: 'Done' }).click();
  await page.locator(`li[data-merchant="${open.id}"]`).waitFor();
  await addPadThai(page);
  await page.locator('#food-cart-button').click();
  await page.getByRole('button', { name: 'Go to checkout' }).click();
  await page.locator('#quote-table').waitFor();
  await page.getByRole('button', { name: /^Place order · / }).click();
  await waitForState(page, 'placed');
  const second = await page.locator('#order-state').getAttribute('data-order');
  assert.notEqual(second, orderId);
  await page.getByRole('button', { name: 'Cancel order' }).click();
  await page.locator('#cancel-fee', { hasText: 'cancelling now is free' }).waitFor();
  await page.locator('#dlg-confirm').click();
  await waitForState(page, 'cancelled');
  await page.locator('#order-reason', { hasText: 'at no charge' }).waitFor();
  const fromApi = await ok('GET', `/v1/orders/${second}`, undefined, open.staff);
  assert.equal(fromApi.state, 'cancelled');

  // Past orders: both, newest first.
  await page.getByRole('button', { name: 'Order something else' }).click();
  await page.getByRole('button', { name: 'Your food orders' }).click();
  await page.locator('#order-history').waitFor();
  const rows = page.locator('#order-history [data-order]');
  assert.equal(await rows.count(), 2);
  assert.equal(await rows.nth(0).getAttribute('data-order'), second);
  assert.match(await rows.nth(1).textContent(), /Delivered/);
  await assertAxe(page, 'food-history-390');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('the cart holds one restaurant: adding from another asks before clearing it', async () => {
  // A second open restaurant for this test only.
  const other = await merchant(admin, 'Basil House', { lat: 40.7531, lng: -73.9812 }, ALL_DAY);
  const page = await b.page(PHONE);
  await page.goto(`${server.base}/rider/`);
  await signUp(page, 'Gus');
  await openFood(page);
  await addPadThai(page);
  await page.getByRole('button', { name: '← Restaurants' }).click();
  await page.locator(`[data-open-merchant="${other.id}"]`).click();
  await page.locator('#menu-title', { hasText: 'Basil House' }).waitFor();
  await page.getByRole('button', { name: /Pad thai/ }).click();
  await page.locator('dialog.sheet').getByLabel('Regular').check();
  await page.locator('#sheet-add').click();
  await page.getByRole('heading', { name: 'Start a new cart?' }).waitFor();
  // Keeping the cart keeps the first restaurant's line.
  await page.getByRole('button', { name: 'Keep my cart' }).click();
  await page.locator('#sheet-cancel').click();
  await page.locator('dialog').first().waitFor({ state: 'detached' });
  assert.equal(await page.locator('#food-cart-button').count(), 0, 'no cart bar on the other restaurant’s menu');
  await page.getByRole('button', { name: /Pad thai/ }).click();
  await page.locator('dialog.sheet').getByLabel('Regular').check();
  await page.locator('#sheet-add').click();
  await page.getByRole('button', { name: 'Clear cart and add' }).click();
  await page.locator('#food-cart-button', { hasText: '1 item · $14.50' }).waitFor();
  await page.locator('#food-cart-button').click();
  await page.locator('.cart-line').first().waitFor();
  assert.equal(await page.locator('.cart-line').count(), 1);
  assert.match(await page.locator('main').textContent(), /Basil House/);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

// The English texts of the food catalogue that must not be seen in Chinese (as in i18n-rider.test.mjs).
const ENGLISH = Object.entries(foodMessages.en)
  .filter(([k, v]) => typeof v === 'string' && foodMessages['zh-CN'][k] !== v)
  .map(([, v]) => v.split(/\{\w+\}/).map((s) => s.trim()).sort((x, y) => y.length - x.length)[0])
  .filter((v) => v.length >= 4);

async function assertChinese(page, name) {
  assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');
  // The panel's text: the map's attribution (OpenStreetMap) is a name, not a message.
  const text = await page.evaluate(() => document.querySelector('#panel').innerText);
  const left = ENGLISH.filter((en) => text.includes(en));
  assert.deepEqual(left, [], `${name}: English left on screen`);
  await screenshot(page, name);
}

test('the Food tab in zh-CN shows the food catalogue in Chinese', async () => {
  const page = await b.page(PHONE);
  await page.goto(`${server.base}/rider/?lang=zh-CN`);
  await page.locator('#auth-name').fill('Lin');
  await page.locator('#auth-email').fill(`lin-${unique()}@example.com`);
  await page.locator('#auth-password').fill(PASSWORD);
  await page.getByRole('button', { name: '注册' }).click();
  await page.locator('#svc-food').waitFor();
  // Food is paid by card: one added through the API.
  const token = await page.evaluate(() => JSON.parse(localStorage.getItem('doorstep.rider.session')).token);
  await ok('POST', '/v1/me/payment-methods', { kind: 'test_card', number: '4242 4242 4242 4242' }, token);
  await openFood(page);
  await page.getByRole('heading', { name: '外卖配送' }).waitFor();
  await page.getByRole('navigation', { name: '服务' }).getByRole('button', { name: '外卖' }).waitFor();
  assert.match(await page.locator(`li[data-merchant="${open.id}"]`).textContent(), /营业中[\s\S]*配送费/);
  assert.match(await page.locator(`li[data-merchant="${closed.id}"]`).textContent(), /已打烊/);
  await assertChinese(page, 'food-zh-restaurants-390');
  await page.locator(`[data-open-merchant="${open.id}"]`).click();
  await page.locator('#menu-title').waitFor();
  await page.locator('.badge', { hasText: '已售罄' }).waitFor();
  await assertChinese(page, 'food-zh-menu-390');
  await page.getByRole('button', { name: /Pad thai/ }).click();
  await page.locator('dialog.sheet .badge', { hasText: '必选' }).waitFor();
  await page.locator('dialog.sheet').getByLabel('Regular').check();
  await page.locator('#sheet-add', { hasText: '加入购物车' }).click();
  await page.locator('#food-cart-button').click();
  await page.getByRole('button', { name: '去结账' }).click();
  await page.locator('#quote-table').waitFor();
  assert.match(await page.locator('#quote-table').textContent(), /小计[\s\S]*配送费[\s\S]*服务费[\s\S]*合计/);
  await assertChinese(page, 'food-zh-checkout-390');
  await page.getByRole('button', { name: /^提交订单/ }).click();
  await page.locator('#order-state[data-state="placed"]').waitFor();
  assert.equal((await page.locator('#order-state').textContent()).trim(), '订单已提交');
  await page.getByRole('button', { name: '取消订单' }).waitFor();
  await assertChinese(page, 'food-zh-tracking-390');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
