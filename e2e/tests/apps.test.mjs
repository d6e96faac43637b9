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
