// Money in the browser against `doorstep demo --speed 20`: a rider adds a test card, pays a ride with it
// (a demo driver takes it), reads the receipt (quote against final fare, why they differ, how it was
// paid), tips, and the tip's ledger posting balances (read through the operators' read-only API).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startDemo, launch, screenshot, api, PHONE, PASSWORD, DEMO_OPERATOR, unique, signUp, goOnlineIn, offerToDriver,
} from '../lib.mjs';

let demo;
let b;

before(async () => {
  demo = await startDemo({ speed: 20 });
  b = await launch();
});

after(async () => {
  if (b) await b.close();
  if (demo) await demo.stop();
});

const MONEY = /^\$\d+\.\d\d$/;

test('a rider pays a ride by test card, sees quote against final fare on the receipt, and tips once with balanced postings', async () => {
  const page = await b.page(PHONE);
  await page.goto(`${demo.base}/rider/`);
  await signUp(page, 'Mona');

  // Payment methods: a declined number is refused at request later; a good one is added and chosen.
  await page.getByRole('button', { name: 'Payment methods' }).click();
  await page.getByRole('heading', { name: 'Payment methods', level: 1 }).waitFor();
  await page.getByLabel('Card number').fill('1234 5678');
  await page.getByRole('button', { name: 'Add card' }).click();
  await page.locator('#card-error', { hasText: /card number/i }).waitFor();
  await page.getByLabel('Card number').fill('4242 4242 4242 4242');
  await page.getByRole('button', { name: 'Add card' }).click();
  await page.locator('#card-done', { hasText: '4242' }).waitFor();
  assert.equal(await page.getByLabel('Card •••• 4242').isChecked(), true, 'the new card is the chosen method');
  await screenshot(page, 'money-payment-methods-390');
  await page.getByRole('button', { name: 'Back' }).click();

  // The quote says how the ride will be paid.
  await page.locator('#svc-ride').click();
  await page.getByRole('combobox', { name: 'Pickup' }).fill('Midtown Center');
  await page.getByRole('combobox', { name: 'Pickup' }).dispatchEvent('change');
  await page.getByRole('combobox', { name: 'Drop-off' }).fill('Murray Hill');
  await page.getByRole('combobox', { name: 'Drop-off' }).dispatchEvent('change');
  await page.getByRole('button', { name: 'See price' }).click();
  await page.getByRole('heading', { name: 'Your price' }).waitFor();
  const chosen = await page.getByLabel('Pay with').evaluate((s) => s.options[s.selectedIndex].textContent);
  assert.equal(chosen, 'Card •••• 4242');
  await screenshot(page, 'money-quote-390');
  await page.getByRole('button', { name: 'Request ride' }).click();
  await page.locator('#ride-state').waitFor();
  const rideId = await page.locator('#ride-state').getAttribute('data-ride');

  // A demo driver takes the ride to the end; the receipt follows.
  await page.locator('#receipt-title').waitFor({ timeout: 180000 });
  await page.locator('#paid-with', { hasText: 'Card •••• 4242' }).waitFor();
  const quoted = (await page.locator('#receipt-quoted').textContent()).trim();
  const final = (await page.locator('#receipt-final').textContent()).trim();
  assert.match(quoted, MONEY);
  assert.match(final, MONEY);
  assert.match(await page.locator('#paid-with').textContent(), /charged/);
  if (quoted === final) await page.locator('#fare-reasons-none').waitFor();
  else assert.ok((await page.locator('#fare-reasons li').count()) >= 1, 'a different final fare says why');
  await screenshot(page, 'money-receipt-390');

  // The 15 % tip is preselected; it is sent once.
  const tipLabel = await page.locator('#tip-form label:has(input:checked)').textContent();
  const tipAmount = tipLabel.split('·')[1].trim();
  await page.getByRole('button', { name: 'Send tip' }).click();
  await page.locator('#tip-done', { hasText: `You tipped ${tipAmount}` }).waitFor();
  assert.equal((await page.locator('#receipt-tip').textContent()).trim(), tipAmount);
  assert.equal(await page.locator('#tip-form').count(), 0, 'no second tip is offered');
  await screenshot(page, 'money-tipped-390');
  assert.deepEqual(page.errors, []);

  // The ledger: the tip is one balanced posting, all of it to the driver's tips.
  const admin = await api(demo.base, 'POST', '/v1/auth/login', DEMO_OPERATOR);
  const ride = await api(demo.base, 'GET', `/v1/rides/${rideId}`, undefined, admin.token);
  const read = await api(demo.base, 'GET', `/v1/admin/rides/${rideId}/postings`, undefined, admin.token);
  assert.equal(read.balanced, true);
  const tips = read.postings.filter((p) => p.kind === 'tip');
  assert.equal(tips.length, 1, JSON.stringify(read));
  const entries = tips[0].entries;
  assert.equal(entries.reduce((s, e) => s + e.amount.amount, 0), 0, 'the tip balances');
  const toDriver = entries.find((e) => e.account === `tips:${ride.driver_id}`);
  const fromRider = entries.find((e) => e.account === `rider:${ride.rider_id}`);
  assert.ok(toDriver && fromRider, JSON.stringify(entries));
  assert.equal(toDriver.amount.amount, ride.payment.tip.amount);
  assert.equal(fromRider.amount.amount, -ride.payment.tip.amount);
  assert.ok(read.postings.some((p) => p.kind === 'ride_fare'), 'the fare is posted too');
  await page.context().close();
});

