// The web apps in a real browser against `doorstep demo --speed 20`: a rider's whole ride with a demo
// driver, a driver account's whole ride for a rider account, and the operations console watching it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, launch, screenshot, PHONE, DESKTOP } from '../lib.mjs';

let demo;
let b;

before(async () => {
  demo = await startDemo({ speed: 20 });
  b = await launch();
});

after(async () => {
  if (b) await b.close();
  if (demo) await demo.stop();
  if (b) assert.deepEqual(b.foreign, [], 'no request may leave localhost');
});

const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

async function signUp(page, name, email) {
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign up' }).click();
}

async function chooseTrip(page, from, to) {
  await page.getByRole('combobox', { name: 'Pickup' }).fill(from);
  await page.getByRole('combobox', { name: 'Pickup' }).dispatchEvent('change');
  await page.getByRole('combobox', { name: 'Drop-off' }).fill(to);
  await page.getByRole('combobox', { name: 'Drop-off' }).dispatchEvent('change');
  await page.getByRole('button', { name: 'See price' }).click();
  await page.getByRole('heading', { name: 'Your price' }).waitFor();
}

async function rideState(page) {
  return page.locator('#ride-state').getAttribute('data-state');
}

// Demo drivers can only start rides of demo riders: the PIN reaches them through the demo's in-process
// board, not the API. So a browser rider's ride is followed here until a demo driver has accepted it and
// comes live on the map; the whole ride to the receipt is done with a driver account in the next test.
test('a rider signs up and a demo driver is assigned and approaches live', async () => {
  const page = await b.page(PHONE);
  await page.goto(`${demo.base}/rider/`);
  await screenshot(page, 'rider-signup-390');
  await signUp(page, 'Rae', `rae-${unique()}@example.com`);
  await page.locator('#svc-ride').click();
  await page.getByRole('heading', { name: 'Where to?' }).waitFor();
  await screenshot(page, 'rider-plan-390');
  await chooseTrip(page, 'Midtown Center', 'Murray Hill');
  await screenshot(page, 'rider-quote-390');
  assert.match(await page.locator('#quote-fare').textContent(), /^\$\d+\.\d\d$/);
  await page.getByRole('button', { name: 'Request ride' }).click();
  await page.locator('#ride-state').waitFor();
  await page.locator('#ride-state[data-state="driver_assigned"], #ride-state[data-state="driver_arrived"]').waitFor({ timeout: 60000 });
  assert.match(await page.locator('#pin').textContent(), /^\d{4}$/);
  // The assigned driver's position arrives over the WebSocket (driver_location) and is drawn.
  await page.locator('[data-marker="driver"]').waitFor({ timeout: 30000 });
  await screenshot(page, 'rider-live-390');
  await page.getByRole('button', { name: 'Cancel ride' }).click();
  await page.locator('#cancel-fee').waitFor();
  await screenshot(page, 'rider-cancel-390');
  await page.locator('#dlg-confirm').click();
  await page.locator('#ride-state[data-state="cancelled"]').waitFor();
  await page.setViewportSize(DESKTOP);
  await page.getByRole('button', { name: 'Home', exact: true }).click();
  await page.locator('#svc-ride').waitFor();
  await screenshot(page, 'rider-home-1440');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

let sharedRide = null;

async function requestRide(rider, from, to) {
  await rider.locator('#svc-ride').click();
  await chooseTrip(rider, from, to);
  await rider.getByRole('button', { name: 'Request ride' }).click();
  await rider.locator('#ride-state').waitFor();
}

test('a driver account accepts, picks up with the PIN and completes a rider account\'s ride, watched live on the console', async () => {
  const driver = await b.page(PHONE);
  await driver.goto(`${demo.base}/driver/`);
  await signUp(driver, 'Dan', `dan-${unique()}@example.com`);
  await driver.getByRole('heading', { name: 'You are offline' }).waitFor();
  // The simulated car is placed exactly at the centre of a northern zone so that it is the nearest driver.
  await driver.getByLabel('Place the car in').fill('Inwood');
  await driver.getByLabel('Place the car in').dispatchEvent('change');
  await driver.getByRole('button', { name: 'Go online' }).click();
  await driver.getByRole('heading', { name: 'You are online' }).waitFor();
  await screenshot(driver, 'driver-online-390');

  const rider = await b.page(PHONE);
  await rider.goto(`${demo.base}/rider/`);
  await signUp(rider, 'Rita', `rita-${unique()}@example.com`);

  // Demo drivers compete for the ride: retry until ours gets the offer.
  let offered = false;
  for (let attempt = 0; attempt < 4 && !offered; attempt++) {
    await requestRide(rider, 'Inwood', 'Washington Heights North');
    try {
      await driver.getByRole('heading', { name: 'New ride offer' }).waitFor({ timeout: 20000 });
      offered = true;
    } catch {
      // Another driver got it: cancel and ask again.
      await rider.getByRole('button', { name: 'Cancel ride' }).click();
      await rider.locator('#dlg-confirm').click();
      await rider.locator('#ride-state[data-state="cancelled"]').waitFor();
      await rider.getByRole('button', { name: 'Home', exact: true }).click();
    }
  }
  assert.ok(offered, 'the driver account never got an offer');
  assert.match(await driver.locator('#offer-fare').textContent(), /^\$\d+\.\d\d$/);
  await screenshot(driver, 'driver-offer-390');
  await driver.getByRole('button', { name: 'Accept' }).click();
  await driver.locator('#ride-state[data-state="driver_assigned"]').waitFor();
  await rider.locator('#ride-state[data-state="driver_assigned"]').waitFor();
  const pin = (await rider.locator('#pin').textContent()).trim();
  const rideId = await rider.locator('#ride-state').getAttribute('data-ride');
  await screenshot(driver, 'driver-to-pickup-390');
  await screenshot(rider, 'rider-assigned-390');

  await driver.getByRole('button', { name: "I've arrived" }).click();
  await driver.locator('#ride-state[data-state="driver_arrived"]').waitFor();
  await rider.locator('#ride-state[data-state="driver_arrived"]').waitFor();
  await driver.getByLabel("Rider's PIN").fill(pin);
  await screenshot(driver, 'driver-pin-390');
  await driver.getByRole('button', { name: 'Start trip' }).click();
  await driver.locator('#ride-state[data-state="in_progress"]').waitFor();
  await rider.locator('#ride-state[data-state="in_progress"]').waitFor();
  sharedRide = rideId;
  await driver.waitForTimeout(3000);
  await screenshot(driver, 'driver-on-trip-390');
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
