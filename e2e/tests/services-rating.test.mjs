// After a house call, in the rider app's Services tab: the visit (booked and completed through the API
// by the customer and the provider, as their phones would) shows as completed, the customer rates the
// provider, and blocks them; the provider is then never offered to this customer. axe at 390x844.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, screenshot, PHONE, signUp } from '../lib.mjs';
import {
  startServe, call, operatorToken, createService, setUpProvider, addCard, slots, book,
} from '../provider-setup.mjs';

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

test('a customer rates a completed visit and blocks the provider', async () => {
  const ops = await operatorToken(server);
  const service = await createService(server, ops, { name: 'Manicure', amount: 4000, duration_min: 45 });
  const provider = await setUpProvider(server, ops, service.id);
  const page = await b.page(PHONE);
  await page.goto(`${server.base}/rider/`);
  await signUp(page, 'Rosa');
  await page.locator('#svc-home').waitFor();
  const token = await page.evaluate(() => JSON.parse(localStorage.getItem('doorstep.rider.session')).token);
  const customer = { token };
  await addCard(server, token);
  const free = await slots(server, customer, service.id, { providerId: provider.id });
  assert.ok(free.length > 0, 'a free slot this week');
  const visit = await book(server, customer, service.id, free[0].start);
  // The provider's phone: at the door, on the way, arrived, checked in with the code, done.
  const step = (name, body = {}) => call(server.base, 'POST', `/v1/house-calls/bookings/${visit.id}/${name}`, { token: provider.token, body });
  await call(server.base, 'POST', '/v1/providers/me/location', { token: provider.token, body: visit.location, expect: 204 });
  await step('on-my-way', { eta_min: 10 });
  await step('arrive');
  await step('check-in', { code: visit.checkin_code });
  await step('check-out');

  await page.locator('#svc-home').click();
  await page.locator(`[data-booking="${visit.id}"]`).first().click();
  await page.locator('#hc-booking[data-state="completed"]').waitFor();
  await page.locator('#hc-stars').selectOption('5');
  await page.locator('#hc-comment').fill('Lovely work');
  await screenshot(page, 'services-rate-390');
  await page.getByRole('button', { name: 'Send rating' }).click();
  await page.locator('#hc-notice', { hasText: 'Thank you' }).waitFor();
  const ratings = await call(server.base, 'GET', `/v1/house-calls/bookings/${visit.id}/ratings`, { token });
  assert.equal(ratings.ratings.length, 1);
  assert.equal(ratings.ratings[0].stars, 5);
  assert.equal(ratings.ratings[0].rated_user_id, provider.id);

  await page.getByRole('button', { name: 'Never book this provider again' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Never book this provider again' }).click();
  await page.locator('#hc-notice', { hasText: 'will not be booked' }).waitFor();
  await screenshot(page, 'services-blocked-390');
  const r = await fetch(`${server.base}/v1/house-calls/availability?service_id=${service.id}&lat=${visit.location.lat}&lng=${visit.location.lng}&from=${free[0].start.slice(0, 10)}&to=${free[0].start.slice(0, 10)}&provider_id=${provider.id}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(r.status, 404, 'the blocked provider is not offered');
  assert.deepEqual(page.errors, []);
});
