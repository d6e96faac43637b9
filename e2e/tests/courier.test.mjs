// The courier's side of the driver app against a real `doorstep serve` (no simulated city, drivers approved
// at sign-up, 60 s to answer an offer): an operator creates a restaurant at Union Square with a menu, a
// customer orders through the API, and the kitchen accepts it and marks it ready through the API, which
// makes the live dispatcher offer it at once to the one online worker. In Chromium that worker (a new
// driver account with a car, its simulated car placed in Union Sq) sees the delivery offer card (the
// restaurant, one order, the pay, the way to the restaurant, the stops numbered on the map, a countdown,
// and the chime), accepts it, drives to the restaurant, arrives, picks up, drives to the customer, gives a
// wrong hand-over code (the tries left show), then the customer's code (read through the API as the
// customer), and the API says delivered. A second order's offer is declined, and the API agrees. In
// Simplified Chinese a third worker's offer card and task screen show no catalogue English, and "Can't
// deliver" ends the order with its reason. Every screen passes axe at 390x844.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { launch, screenshot, PHONE, ROOT } from '../lib.mjs';
import { startServe, setUpRestaurant, newCustomer, placeOrder, call } from '../merchant-setup.mjs';
import { courierOnline, driveToStop, tokenOf } from '../courier-setup.mjs';

// The catalogue is a browser module (web/ has no package.json saying so): loaded from its source.
const source = readFileSync(path.join(ROOT, 'web', 'shared', 'messages', 'driver.js'), 'utf8');
const { default: driverMessages } = await import(`data:text/javascript,${encodeURIComponent(source)}`);

let server;
let b;
let restaurant;
let customer;

before(async () => {
  server = await startServe({ args: ['--auto-approve-drivers', '--offer-timeout-s', '60'] });
  b = await launch();
  restaurant = await setUpRestaurant(server);
  customer = await newCustomer(server);
});

after(async () => {
  if (b) await b.close();
  if (server) await server.stop();
});

/** The customer's view of an order (with its hand-over code). */
const asCustomer = (id) => call(server.base, 'GET', `/v1/orders/${id}`, { token: customer.token });

/** A customer's order that the kitchen accepted and marked ready through the API: the dispatcher offers it now. */
async function readyOrder() {
  const placed = await placeOrder(server, restaurant, customer);
  const token = restaurant.staff.token;
  await call(server.base, 'POST', `/v1/orders/${placed.id}/accept`, { token, body: { prep_minutes: 10 } });
  await call(server.base, 'POST', `/v1/orders/${placed.id}/ready`, { token });
  return placed;
}

/** The primary action is in the bottom bar, on screen at 390x844. */
async function assertInBottomBar(page, selector) {
  const button = page.locator(`.actionbar ${selector}`);
  await button.waitFor();
  const box = await button.boundingBox();
  assert.ok(box && box.y + box.height <= PHONE.height && box.y > PHONE.height / 2, `${selector} at the bottom of the screen: ${JSON.stringify(box)}`);
}

let courier;

