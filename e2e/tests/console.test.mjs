// The operations console acts (issue 10, item 7), in a real browser against `doorstep demo
// --auto-approve-drivers false`: a driver who signs up cannot go online until an operator approves them
// in the console, which refuses the approval until the driver has registered a vehicle and then shows the
// vehicle on the driver's page; a partial refund from the console posts balanced entries, shown on the ride's page; the
// audit log records both; axe finds nothing on the new screens.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startDemo, launch, screenshot, api, PHONE, DESKTOP, PASSWORD, DEMO_OPERATOR, unique, signUp, logInToOps, placeCar,
  registerVehicle,
} from '../lib.mjs';

let demo;
let b;
let ops;

before(async () => {
  demo = await startDemo({ speed: 20, drivers: 5, args: ['--auto-approve-drivers', 'false'] });
  b = await launch();
});

after(async () => {
  if (b) await b.close();
  if (demo) await demo.stop();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function opsLogIn() {
  if (ops) return ops;
  ops = await b.page(DESKTOP);
  await logInToOps(ops, demo.base);
  return ops;
}

test('an unapproved driver cannot go online until an operator approves them in the console, which needs their vehicle', async () => {
  const name = `Nadia ${unique()}`;
  const driver = await b.page(PHONE);
  await driver.goto(`${demo.base}/driver/`);
  await signUp(driver, name, `nadia-${unique()}@example.com`);
  await driver.getByRole('heading', { name: 'You are offline' }).waitFor();
  await driver.locator('#onboarding[data-approval="pending"]').waitFor();
  assert.match(await driver.locator('#onboarding-state').textContent(), /Waiting for approval/);
  await placeCar(driver, 'Inwood');

  // Going online is refused, and the app says why.
  await driver.getByRole('button', { name: 'Go online' }).click();
  await driver.locator('#online-error', { hasText: 'an operator must approve your account' }).waitFor();
  await driver.getByRole('heading', { name: 'You are offline' }).waitFor();

  // The driver declares a document (the form validates and saves it).
  await driver.getByLabel('Number', { exact: true }).first().fill('NY-D123 4567');
  await driver.locator('#doc-expiry-licence').fill('2031-06-30');
  await driver.getByRole('button', { name: 'Save Driving licence' }).click();
  await driver.locator('#onboarding-saved', { hasText: 'Driving licence saved' }).waitFor();
  assert.match(await driver.locator('#onboarding-state').textContent(), /Waiting for approval/);
  await screenshot(driver, 'driver-waiting-for-approval-390');

  // The operator finds the driver by name in the console; with no vehicle registered, the page says so
  // and the approval is refused with the reason, announced.
  const page = await opsLogIn();
  await page.getByRole('link', { name: 'People' }).click();
  await page.getByRole('heading', { name: 'People', exact: true }).waitFor();
  await page.getByLabel('Search by name, e-mail or phone').fill(name);
  await page.getByRole('link', { name }).click();
  await page.locator('#person-status[data-approval="pending"]').waitFor();
  await page.locator('[data-doc="licence"]').waitFor();
  await page.locator('#person-no-vehicle', { hasText: 'No vehicle registered yet' }).waitFor();
  await screenshot(page, 'ops-person-pending-1440');
  await page.locator('#approve-reason').fill('licence checked against the DMV record');
  await page.getByRole('button', { name: 'Approve' }).click();
  const refusal = page.locator('#act-approve [role="alert"]', { hasText: 'has not registered a vehicle yet' });
  await refusal.waitFor();
  await page.locator('#person-status[data-approval="pending"]').waitFor();
  assert.equal(await page.locator('tr[data-action="approve_driver"]').count(), 0, 'a refused approval is not in the audit log');
  await screenshot(page, 'ops-person-no-vehicle-1440');

  // The driver registers the car; the operator's page shows it, and the approval goes through.
  await registerVehicle(driver, { make: 'Honda', model: 'Civic', colour: 'Silver', plate: 'hxc 9911' });
  await page.reload();
  const vehicle = page.locator('#person-vehicle[data-plate="HXC 9911"]');
  await vehicle.waitFor();
  assert.deepEqual(
    (await vehicle.locator('dd').allTextContents()).map((t) => t.trim()),
    ['Honda', 'Civic', 'Silver', 'HXC 9911'],
  );
  assert.deepEqual(
    (await vehicle.locator('dt').allTextContents()).map((t) => t.trim()),
    ['Make', 'Model', 'Colour', 'Number plate'],
  );
  await page.locator('#approve-reason').fill('licence checked against the DMV record');
  await page.getByRole('button', { name: 'Approve' }).click();
  await page.locator('#person-status[data-approval="approved"]').waitFor();
  await page.locator('tr[data-action="approve_driver"]', { hasText: 'licence checked against the DMV record' }).waitFor();
  await screenshot(page, 'ops-person-approved-1440');

  // Now the driver goes online.
  await driver.getByRole('button', { name: 'Go online' }).click();
  await driver.getByRole('heading', { name: 'You are online' }).waitFor();
  assert.deepEqual(driver.errors, []);
  assert.deepEqual(page.errors, []);
  await driver.context().close();
});

/** A completed ride of an API rider with an API driver (approved by the operator through the API). */
async function completedRide() {
  const admin = await api(demo.base, 'POST', '/v1/auth/login', DEMO_OPERATOR);
  const rider = await api(demo.base, 'POST', '/v1/auth/signup', { email: `rob-${unique()}@example.com`, password: PASSWORD, name: 'Rob Refund', role: 'rider' });
  const driver = await api(demo.base, 'POST', '/v1/auth/signup', { email: `dora-${unique()}@example.com`, password: PASSWORD, name: 'Dora Driver', role: 'driver' });
  await api(demo.base, 'PUT', '/v1/drivers/me/vehicle', { make: 'Ford', model: 'Focus', colour: 'Red', plate: 'DORA 1' }, driver.token);
  const approve = await fetch(`${demo.base}/v1/admin/drivers/${driver.user_id}/approve`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.token}`, 'idempotency-key': `approve-${unique()}` },
    body: JSON.stringify({ reason: 'test driver' }),
  });
  assert.equal(approve.status, 200, await approve.text());
  const pickup = { lat: 40.8677, lng: -73.9212 };
  const dropoff = { lat: 40.8555, lng: -73.9300 };
  const at = () => new Date().toISOString();
  await api(demo.base, 'POST', '/v1/drivers/me/online', undefined, driver.token);
  await api(demo.base, 'POST', '/v1/drivers/me/locations', [{ ...pickup, at: at() }], driver.token);
  for (let attempt = 0; attempt < 4; attempt++) {
    const quote = await api(demo.base, 'POST', '/v1/rides/quotes', { pickup, dropoff }, rider.token);
    const r = await fetch(`${demo.base}/v1/rides`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${rider.token}`, 'idempotency-key': `ride-${unique()}` },
      body: JSON.stringify({ quote_id: quote.quote_id }),
    });
    const ride = await r.json();
    let offer = null;
    for (const deadline = Date.now() + 20000; !offer && Date.now() < deadline; ) {
      await api(demo.base, 'POST', '/v1/drivers/me/locations', [{ ...pickup, at: at() }], driver.token);
      const { offers } = await api(demo.base, 'GET', '/v1/offers', undefined, driver.token);
      offer = offers.find((o) => o.ride_id === ride.ride_id) || null;
      for (const o of offers.filter((o) => o.ride_id !== ride.ride_id))
        await api(demo.base, 'POST', `/v1/offers/${o.offer_id}/decline`, undefined, driver.token).catch(() => {});
      if (!offer) await sleep(500);
    }
    if (!offer) {
      // A demo driver took it: cancel and ask again.
      await api(demo.base, 'POST', `/v1/rides/${ride.ride_id}/cancel`, undefined, rider.token).catch(() => {});
      continue;
    }
    await api(demo.base, 'POST', `/v1/offers/${offer.offer_id}/accept`, undefined, driver.token);
    await api(demo.base, 'POST', `/v1/rides/${ride.ride_id}/arrive`, undefined, driver.token);
    await api(demo.base, 'POST', `/v1/rides/${ride.ride_id}/start`, { pin: ride.pin }, driver.token);
    await sleep(2000);
    await api(demo.base, 'POST', '/v1/drivers/me/locations', [{ ...dropoff, at: at() }], driver.token);
    const done = await api(demo.base, 'POST', `/v1/rides/${ride.ride_id}/complete`, undefined, driver.token);
    assert.equal(done.state, 'completed');
    await api(demo.base, 'POST', '/v1/drivers/me/offline', undefined, driver.token);
    return { ride: done, rider };
  }
  throw new Error('the API driver never got the ride');
}

