// The Services tab of the customer app (house calls) against a real `doorstep serve`: the operator adds a
// 60-minute massage to the catalogue and approves a provider who lives by Bryant Park and works all week
// (through the API). In Chromium a fresh customer opens Services from home, chooses the service, an
// address (the address search) and a day, sees the day's free times by part of the day, picks one (held),
// confirms, and reads the booking card (state, the check-in code); the visit is in the upcoming list and
// the provider's; cancelling it three days ahead is free. A slot another customer took meanwhile answers
// "That slot was just taken" with the fresh times from the 409's body; a visit within 24 hours warns of
// the fee before cancelling and shows the fee charged after. Every screen passes axe at 390x844.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, screenshot, PHONE, signUp } from '../lib.mjs';
import {
  startServe, call, operatorToken, hasHouseCallAdmin, createService, setUpProvider, newCustomer, addCard, slots, book, nyDate, addDays,
} from '../provider-setup.mjs';

let server;
let b;
let ops;
let service;
let provider;
/** Why the tests cannot run on this server (the operators' house-call API is missing), or null. */
let missing = null;

before(async () => {
  server = await startServe();
  b = await launch();
  ops = await operatorToken(server);
  if (!(await hasHouseCallAdmin(server, ops))) {
    missing = 'the server has no /v1/house-calls/services nor /v1/admin/providers (house calls, operators’ side)';
    return;
  }
  service = await createService(server, ops, { name: 'Swedish massage, 60 min', amount: 8000 });
  provider = await setUpProvider(server, ops, service.id);
});

after(async () => {
  if (b) await b.close();
  if (server) await server.stop();
});

/** The rider app's token on `page` (its session in localStorage). */
async function tokenOf(page) {
  return page.evaluate(() => JSON.parse(localStorage.getItem('doorstep.rider.session')).token);
}

/** A fresh customer signed up on the rider app (with a test card: house calls are paid by card or
 *  wallet), on the Services tab with the service and address chosen. */
async function openServices(name) {
  const page = await b.page(PHONE);
  await page.goto(`${server.base}/rider/`);
  await signUp(page, name);
  await page.locator('#svc-home').waitFor();
  await addCard(server, await tokenOf(page));
  await page.locator('#svc-home').click();
  await page.getByRole('heading', { name: 'Book a house call' }).waitFor();
  await page.locator('#hc-service').selectOption(service.id);
  await page.getByRole('combobox', { name: 'Where' }).fill('Grand Central');
  await page.getByRole('combobox', { name: 'Where' }).dispatchEvent('change');
  return page;
}

/** Chooses the day `n` days from today on the form; resolves once its times (or none) show. */
async function chooseDay(page, n) {
  await page.locator('fieldset.days label').nth(n).click();
  assert.equal(await page.locator('input[name=hc-day]').nth(n).isChecked(), true);
  await page.locator('#hc-slots .slot, #hc-no-slots').first().waitFor();
}

