// The web apps in a real browser against `doorstep demo --speed 20`: a rider's whole ride with a demo
// driver, a driver account's whole ride for a rider account, and the operations console watching it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startDemo, launch, screenshot, PHONE, DESKTOP, signUp, logInToOps, goOnlineIn, quoteTrip, requestRideInApp, cancelRideInApp,
  offerToDriver,
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

// A browser rider's whole ride with a demo driver: the demo driver is told the PIN at the car (the demo
// reads it from the record, standing in for the rider reading it out).
test('a rider signs up and a demo driver takes the ride from assignment to the receipt', async () => {
  const page = await b.page(PHONE);
  await page.goto(`${demo.base}/rider/`);
  await screenshot(page, 'rider-signup-390');
  await signUp(page, 'Rae');
  await page.locator('#svc-ride').click();
  await page.getByRole('heading', { name: 'Where to?' }).waitFor();
  await screenshot(page, 'rider-plan-390');
  // Tapping the map sets the pickup (then the search below replaces it by a zone's centre).
  await page.locator('#map svg').click({ position: { x: 180, y: 200 } });
  // The tapped point is named by the server's reverse geocoder: wait for its answer.
  await page.waitForFunction(() => /^Near /.test(document.querySelector('[role=combobox]')?.value || ''));
  await page.locator('[data-marker="pickup"]').waitFor({ state: 'attached' });
  await quoteTrip(page, 'Midtown Center', 'Murray Hill');
  await screenshot(page, 'rider-quote-390');
  assert.match(await page.locator('#quote-fare').textContent(), /^\$\d+\.\d\d$/);
  // A new screen starts at its top, whatever the last one was scrolled to.
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  await page.getByRole('button', { name: 'Request ride' }).click();
  await page.locator('#ride-state').waitFor();
  assert.equal(await page.evaluate(() => window.scrollY), 0, 'the ride screen starts at its top');
  await page.locator('#ride-state[data-state="driver_assigned"], #ride-state[data-state="driver_arrived"]').waitFor({ timeout: 60000 });
  assert.match(await page.locator('#pin').textContent(), /^\d{4}$/);
  // The assigned driver's position arrives over the WebSocket (driver_location) and is drawn.
  await page.locator('[data-marker="driver"]').waitFor({ timeout: 30000 });
  await screenshot(page, 'rider-live-390');
  // A dropped WebSocket says so and reconnects (resuming after the last event id).
  await page.evaluate(() => window.doorstepEvents.ws.close());
  await page.locator('#conn', { hasText: 'reconnecting' }).waitFor();
  await screenshot(page, 'rider-reconnecting-390');
  await page.locator('#conn').waitFor({ state: 'hidden' });
  // Cancelling shows the fee (or that it is free) before confirming; the rider keeps the ride.
  await page.getByRole('button', { name: 'Cancel ride' }).click();
  await page.locator('#cancel-fee').waitFor();
  await screenshot(page, 'rider-cancel-390');
  // Escape keeps the ride and gives focus back to the button that opened the dialog.
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'cancel', null, { timeout: 5000 });
  // The demo driver arrives, starts with the PIN and completes: the receipt follows.
  await page.locator('#receipt-title').waitFor({ timeout: 150000 });
  assert.match(await page.locator('#final-fare').textContent(), /^\$\d+\.\d\d$/);
  await screenshot(page, 'rider-receipt-390');
  await page.getByLabel('4 stars').check();
  await page.getByRole('button', { name: 'Send rating' }).click();
  await page.locator('#rate-done', { hasText: 'Thanks' }).waitFor();
  await page.getByRole('button', { name: 'Done' }).click();
  await page.setViewportSize(DESKTOP);
  await page.getByRole('button', { name: 'Home', exact: true }).click();
  await page.locator('#svc-ride').waitFor();
  await screenshot(page, 'rider-home-1440');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

let sharedRide = null;
let ops = null;

test('a driver account accepts, picks up with the PIN and completes a rider account\'s ride, watched live on the console', async () => {
  const driver = await b.page(PHONE);
  await driver.goto(`${demo.base}/driver/`);
  await signUp(driver, 'Dan');
  await driver.getByRole('heading', { name: 'You are offline' }).waitFor();
  // The simulated car is placed exactly at the centre of a northern zone so that it is the nearest driver.
  await goOnlineIn(driver, 'Inwood');
  await screenshot(driver, 'driver-online-390');

  const rider = await b.page(PHONE);
  await rider.goto(`${demo.base}/rider/`);
  await signUp(rider, 'Rita');

  // Demo drivers compete for the ride, and demo riders' rides may be offered to our driver too.
  await offerToDriver(driver, {
    request: () => requestRideInApp(rider, 'Inwood', 'Washington Heights North'),
    cancel: () => cancelRideInApp(rider),
  });
  assert.match(await driver.locator('#offer-fare').textContent(), /^\$\d+\.\d\d$/);
  await screenshot(driver, 'driver-offer-390');
  await driver.getByRole('button', { name: 'Accept' }).click();
  await driver.locator('#ride-state[data-state="driver_assigned"]').waitFor({ timeout: 10000 }).catch(async (e) => {
    await screenshot(driver, 'failed-accept-driver');
    await screenshot(rider, 'failed-accept-rider');
    throw new Error(`accept failed: ${await driver.locator('#offer-error').textContent().catch(() => '?')}: ${e}`);
  });
  await rider.locator('#ride-state[data-state="driver_assigned"]').waitFor().catch(async (e) => {
    await screenshot(rider, 'failed-assigned-rider');
    const ev = await rider.evaluate(() => ({ status: window.doorstepEvents.status, received: window.doorstepEvents.received, last: window.doorstepEvents.lastId }));
    throw new Error(`rider: ${JSON.stringify(ev)} ${rider.logs.join('\n')}: ${e}`);
  });
  const pin = (await rider.locator('#pin').textContent()).trim();
  const rideId = await rider.locator('#ride-state').getAttribute('data-ride');
  await screenshot(driver, 'driver-to-pickup-390');
  await screenshot(rider, 'rider-assigned-390');

  // The operations console shows the ride live: on the map (a marker at the pickup) and in the open rides.
  ops = await b.page(DESKTOP);
  await logInToOps(ops, demo.base);
  await ops.locator(`#live-map [data-marker="r:${rideId}"]`).waitFor({ state: 'attached', timeout: 15000 });
  await ops.locator(`#open-list [data-ride="${rideId}"]`).waitFor();
  assert.ok((await ops.locator('#live-map [data-marker^="d:"]').count()) > 50, 'the fleet is on the map');
  await ops.locator('#kpi-open').waitFor();
  await screenshot(ops, 'ops-live-1440');

  // The server lets a driver arrive only near the pickup, by the last position it accepted: the app's
  // simulated car (the browser shares no GPS) drives there, and "I've arrived" reports where it is first.
  // The rider's "Inwood" is the geocoder's (the neighbourhood's point), a few hundred metres of streets
  // from the zone's centre where the car waits: drive there at the simulator's fastest.
  await driver.getByLabel('Simulated speed').selectOption('3');
  await driver.locator('#to-target', { hasText: /^0 m$/ }).waitFor({ timeout: 60000 });
  await driver.getByRole('button', { name: "I've arrived" }).click();
  await driver.locator('#ride-state[data-state="driver_arrived"]').waitFor();
  await rider.locator('#ride-state[data-state="driver_arrived"]').waitFor();
  // A wrong PIN is counted: the driver sees the tries left, the rider sees that someone tried.
  const wrong = String((Number(pin) + 1) % 10000).padStart(4, '0');
  await driver.getByLabel("Rider's PIN").fill(wrong);
  await driver.getByRole('button', { name: 'Start trip' }).click();
  await driver.locator('#pin-status', { hasText: '4 tries left' }).waitFor();
  assert.equal(await driver.locator('#pin-status').getAttribute('role'), 'alert');
  await rider.locator('#pin-alert', { hasText: 'A wrong PIN was entered 1 time' }).waitFor();
  await screenshot(driver, 'driver-wrong-pin-390');
  await screenshot(rider, 'rider-wrong-pin-390');
  // The rider issues a new PIN (which also clears the count) and tells it to the driver.
  await rider.getByRole('button', { name: 'New PIN' }).click();
  await rider.getByText('You have a new PIN').waitFor();
  await rider.locator('#pin-alert:empty').waitFor({ state: 'attached' });
  const newPin = (await rider.locator('#pin').textContent()).trim();
  assert.match(newPin, /^\d{4}$/);
  await driver.locator('#pin-status:empty').waitFor({ state: 'attached', timeout: 15000 });
  await driver.getByLabel("Rider's PIN").fill(newPin);
  await screenshot(driver, 'driver-pin-390');
  await driver.getByRole('button', { name: 'Start trip' }).click();
  await driver.locator('#ride-state[data-state="in_progress"]').waitFor();
  await rider.locator('#ride-state[data-state="in_progress"]').waitFor();
  sharedRide = rideId;
  await driver.waitForTimeout(3000);
  await screenshot(driver, 'driver-on-trip-390');
  // Started rides are pushed to the console over the WebSocket (no polling).
  await ops.locator(`#live-map [data-marker="r:${rideId}"].s-in_progress`).waitFor({ state: 'attached', timeout: 15000 });
  await driver.getByRole('button', { name: 'Complete trip' }).click();
  await driver.locator('#ride-state[data-state="completed"]').waitFor();
  await rider.locator('#receipt-title').waitFor();
  await screenshot(rider, 'rider-receipt-390');
  await rider.getByRole('button', { name: 'Send rating' }).click();
  await rider.getByText('Thanks for your rating!').waitFor();
  await driver.getByRole('button', { name: 'Send rating' }).click();
  await driver.getByText('rating sent').waitFor();
  await screenshot(driver, 'driver-complete-390');
  await driver.getByRole('button', { name: 'Earnings' }).click();
  await driver.locator('#earnings-total').waitFor();
  assert.notEqual(await driver.locator('#earnings-total').textContent(), '$0.00');
  await screenshot(driver, 'driver-earnings-390');
  await driver.setViewportSize(DESKTOP);
  await driver.getByRole('button', { name: 'Drive' }).click();
  await screenshot(driver, 'driver-1440');
  await rider.getByRole('button', { name: 'Rides', exact: true }).click();
  await rider.locator('.history li').first().waitFor();
  await screenshot(rider, 'rider-history-390');
  assert.deepEqual(driver.errors, []);
  assert.deepEqual(rider.errors, []);
  await driver.context().close();
  await rider.context().close();
});

test('the operations console finds the ride in the table and shows its timeline and price', async () => {
  assert.ok(sharedRide && ops, 'the previous test did the ride');
  // Completed: the ride leaves the live map.
  await ops.locator(`#live-map [data-marker="r:${sharedRide}"]`).waitFor({ state: 'detached', timeout: 15000 });
  await ops.getByRole('link', { name: 'Rides' }).click();
  await ops.getByRole('heading', { name: 'Rides', exact: true }).waitFor();
  await ops.getByLabel('Search by ride, rider or driver id').fill(sharedRide.slice(-8));
  const row = ops.locator(`#rides-table tr[data-ride="${sharedRide}"]`);
  await row.waitFor();
  assert.match(await row.textContent(), /Completed/);
  await screenshot(ops, 'ops-rides-1440');
  // The row links the ride and, by name, its rider and driver: open the ride.
  await row.locator('a[href^="#/rides/"]').click();
  await ops.locator('#ride-page-state[data-state="completed"]').waitFor();
  const types = await ops.locator('#timeline li').evaluateAll((lis) => lis.map((li) => li.dataset.type));
  for (const t of ['requested', 'offered', 'driver_assigned', 'driver_arrived', 'started', 'completed']) assert.ok(types.includes(t), `timeline has ${t}`);
  await screenshot(ops, 'ops-ride-1440');
  await ops.setViewportSize(PHONE);
  await ops.getByRole('link', { name: 'Live' }).click();
  await ops.locator('#kpi-open').waitFor();
  await screenshot(ops, 'ops-live-390');
  assert.deepEqual(ops.errors, []);
  await ops.context().close();

  const landing = await b.page(DESKTOP);
  await landing.goto(`${demo.base}/`);
  for (const name of ['Ride', 'Drive', 'Operations']) await landing.getByRole('link', { name: new RegExp(`^${name}`) }).waitFor();
  await screenshot(landing, 'landing-1440');
  await landing.setViewportSize(PHONE);
  await screenshot(landing, 'landing-390');
  await landing.context().close();
});

test('no page made a request to another host than localhost', () => {
  assert.ok(b.requests > 50, 'requests were watched');
  assert.deepEqual(b.foreign, []);
});

test('no page put a bearer token in a URL: every WebSocket opened with a single-use ticket', () => {
  assert.deepEqual(b.tokenInUrl, []);
  assert.ok(b.sockets.length >= 3, `the apps opened their event streams: ${b.sockets.length}`);
  for (const url of b.sockets) assert.ok(new URL(url).searchParams.get('ticket'), url);
  assert.equal(new Set(b.sockets.map((u) => new URL(u).searchParams.get('ticket'))).size, b.sockets.length, 'a new ticket each time');
});