test('a courier takes a delivery offer, collects the order and hands it over with the customer’s code', async () => {
  courier = await b.page(PHONE);
  await courierOnline(server, courier, 'Kai');
  const order = await readyOrder();

  // The offer card: the restaurant, one order, the pay, the way to the restaurant, the stops, a countdown.
  const card = courier.locator('#delivery-offer');
  await card.waitFor({ timeout: 20000 });
  assert.equal(await card.getAttribute('data-orders'), '1');
  assert.equal((await courier.locator('#delivery-restaurants').textContent()).trim(), restaurant.name);
  assert.equal((await courier.locator('#delivery-count').textContent()).trim(), '1 order');
  assert.match(await courier.locator('#delivery-pay').textContent(), /^\$\d+\.\d\d$/);
  assert.match(await courier.locator('#delivery-distance').textContent(), /\d+ (m|km) · /);
  assert.match(await courier.locator('#delivery-countdown').textContent(), /^[01]:\d\d$/);
  const stops = courier.locator('#delivery-stops li');
  assert.equal(await stops.count(), 2);
  assert.equal(await stops.nth(0).getAttribute('data-kind'), 'pickup');
  assert.match(await stops.nth(0).textContent(), new RegExp(`Collect at ${restaurant.name}`));
  assert.equal(await stops.nth(1).getAttribute('data-kind'), 'dropoff');
  // On the map: the stops numbered in visiting order.
  assert.equal((await courier.locator('[data-marker="stop-0"] text').textContent()), '1');
  assert.equal((await courier.locator('[data-marker="stop-1"] text').textContent()), '2');
  assert.match(await courier.locator('[data-marker="stop-0"] title').textContent(), new RegExp(`Stop 1: ${restaurant.name}`));
  // The countdown runs.
  const first = await courier.locator('#delivery-countdown').textContent();
  await courier.waitForFunction((was) => document.querySelector('#delivery-countdown')?.textContent !== was, first, { timeout: 5000 });
  // The alert: a visible notice and the chime.
  await courier.locator('#delivery-alert').waitFor();
  await courier.waitForFunction(() => window.__tones > 0, null, { timeout: 5000 });
  await assertInBottomBar(courier, '#delivery-accept');
  await screenshot(courier, 'courier-offer-390');

  // Accept: the task screen, to the restaurant.
  await courier.locator('#delivery-accept').click();
  await courier.locator('#delivery-state[data-step="to_restaurant"]').waitFor();
  assert.equal((await courier.locator('#stop-name').textContent()).trim(), restaurant.name);
  assert.equal((await courier.locator('#stop-address').textContent()).trim(), '1 Union Square W');
  assert.match(await courier.locator('#stop-position').textContent(), /Stop 1 of 2/);
  const me = (await call(server.base, 'GET', '/v1/me', { token: await tokenOf(courier) })).user_id;
  let o = await asCustomer(order.id);
  assert.equal(o.courier_id, me, 'the order is the courier’s');
  await courier.locator(`#courier-orders li[data-order="${order.id}"] [aria-current="step"]`, { hasText: 'To restaurant' }).waitFor();
  await assertInBottomBar(courier, '#courier-arrived');
  await screenshot(courier, 'courier-to-restaurant-390');

  // The simulated car drives there (3× real time) while the app reports its position.
  await courier.getByLabel('Simulated speed').selectOption('3');
  await driveToStop(courier);
  await courier.locator('#courier-arrived').click();
  await courier.locator('#delivery-state[data-step="at_restaurant"]').waitFor();
  assert.match(await courier.locator('#stop-items').textContent(), /2 × Pad thai[\s\S]*Large, Egg[\s\S]*Note: no peanuts please[\s\S]*1 × Thai iced tea/);
  await assertInBottomBar(courier, '#courier-picked-up');
  await screenshot(courier, 'courier-at-restaurant-390');
  await courier.locator('#courier-picked-up').click();
  await courier.locator('#delivery-state[data-step="to_customer"]').waitFor();
  assert.equal((await asCustomer(order.id)).state, 'picked_up');
  assert.equal((await courier.locator('#stop-address').textContent()).trim(), '200 Park Ave S, apt 4');
  assert.match(await courier.locator('#stop-position').textContent(), /Stop 2 of 2/);
  assert.equal(await courier.locator('#handover-code').getAttribute('inputmode'), 'numeric');
  await assertInBottomBar(courier, '#courier-delivered');

  // At the door: a wrong code first (the tries left), then the customer's.
  await driveToStop(courier);
  o = await asCustomer(order.id);
  assert.match(o.handover_code, /^\d{4}$/);
  const wrong = o.handover_code === '0000' ? '1111' : '0000';
  await courier.locator('#handover-code').fill(wrong);
  await courier.locator('#courier-delivered').click();
  const status = courier.locator('#handover-status[data-tries-left="4"]');
  await status.waitFor();
  assert.equal((await status.textContent()).trim(), 'Wrong code. 4 tries left before the code is locked.');
  assert.equal((await asCustomer(order.id)).state, 'picked_up', 'a wrong code delivers nothing');
  await screenshot(courier, 'courier-handover-wrong-390');
  // A code that is not 4 digits is not sent.
  await courier.locator('#handover-code').fill('12');
  await courier.locator('#courier-delivered').click();
  await courier.locator('#courier-error', { hasText: 'The hand-over code has 4 digits.' }).waitFor();
  await courier.locator('#handover-code').fill(o.handover_code);
  await courier.locator('#courier-delivered').click();
  await courier.locator('#delivery-state[data-step="done"]').waitFor();
  await courier.locator(`#finished-orders li[data-order="${order.id}"][data-state="delivered"]`).waitFor();
  assert.equal((await asCustomer(order.id)).state, 'delivered');
  await screenshot(courier, 'courier-done-390');
  await courier.locator('#courier-next').click();
  await courier.getByRole('heading', { name: 'You are online' }).waitFor();
  assert.deepEqual(courier.errors, []);
});

