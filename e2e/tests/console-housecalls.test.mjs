// The operations console's house calls against a real `doorstep serve` (no demo city): an operator adds a
// service, approves one provider, and a customer books them for tomorrow; in the console's House calls
// tab the calendar shows the visit as a block and the table lists it; the vetting panel approves a second
// provider waiting (the API agrees); the provider presses SOS and a banner appears on the console with
// the provider, the visit and the position, which the operator acknowledges with a reason (the API
// agrees, the banner goes). axe finds nothing on these screens.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, screenshot, assertNoAxeViolations, DESKTOP, PASSWORD, unique } from '../lib.mjs';
import { startServe, call, login } from '../merchant-setup.mjs';

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

const BRYANT_PARK = { lat: 40.7536, lng: -73.9832 };
const TIMES_SQUARE = { lat: 40.758, lng: -73.9855 };
const DAY = [{ open: '06:00', close: '22:00' }];
const WEEK = Object.fromEntries(['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'].map((d) => [d, DAY]));

/** Tomorrow in New York, YYYY-MM-DD. */
function tomorrow() {
  const d = new Date(Date.now() + 86400000);
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York', year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
}

/** A provider account with a profile offering `service`; approved by `ops` when asked. */
async function provider(ops, service, name, { approve }) {
  const email = `provider-${unique()}@example.com`;
  const { user_id: id, token } = await call(server.base, 'POST', '/v1/auth/signup', { body: { email, password: PASSWORD, name, role: 'provider' } });
  await call(server.base, 'PUT', '/v1/providers/me', {
    token,
    body: { bio: 'Ten years of practice', home: BRYANT_PARK, area_m: 5000, daily_cap: 8, service_ids: [service], hours: WEEK },
  });
  if (approve) {
    await call(server.base, 'POST', `/v1/admin/providers/${id}/approve`, { token: ops, key: `approve-${unique()}`, body: { reason: 'licence and insurance checked' } });
  }
  return { id, token, name };
}