test('a customer books a house call in the Services tab, sees it, and cancels it for free', async (t) => {
  if (missing) return t.skip(missing);
  const page = await openServices('Cara');
  await screenshot(page, 'services-form-390');
  // Three days ahead: more than 24 hours' notice, so cancelling is free.
  await chooseDay(page, 3);
  const first = page.locator('#hc-slots .slot').first();
  await first.waitFor();
  assert.ok((await page.locator('h3.part').count()) >= 2, 'times grouped by part of the day');
  assert.ok(await page.locator('#hc-part-morning').isVisible());
  assert.equal(await page.locator('#hc-provider').inputValue(), '', 'any provider by default');
  await screenshot(page, 'services-slots-390');

  const start = await first.getAttribute('data-start');
  assert.equal(nyDate(new Date(start)), addDays(nyDate(), 3));
  await first.click();
  await page.getByRole('heading', { name: 'Confirm your visit' }).waitFor();
  await page.locator('#hc-held', { hasText: 'Held for you until' }).waitFor();
  assert.equal((await page.locator('#hc-price').textContent()).trim(), '$80.00');
  assert.match(await page.locator('#hc-pay option:checked').textContent(), /4242/, 'paid with the card');
  await screenshot(page, 'services-confirm-390');

  await page.getByRole('button', { name: 'Book for $80.00' }).click();
  const card = page.locator('#hc-booking[data-state="confirmed"]');
  await card.waitFor();
  const id = await card.getAttribute('data-booking');
  const code = (await page.locator('#hc-code').textContent()).trim();
  assert.match(code, /^\d{4,8}$/, 'the check-in code');
  await page.locator('#hc-provider-name', { hasText: provider.id.slice(-6) }).waitFor();
  await screenshot(page, 'services-booking-390');

  // The server agrees, and the provider has the visit.
  const token = await tokenOf(page);
  const booked = await call(server.base, 'GET', `/v1/house-calls/bookings/${id}`, { token });
  assert.equal(booked.state, 'confirmed');
  assert.equal(booked.start, start);
  assert.equal(booked.checkin_code, code);
  assert.equal(booked.provider_choice, 'any');
  const theirs = await call(server.base, 'GET', '/v1/house-calls/bookings?days=14', { token: provider.token });
  assert.ok(theirs.bookings.some((x) => x.id === id), 'on the provider’s list');

  // The upcoming visits list it; its card cancels it, free three days ahead.
  await page.getByRole('button', { name: 'All your visits' }).click();
  await page.locator(`#hc-upcoming [data-booking="${id}"]`).click();
  await page.locator(`#hc-booking[data-booking="${id}"]`).waitFor();
  await page.getByRole('button', { name: 'Cancel visit' }).click();
  await page.locator('#hc-cancel-warning[data-late="false"]', { hasText: 'free up to 24 hours' }).waitFor();
  await screenshot(page, 'services-cancel-dialog-390');
  await page.locator('#dlg-confirm').click();
  await page.locator('#hc-booking[data-state="cancelled"]').waitFor();
  await page.locator('#hc-cancel-fee', { hasText: 'Cancelled free of charge.' }).waitFor();
  assert.equal(await page.locator('#hc-code').count(), 0, 'no code on a cancelled visit');
  await screenshot(page, 'services-cancelled-390');
  assert.equal((await call(server.base, 'GET', `/v1/house-calls/bookings/${id}`, { token })).state, 'cancelled');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('a slot taken meanwhile says so and shows the times still free that day', async (t) => {
  if (missing) return t.skip(missing);
  const page = await openServices('Dev');
  await chooseDay(page, 2);
  const first = page.locator('#hc-slots .slot').first();
  const start = await first.getAttribute('data-start');
  // Another customer books that very start (with the only provider) before this one picks it.
  const other = await newCustomer(server, 'Olu Other');
  await book(server, other, service.id, start);
  await first.click();
  await page.locator('#hc-taken', { hasText: 'That slot was just taken' }).waitFor();
  assert.equal(await page.locator(`#hc-slots [data-start="${start}"]`).count(), 0, 'the taken time is gone');
  assert.ok((await page.locator('#hc-slots .slot').count()) > 0, 'the fresh times are shown');
  await screenshot(page, 'services-taken-390');
  // One of the fresh times books.
  await page.locator('#hc-slots .slot').first().click();
  await page.getByRole('heading', { name: 'Confirm your visit' }).waitFor();
  await page.locator('#hc-book').click();
  await page.locator('#hc-booking[data-state="confirmed"]').waitFor();
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('cancelling within 24 hours warns of the fee first and shows the fee charged', async (t) => {
  if (missing) return t.skip(missing);
  const page = await openServices('Eve');
  const token = await tokenOf(page);
  // The first free start from tomorrow on, booked through the API for this customer.
  const free = await slots(server, { token }, service.id, { from: addDays(nyDate(), 1), days: 1 });
  const start = free[0].start;
  const made = await book(server, { token }, service.id, start);
  const late = new Date(start).getTime() - Date.now() < 24 * 3600 * 1000;
  await page.reload();
  await page.locator('#svc-home').click();
  await page.locator(`#hc-upcoming [data-booking="${made.id}"]`).click();
  await page.locator(`#hc-booking[data-booking="${made.id}"]`).waitFor();
  assert.equal(await page.locator('#hc-late-hint').count(), late ? 1 : 0);
  await page.getByRole('button', { name: 'Cancel visit' }).click();
  await page.locator(`#hc-cancel-warning[data-late="${late}"]`).waitFor();
  await page.locator('#dlg-confirm').click();
  await page.locator('#hc-booking[data-state="cancelled"]').waitFor();
  const after = await call(server.base, 'GET', `/v1/house-calls/bookings/${made.id}`, { token });
  if (late) {
    assert.equal(after.cancel_fee.amount, 4000, 'half the price within 24 hours');
    await page.locator('#hc-cancel-fee', { hasText: 'Cancelled. Fee charged: $40.00.' }).waitFor();
  } else {
    await page.locator('#hc-cancel-fee', { hasText: 'Cancelled free of charge.' }).waitFor();
  }
  await screenshot(page, 'services-cancelled-late-390');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('without the catalogue, the Services tab says no service can be booked', async (t) => {
  if (!missing) return t.skip('the server has the catalogue');
  const page = await b.page(PHONE);
  await page.goto(`${server.base}/rider/`);
  await signUp(page, 'Fay');
  await page.locator('#svc-home').click();
  await page.locator('#hc-no-services').waitFor();
  await screenshot(page, 'services-empty-390');
  await page.context().close();
});
