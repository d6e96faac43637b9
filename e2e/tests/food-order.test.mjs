// A whole food order in three browsers against a real `doorstep serve` (no simulated city; drivers
// approved at sign-up, 60 s to answer an offer): an operator creates a restaurant at Union Square with a
// menu and a staff account through the API; everything after that happens in the apps. The customer (the
// rider app's Food tab) orders; the kitchen (the merchant app) accepts it with a prep time and marks it
// ready; the live dispatcher offers it to the courier (the driver app), who accepts, drives to the
// restaurant, picks it up, drives to the door and hands it over with the code the customer's screen
// shows; the customer's tracking screen follows every step to delivered, the receipt shows, and the
// customer rates the restaurant and the courier (the ratings the API then has).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, screenshot, PHONE, signUp } from '../lib.mjs';
import { startServe, setUpRestaurant, logInToKitchen, call, TABLET } from '../merchant-setup.mjs';
import { courierOnline, driveToStop, tokenOf } from '../courier-setup.mjs';

let server;
let b;
let restaurant;

before(async () => {
  server = await startServe({ args: ['--auto-approve-drivers', '--offer-timeout-s', '60'] });
  b = await launch();
  restaurant = await setUpRestaurant(server);
});

after(async () => {
  if (b) await b.close();
  if (server) await server.stop();
});

/** The customer's tracking screen, once the order is `state`. */
const tracking = (page, state) => page.locator(`#order-state[data-state="${state}"]`).waitFor({ timeout: 30000 });

