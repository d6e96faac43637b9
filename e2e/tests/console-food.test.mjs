// The operations console's food screens against a real `doorstep serve` (no demo city): an operator opens
// the console, sees the food tile, opens Orders and watches a customer's new order appear and change state
// live (the kitchen accepts it through the API), opens it (its timeline), and gives it to a courier by hand
// with a reason (the API then names the courier); on Merchants the restaurant shows as open, its page lists
// its staff, and the operator suspends and reinstates it (the API agrees each time); on Promo codes the
// operator creates a code (the API lists it). axe finds nothing on these screens, and in zh-CN no English
// text of the `ops.*` catalogue is left on them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, screenshot, assertNoAxeViolations, DESKTOP, PASSWORD, unique } from '../lib.mjs';
import { startServe, call, login, setUpRestaurant, newCustomer, placeOrder, RESTAURANT } from '../merchant-setup.mjs';
import ops from '../../web/shared/messages/ops.js';

let server;
let b;

before(async () => {
  server = await startServe();
  b = await launch();
});

after(async () => {
  if (b) await b.close();
  if (server) await server.stop();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The English texts of the catalogue (at least 4 characters) that differ in Chinese; a message with
// placeholders gives its fixed pieces of at least 6 characters.
const english = [];
for (const [key, en] of Object.entries(ops.en)) {
  if (typeof en !== 'string' || ops['zh-CN'][key] === en) continue;
  const pieces = en.includes('{') ? en.split(/\{\w+\}/).map((p) => p.trim()).filter((p) => /[A-Za-z]/.test(p) && p.length >= 6) : [en];
  for (const p of pieces) if (p.length >= 4) english.push(p);
}

async function englishLeft(page) {
  const text = await page.evaluate(() => document.body.innerText);
  return english.filter((e) => new RegExp(`(^|[^A-Za-z])${e.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^A-Za-z]|$)`).test(text));
}

/** A driver account approved by the operator, online at the restaurant: `{ id, token }`. */
async function courierAtRestaurant(opsToken) {
  const email = `courier-${unique()}@example.com`;
  const { user_id: id, token } = await call(server.base, 'POST', '/v1/auth/signup', {
    body: { email, password: PASSWORD, name: 'Carla Rossi', role: 'driver' },
  });
  await call(server.base, 'PUT', '/v1/drivers/me/vehicle', { token, body: { make: 'Trek', model: 'FX', colour: 'Blue', plate: `BK ${unique().slice(-4)}` } });
  await call(server.base, 'POST', `/v1/admin/drivers/${id}/approve`, { token: opsToken, key: `approve-${unique()}`, body: { reason: 'bike and licence checked' } });
  await call(server.base, 'POST', '/v1/drivers/me/online', { token });
  await call(server.base, 'POST', '/v1/drivers/me/locations', { token, body: [{ ...RESTAURANT, at: new Date().toISOString() }] });
  return { id, token };
}

test('operators follow food orders live, assign a courier, run merchants and create a promo code in the console', async () => {
  const restaurant = await setUpRestaurant(server);
  const opsToken = restaurant.ops;
  const page = await b.page(DESKTOP);
  await page.goto(`${server.base}/ops/`);
  await page.locator('#auth-email').fill(server.operator.email);
  await page.locator('#auth-password').fill(server.operator.password);
  await page.locator('#auth-submit').click();
  await page.locator('#kpi-open').waitFor();
  await page.locator('#food-today').waitFor();
  assert.match(await page.locator('#food-merchants').textContent(), /1 open/);
  await assertNoAxeViolations(page, 'console-food-live');

  // Orders: empty, then a new order appears and changes state without a reload.
  await page.getByRole('link', { name: 'Orders', exact: true }).click();
  await page.getByRole('heading', { name: 'Food orders' }).waitFor();
  await page.locator('#orders-none').waitFor();
  const customer = await newCustomer(server);
  const order = await placeOrder(server, restaurant, customer);
  const row = page.locator(`tr[data-order="${order.id}"]`);
  await row.locator('[data-state="placed"]').waitFor({ timeout: 10000 });
  assert.match(await row.textContent(), new RegExp(restaurant.name));
  await call(server.base, 'POST', `/v1/orders/${order.id}/accept`, { token: restaurant.staff.token, body: { prep_minutes: 40 } });
  await page.locator(`tr[data-order="${order.id}"][data-state="accepted"]`).waitFor({ timeout: 10000 });
  await screenshot(page, 'ops-orders-1440');
  await assertNoAxeViolations(page, 'console-food-orders');

  // The filter by state hides it, the filter by merchant keeps it.
  await page.getByLabel('State').selectOption('delivered');
  await page.locator('#orders-none').waitFor();
  await page.getByLabel('State').selectOption('');
  await page.getByLabel('Merchant').selectOption(restaurant.merchantId);
  await page.locator(`tr[data-order="${order.id}"]`).waitFor();

  // A courier comes online at the restaurant; the operator opens the order and assigns them.
  const courier = await courierAtRestaurant(opsToken);
  for (let i = 0; ; i++) {
    const fleet = await call(server.base, 'GET', '/v1/admin/fleet', { token: opsToken });
    if (fleet.drivers.some((d) => d.driver_id === courier.id && d.status === 'available')) break;
    if (i > 40) throw new Error('the courier is not on the live map');
    await sleep(250);
  }
  await page.reload();
  await page.locator('#kpi-open, #orders-table').first().waitFor();
  await page.goto(`${server.base}/ops/#/orders/${order.id}`);
  await page.locator('#order-timeline li[data-type="order_placed"]').waitFor();
  await page.locator('#order-timeline li[data-type="order_accepted"]').waitFor();
  await page.locator(`#assign-to option[value="${courier.id}"]`).waitFor({ state: 'attached' });
  await page.getByLabel('Courier', { exact: true }).selectOption(courier.id);
  await page.locator('#assign-reason').fill('the kitchen called: the food is waiting');
  await page.getByRole('button', { name: 'Assign courier' }).click();
  await page.locator(`#order-courier[data-courier="${courier.id}"]`).waitFor();
  await page.locator('#order-timeline li[data-type="order_courier_assigned"]').waitFor();
  const assigned = await call(server.base, 'GET', `/v1/orders/${order.id}`, { token: opsToken });
  assert.equal(assigned.courier_id, courier.id);
  await screenshot(page, 'ops-order-1440');
  await assertNoAxeViolations(page, 'console-food-order');

  // Merchants: open now; its page lists its staff; suspend, then reinstate (the API agrees).
  await page.getByRole('link', { name: 'Merchants', exact: true }).click();
  const mrow = page.locator(`tr[data-merchant="${restaurant.merchantId}"]`);
  await mrow.locator('[data-now="open"]').waitFor();
  await assertNoAxeViolations(page, 'console-food-merchants');
  await mrow.getByRole('link', { name: restaurant.name }).click();
  await page.locator('#staff-list', { hasText: restaurant.staff.email }).waitFor();
  await page.locator('#suspend-reason').fill('hygiene complaint under review');
  await page.getByRole('button', { name: 'Suspend merchant' }).click();
  await page.locator('#merchant-status[data-status="suspended"]').waitFor();
  let m = await call(server.base, 'GET', `/v1/admin/merchants/${restaurant.merchantId}`, { token: opsToken });
  assert.equal(m.status, 'suspended');
  await assertNoAxeViolations(page, 'console-food-merchant');
  await page.locator('#reinstate-reason').fill('inspection passed');
  await page.getByRole('button', { name: 'Reinstate merchant' }).click();
  await page.locator('#merchant-status[data-status="approved"]').waitFor();
  m = await call(server.base, 'GET', `/v1/admin/merchants/${restaurant.merchantId}`, { token: opsToken });
  assert.equal(m.status, 'approved');

  // Promo codes: create one; the list and the API show it.
  await page.getByRole('link', { name: 'Promo codes', exact: true }).click();
  const code = `SPRING${unique().slice(-4).toUpperCase()}`;
  await page.getByLabel('Code', { exact: true }).fill(code);
  await page.getByLabel('Discount').selectOption('percent');
  await page.getByLabel('Value', { exact: true }).fill('15');
  await page.locator('#promo-reason').fill('spring campaign');
  await page.getByRole('button', { name: 'Create promo code' }).click();
  await page.locator(`tr[data-promo="${code}"]`).waitFor();
  const { promos } = await call(server.base, 'GET', '/v1/admin/promos', { token: opsToken });
  const made = promos.find((p) => p.code === code);
  assert.ok(made, 'the API lists the new code');
  assert.equal(made.percent_bps, 1500);
  await screenshot(page, 'ops-promos-1440');
  await assertNoAxeViolations(page, 'console-food-promos');

  // In Simplified Chinese: no English of the catalogue left on these screens, and axe finds nothing.
  for (const [hash, ready] of [
    ['#/orders', `tr[data-order="${order.id}"]`],
    [`#/orders/${order.id}`, '#order-timeline li'],
    ['#/merchants', `tr[data-merchant="${restaurant.merchantId}"]`],
    [`#/merchants/${restaurant.merchantId}`, '#staff-list'],
    ['#/promos', `tr[data-promo="${code}"]`],
    ['#/', '#food-today'],
  ]) {
    await page.goto(`${server.base}/ops/?lang=zh-CN${hash}`);
    await page.locator(ready).first().waitFor();
    assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');
    assert.deepEqual(await englishLeft(page), [], hash);
    await assertNoAxeViolations(page, `console-food-zh ${hash}`);
  }
  assert.equal(await page.locator('[data-nav="orders"]').textContent(), '订单');
});