test('operators see a booked visit on the calendar, approve a provider and acknowledge an SOS in the console', async () => {
  const ops = await login(server.base, server.operator.email, server.operator.password);
  const service = await call(server.base, 'POST', '/v1/admin/house-calls/services', {
    token: ops,
    key: `service-${unique()}`,
    body: {
      reason: 'new in the catalogue', name: 'Swedish massage, 60 minutes', description: 'Full body, table and oils brought along',
      duration_min: 60, prep_min: 15, price: { amount: 9500, currency: 'USD' }, active: true,
    },
    expect: 201,
  });
  const ana = await provider(ops, service.id, 'Ana Lopez', { approve: true });
  const ben = await provider(ops, service.id, 'Ben Okafor', { approve: false });
  const customer = await call(server.base, 'POST', '/v1/auth/signup', { body: { email: `client-${unique()}@example.com`, password: PASSWORD, name: 'Cara Client', role: 'rider' } });
  await call(server.base, 'POST', '/v1/me/payment-methods', { token: customer.token, body: { kind: 'test_card', number: '4242 4242 4242 4242' }, expect: 201 });
  const day = tomorrow();
  const free = await call(server.base, 'GET',
    `/v1/house-calls/availability?service_id=${service.id}&lat=${TIMES_SQUARE.lat}&lng=${TIMES_SQUARE.lng}&from=${day}&to=${day}&provider_id=${ana.id}`,
    { token: customer.token });
  const slot = free.slots.find((s) => new Date(s.start).getUTCHours() >= 14) || free.slots[0];
  assert.ok(slot, 'tomorrow has a free slot');
  const booking = await call(server.base, 'POST', '/v1/house-calls/bookings', {
    token: customer.token,
    key: `book-${unique()}`,
    body: { service_id: service.id, location: TIMES_SQUARE, address: '1 Times Square, 5th floor', start: slot.start, provider_id: ana.id },
    expect: 201,
  });

  const page = await b.page(DESKTOP);
  await page.goto(`${server.base}/ops/`);
  await page.locator('#auth-email').fill(server.operator.email);
  await page.locator('#auth-password').fill(server.operator.password);
  await page.locator('#auth-submit').click();
  await page.locator('#kpi-open').waitFor();

  // The day: the visit as a block on Ana's row, and as a row of the table.
  await page.getByRole('link', { name: 'House calls', exact: true }).click();
  await page.getByRole('heading', { name: 'House calls', level: 1 }).waitFor();
  await page.locator('#hc-total').waitFor();
  await page.getByLabel('Day', { exact: true }).fill(day);
  const row = page.locator(`#hc-list tr[data-booking="${booking.id}"]`);
  await row.waitFor();
  assert.match(await row.textContent(), /Ana Lopez/);
  assert.match(await row.textContent(), /Cara Client/);
  await page.locator(`.hc-row[data-provider="${ana.id}"] .hc-visit[data-booking="${booking.id}"]`).waitFor();
  assert.equal(await page.locator('.hc-cal').getAttribute('aria-hidden'), 'true');
  assert.equal(await page.locator('#hc-total .v').textContent(), '1');
  await page.locator(`#hc-util tr[data-provider="${ana.id}"]`).waitFor();
  await screenshot(page, 'ops-housecalls-1440');
  await assertNoAxeViolations(page, 'console-housecalls-day');

  // Vetting: Ben waits; the operator approves him with a reason.
  const ben_item = page.locator(`.vet-list li[data-provider="${ben.id}"]`);
  await ben_item.waitFor();
  assert.equal(await ben_item.getAttribute('data-approval'), 'pending');
  await page.locator(`#vet-reason-${ben.id}`).fill('licence and insurance checked');
  await page.getByRole('button', { name: 'Approve Ben Okafor' }).click();
  await page.locator(`.vet-list li[data-provider="${ben.id}"][data-approval="approved"]`).waitFor();
  const { providers } = await call(server.base, 'GET', '/v1/admin/providers', { token: ops });
  assert.equal(providers.find((p) => p.user_id === ben.id).approval, 'approved');

  // SOS: the provider presses it; the banner shows it on the console; the operator acknowledges it.
  await call(server.base, 'POST', '/v1/providers/me/location', { token: ana.token, body: TIMES_SQUARE });
  const alert = await call(server.base, 'POST', `/v1/house-calls/bookings/${booking.id}/sos`, {
    token: ana.token, body: { note: 'the customer is shouting' }, expect: 201,
  });
  const banner = page.locator(`#sos-banner li[data-alert="${alert.alert_id}"]`);
  await banner.waitFor({ timeout: 20000 });
  const text = await banner.textContent();
  assert.match(text, /SOS from Ana Lopez/);
  assert.match(text, /1 Times Square/);
  assert.match(text, /40\.758/);
  assert.match(text, /the customer is shouting/);
  await screenshot(page, 'ops-sos-1440');
  await assertNoAxeViolations(page, 'console-housecalls-sos');
  await page.locator(`#ack-reason-${alert.alert_id}`).fill('called the provider, police on the way');
  await page.getByRole('button', { name: 'Acknowledge' }).click();
  await page.locator('#sos-banner').waitFor({ state: 'hidden' });
  const { alerts } = await call(server.base, 'GET', '/v1/admin/sos-alerts', { token: ops });
  const done = alerts.find((a) => a.alert_id === alert.alert_id);
  assert.ok(done.acknowledged_at, 'the API has it acknowledged');
  const audit = await call(server.base, 'GET', `/v1/admin/audit?target=${alert.alert_id}`, { token: ops });
  assert.equal(audit.entries.length, 1);
  assert.equal(audit.entries[0].action, 'acknowledge_sos');
  await assertNoAxeViolations(page, 'console-housecalls-after');
  assert.deepEqual(page.errors, []);
});