// A driver account's offer shows the driver's take (the fare less the commission), not only what the
// rider pays; the earnings screen names gross fare, commission, net and tips.
test("a driver's offer shows their take and the earnings screen shows gross, commission, net and tips", async () => {
  const driver = await b.page(PHONE);
  await driver.goto(`${demo.base}/driver/`);
  await signUp(driver, 'Dora');
  await driver.getByRole('heading', { name: 'You are offline' }).waitFor();
  await goOnlineIn(driver, 'Inwood');

  // A rider (through the API) asks for rides from Inwood until our driver is offered one.
  const rider = await api(demo.base, 'POST', '/v1/auth/signup', { email: `rex-${unique()}@example.com`, password: PASSWORD, name: 'Rex', role: 'rider' });
  const inwood = { lat: 40.8677, lng: -73.9212 };
  const heights = { lat: 40.8554, lng: -73.9335 };
  const asked = new Map(); // ride id -> { ride, quote }
  const ours = await offerToDriver(driver, {
    async request() {
      const quote = await api(demo.base, 'POST', '/v1/rides/quotes', { pickup: inwood, dropoff: heights }, rider.token);
      const ride = await api(demo.base, 'POST', '/v1/rides', { quote_id: quote.quote_id }, rider.token);
      asked.set(ride.ride_id, { ride, quote });
      return ride.ride_id;
    },
    cancel: (id) => api(demo.base, 'POST', `/v1/rides/${id}/cancel`, undefined, rider.token).catch(() => {}),
    attempts: 5,
  });
  const offered = asked.get(ours);
  const fare = offered.quote.fare.amount;
  const commission = Math.round((fare * 2000) / 10000);
  const cents = (s) => Math.round(Number(s.replace(/[^0-9.]/g, '')) * 100);
  assert.equal(cents(await driver.locator('#offer-take').textContent()), fare - commission, 'the offer shows the take');
  assert.equal(cents(await driver.locator('#offer-fare').textContent()), fare);
  await screenshot(driver, 'money-driver-offer-390');
  await driver.getByRole('button', { name: 'Decline' }).click();
  await api(demo.base, 'POST', `/v1/rides/${offered.ride.ride_id}/cancel`, undefined, rider.token).catch(() => {});

  await driver.getByRole('button', { name: 'Earnings' }).click();
  await driver.getByRole('heading', { name: 'Earnings', level: 1 }).waitFor();
  for (const label of ['Gross fare', 'Commission', 'Tips', 'Net']) {
    await driver.locator('#earnings-today dt', { hasText: new RegExp(`^${label}$`) }).waitFor();
  }
  assert.equal(await driver.getByText('Ride fare', { exact: true }).count(), 0, 'no net amount is called a ride fare');
  await screenshot(driver, 'money-driver-earnings-390');
  assert.deepEqual(driver.errors, []);
  await driver.context().close();
});