test('a declined delivery offer leaves the screen, and the API says it was declined', async () => {
  const order = await readyOrder();
  const card = courier.locator('#delivery-offer');
  await card.waitFor({ timeout: 20000 });
  const offerId = await card.getAttribute('data-offer');
  const token = await tokenOf(courier);
  const pending = (await call(server.base, 'GET', '/v1/delivery-offers', { token })).offers.find((x) => x.offer_id === offerId);
  assert.deepEqual(pending.orders.map((x) => x.order_id), [order.id], 'the offer on screen is of the new order');
  const answer = courier.waitForResponse((r) => r.url().endsWith(`/v1/delivery-offers/${offerId}/decline`));
  await courier.locator('#delivery-decline').click();
  const declined = await (await answer).json();
  assert.deepEqual(declined, { offer_id: offerId, state: 'declined' });
  await card.waitFor({ state: 'detached' });
  await courier.getByRole('heading', { name: 'You are online' }).waitFor();
  const { offers } = await call(server.base, 'GET', '/v1/delivery-offers', { token });
  assert.ok(!offers.some((x) => x.offer_id === offerId), 'the declined offer is no longer pending');
  const late = await call(server.base, 'POST', `/v1/delivery-offers/${offerId}/accept`, { token, expect: 409 });
  assert.equal(late.code, 'offer_not_pending');
  const o = await asCustomer(order.id);
  assert.equal(o.courier_id, null, 'nobody carries the declined order');
  // The order is cancelled so that no other courier of this file is offered it; this courier goes offline.
  await call(server.base, 'POST', `/v1/orders/${order.id}/cancel`, { token: customer.token });
  await courier.getByRole('button', { name: 'Go offline' }).click();
  await courier.getByRole('heading', { name: 'You are offline' }).waitFor();
  assert.deepEqual(courier.errors, []);
  await courier.context().close();
});

// The English texts that must not show in Chinese (as in i18n-driver.test.mjs): the catalogue's English of
// 4 or more characters that differs in Chinese.
const english = (() => {
  const { en, 'zh-CN': zh } = driverMessages;
  const out = new Set();
  for (const [key, value] of Object.entries(en)) {
    const forms = typeof value === 'function' ? [value({ n: 1 }), value({ n: 2 })] : [value];
    const zhForms = typeof zh[key] === 'function' ? [zh[key]({ n: 1 }), zh[key]({ n: 2 })] : [zh[key]];
    for (const form of forms) {
      if (zhForms.includes(form)) continue;
      for (const piece of form.split(/\{\w+\}/)) if (piece.trim().length >= 4) out.add(piece.trim());
    }
  }
  return [...out];
})();

async function assertNoEnglish(page, where) {
  const text = await page.evaluate(() => document.querySelector('#panel').innerText);
  const left = english.filter((e) => text.includes(e));
  assert.deepEqual(left, [], `${where}: English left on screen`);
}

test('in Simplified Chinese the offer card and the task screen show no catalogue English; “Can’t deliver” ends the order', async () => {
  assert.ok(english.some((e) => e === 'New delivery offer'), 'the delivery messages are in the list');
  const page = await b.page(PHONE);
  await courierOnline(server, page, 'Wang', { lang: 'zh-CN' });
  const order = await readyOrder();
  await page.locator('#delivery-offer').waitFor({ timeout: 20000 });
  await page.getByRole('heading', { name: '新的配送订单' }).waitFor();
  assert.equal((await page.locator('#delivery-count').textContent()).trim(), '1 单');
  await assertNoEnglish(page, 'offer');
  await screenshot(page, 'courier-zh-offer-390');
  await page.getByRole('button', { name: '接受' }).click();
  await page.locator('#delivery-state[data-step="to_restaurant"]').waitFor();
  await page.getByRole('button', { name: '已到达餐厅' }).waitFor();
  await assertNoEnglish(page, 'task');
  await screenshot(page, 'courier-zh-to-restaurant-390');

  // Can't deliver: the reasons open, one is confirmed, and the order ends with it.
  await page.getByRole('button', { name: '无法送达' }).click();
  await page.getByRole('button', { name: '餐厅没有可交付的餐品' }).click();
  await page.getByRole('heading', { name: '以未送达结束此订单？' }).waitFor();
  await page.locator('#dlg-confirm').click();
  await page.locator('#delivery-state[data-step="done"]').waitFor();
  await page.locator(`#finished-orders li[data-order="${order.id}"][data-state="undeliverable"]`, { hasText: '未送达' }).waitFor();
  await assertNoEnglish(page, 'summary');
  const o = await asCustomer(order.id);
  assert.equal(o.state, 'undeliverable');
  assert.equal(o.undeliverable_reason, 'pickup_unavailable');
  await screenshot(page, 'courier-zh-ended-390');
  // Back to offers, and offline: no later order of this file is offered to this courier.
  await page.getByRole('button', { name: '返回订单' }).click();
  await page.getByRole('button', { name: '下线' }).click();
  await page.locator('#online.go-online').waitFor();
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