test('a partial refund from the console posts balanced entries, shown on the ride page and in the audit log', async () => {
  const { ride } = await completedRide();
  const paid = ride.final_fare.amount;
  assert.ok(paid > 150, `fare ${paid}`);
  const page = await opsLogIn();
  await page.goto(`${demo.base}/ops/#/rides/${ride.ride_id}`);
  await page.locator('#ride-page-state[data-state="completed"]').waitFor();
  // People by name, with links to their pages.
  await page.locator('#ride-rider a', { hasText: 'Rob Refund' }).waitFor();
  await page.locator('#ride-driver a', { hasText: 'Dora Driver' }).waitFor();
  await page.locator('#ledger-total[data-total="0"]').waitFor();
  assert.equal(Number(await page.locator('#ledger-refundable').getAttribute('data-amount')), paid);
  await screenshot(page, 'ops-ride-actions-1440');

  // A reason is required.
  await page.getByLabel('Amount to refund').fill('1.50');
  await page.getByRole('button', { name: 'Refund' }).click();
  await page.locator('#act-refund .error', { hasText: 'Required' }).waitFor();
  await page.locator('#refund-reason').fill('the driver took a longer route');
  await page.getByRole('button', { name: 'Refund' }).click();
  await page.locator(`#ledger-refundable[data-amount="${paid - 150}"]`).waitFor();
  await page.locator('#ledger-total[data-total="0"]').waitFor();
  assert.equal(await page.locator('tr[data-posting="refund"]').count(), 2, 'a refund posting of two entries');
  const refundRows = await page.locator('tr[data-posting="refund"]').allTextContents();
  assert.ok(refundRows.some((r) => /Rob Refund/.test(r) && /\$1\.50/.test(r)), refundRows.join(' | '));
  assert.ok(refundRows.some((r) => /-\$1\.50|−\$1\.50/.test(r)), refundRows.join(' | '));
  await page.locator('tr[data-action="refund"]', { hasText: 'the driver took a longer route' }).waitFor();
  await screenshot(page, 'ops-ride-refunded-1440');

  // The books as a whole still balance (the server's own sum, through the API).
  const ledger = await fetch(`${demo.base}/v1/admin/rides/${ride.ride_id}/ledger`, {
    headers: { authorization: `Bearer ${JSON.parse(await page.evaluate(() => localStorage.getItem('doorstep.ops.session'))).token}` },
  }).then((r) => r.json());
  assert.equal(ledger.total, 0);
  assert.equal(ledger.refundable.amount, paid - 150);

  // The audit log tab lists the refund and the approval, by operator name.
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.getByRole('heading', { name: 'Audit log' }).waitFor();
  await page.locator('tr[data-action="refund"]').first().waitFor();
  assert.match(await page.locator('tr[data-action="refund"]').first().textContent(), /Demo operator/);
  await screenshot(page, 'ops-audit-1440');
  // The live view's tiles name what they count.
  await page.getByRole('link', { name: 'Live' }).click();
  await page.locator('#kpi-under-way').waitFor();
  assert.match(await page.locator('#kpi-open').textContent(), /Waiting for a driver/);
  await page.setViewportSize(PHONE);
  await page.getByRole('link', { name: 'People' }).click();
  await page.getByLabel('Search by name, e-mail or phone').fill('Rob Refund');
  await page.locator('#people-table tr[data-person-row]').first().waitFor();
  await screenshot(page, 'ops-people-390');
  assert.deepEqual(page.errors, []);
});

test('the simulated fleet is approved by the demo operator', async () => {
  const admin = await api(demo.base, 'POST', '/v1/auth/login', DEMO_OPERATOR);
  for (const deadline = Date.now() + 30000; ; ) {
    const { people } = await api(demo.base, 'GET', '/v1/admin/people?q=%40demo.doorstep.dev', undefined, admin.token);
    const fleet = people.filter((p) => p.role === 'driver');
    if (fleet.length === 5 && fleet.every((p) => p.approval === 'approved')) break;
    if (Date.now() > deadline) throw new Error(`demo drivers: ${JSON.stringify(fleet.map((p) => p.approval))}`);
    await sleep(500);
  }
});