test('a customer orders in the Food tab, the kitchen and the courier take it through their apps to the door, and the customer rates it', async () => {
  const [customer, kitchen, courier] = [await b.page(PHONE), await b.page(TABLET), await b.page(PHONE)];

  // The courier goes online near the restaurant, and the kitchen opens its board.
  await courierOnline(server, courier, 'Kai');
  await logInToKitchen(kitchen, server.base, restaurant.staff.email);

  // The customer orders a regular pad thai, delivered a few blocks away.
  await customer.goto(`${server.base}/rider/`);
  await signUp(customer, 'Fern');
  // Food is paid by card: the customer's test card, added through the API.
  await customer.locator('#svc-food').waitFor();
  const customerToken = await customer.evaluate(() => JSON.parse(localStorage.getItem('doorstep.rider.session')).token);
  await call(server.base, 'POST', '/v1/me/payment-methods', {
    body: { kind: 'test_card', number: '4242 4242 4242 4242' },
    token: customerToken,
    expect: 201,
  });
  await customer.locator('#svc-food').click();
  await customer.locator('#food-address').fill('Gramercy Park');
  await customer.locator('#food-address').dispatchEvent('change');
  await customer.locator(`[data-open-merchant="${restaurant.merchantId}"]`).click();
  await customer.locator('#menu-title', { hasText: restaurant.name }).waitFor();
  await customer.getByRole('button', { name: /Pad thai/ }).click();
  await customer.locator('dialog.sheet').getByLabel('Regular').check();
  await customer.locator('#sheet-add').click();
  await customer.locator('#food-cart-button').click();
  await customer.getByRole('button', { name: 'Go to checkout' }).click();
  await customer.locator('#quote-table').waitFor();
  const total = (await customer.locator('#q-total td').last().textContent()).trim();
  await customer.getByRole('button', { name: `Place order · ${total}` }).click();
  await tracking(customer, 'placed');
  const orderId = await customer.locator('#order-state').getAttribute('data-order');
  const code = (await customer.locator('#handover-code').textContent()).trim();
  assert.match(code, /^\d{4}$/);

  // The kitchen: the new order rings in; accepted with a 10-minute prep time, then marked ready.
  const card = kitchen.locator(`#col-new [data-order="${orderId}"]`);
  await card.waitFor({ timeout: 15000 });
  await card.getByRole('button', { name: 'Accept · 10 min' }).click();
  await kitchen.locator(`#col-kitchen [data-order="${orderId}"][data-state="accepted"]`).waitFor();
  await tracking(customer, 'accepted');
  await kitchen.locator(`[data-order="${orderId}"]`).getByRole('button', { name: 'Mark ready' }).click();
  await kitchen.locator(`#col-ready [data-order="${orderId}"][data-state="ready"]`).waitFor();
  await tracking(customer, 'ready');

  // The courier: the offer of this order, accepted; to the restaurant, arrived, picked up.
  const offer = courier.locator('#delivery-offer');
  await offer.waitFor({ timeout: 20000 });
  assert.equal((await courier.locator('#delivery-restaurants').textContent()).trim(), restaurant.name);
  const pending = await call(server.base, 'GET', '/v1/delivery-offers', { token: await tokenOf(courier) });
  assert.deepEqual(pending.offers[0].orders.map((o) => o.order_id), [orderId]);
  await courier.locator('#delivery-accept').click();
  await courier.locator('#delivery-state[data-step="to_restaurant"]').waitFor();
  // The customer sees who is coming.
  await customer.locator('#courier-name', { hasText: 'Kai' }).waitFor({ timeout: 20000 });
  await courier.getByLabel('Simulated speed').selectOption('3');
  await driveToStop(courier);
  await courier.locator('#courier-arrived').click();
  await courier.locator('#delivery-state[data-step="at_restaurant"]').waitFor();
  await courier.locator('#courier-picked-up').click();
  await courier.locator('#delivery-state[data-step="to_customer"]').waitFor();
  await tracking(customer, 'picked_up');
  // The kitchen's board moves it out of "ready".
  await kitchen.locator(`#col-ready [data-order="${orderId}"]`).waitFor({ state: 'detached', timeout: 15000 });

  // At the door: the code the customer's screen shows.
  await driveToStop(courier);
  await courier.locator('#handover-code').fill(code);
  await courier.locator('#courier-delivered').click();
  await courier.locator(`#finished-orders li[data-order="${orderId}"][data-state="delivered"]`).waitFor();

  // The customer: delivered, the receipt with the total quoted, and ratings for the restaurant and the courier.
  await customer.locator('#food-receipt-title').waitFor({ timeout: 30000 });
  assert.equal((await customer.locator('#receipt-total').textContent()).trim(), total);
  const form = customer.locator('#food-rate-form');
  await form.waitFor();
  await form.locator('fieldset[data-stars="merchant_stars"]').getByLabel('4 stars').check({ force: true });
  await form.locator('fieldset[data-stars="courier_stars"]').getByLabel('5 stars').check({ force: true });
  await customer.locator('#food-rate-comment').fill('hot and on time');
  await customer.locator('#food-rate-submit').click();
  await customer.locator('#food-rate-done', { hasText: 'Thanks for your rating!' }).waitFor();
  await screenshot(customer, 'food-order-receipt-rated-390');

  // The API agrees: delivered by this courier, and both ratings recorded.
  // (the customer's token, read above)
  const done = await call(server.base, 'GET', `/v1/orders/${orderId}`, { token: customerToken });
  assert.equal(done.state, 'delivered');
  const courierId = (await call(server.base, 'GET', '/v1/me', { token: await tokenOf(courier) })).user_id;
  assert.equal(done.courier_id, courierId);
  const ratings = await call(server.base, 'GET', `/v1/orders/${orderId}/ratings`, { token: customerToken });
  const stars = Object.fromEntries(ratings.ratings.map((r) => [r.whom, r.stars]));
  assert.deepEqual(stars, { merchant: 4, courier: 5 }, JSON.stringify(ratings));
  await kitchen.locator(`[data-order="${orderId}"]`).first().waitFor();

  for (const page of [customer, kitchen, courier]) assert.deepEqual(page.errors, []);
  for (const page of [customer, kitchen, courier]) await page.context().close();
  assert.deepEqual(b.foreign, [], 'nothing left localhost');
});
