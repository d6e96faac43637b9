// Who is coming and chat (issue 10, items 3 and 4) in a real browser against `doorstep demo`: a driver
// account registers its car, a rider account sees the likely wait before requesting, then the driver's
// name, car and plate once the driver account takes the ride, and the two exchange a message both ways.
// axe has no violation on any of these screens.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, launch, screenshot, assertNoAxeViolations, PHONE } from '../lib.mjs';

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

const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

async function signUp(page, name, email) {
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign up' }).click();
}

async function quote(rider, from, to) {
  await rider.locator('#svc-ride').click();
  await rider.getByRole('combobox', { name: 'Pickup' }).fill(from);
  await rider.getByRole('combobox', { name: 'Pickup' }).dispatchEvent('change');
  await rider.getByRole('combobox', { name: 'Drop-off' }).fill(to);
  await rider.getByRole('combobox', { name: 'Drop-off' }).dispatchEvent('change');
  await rider.getByRole('button', { name: 'See price' }).click();
  await rider.getByRole('heading', { name: 'Your price' }).waitFor();
}

test('a rider sees who is coming (name, car, plate) and chats with the driver both ways', async () => {
  // The driver registers a car before going online.
  const driver = await b.page(PHONE);
  await driver.goto(`${demo.base}/driver/`);
  await signUp(driver, 'Dana Whitfield', `dana-${unique()}@example.com`);
  await driver.getByRole('heading', { name: 'You are offline' }).waitFor();
  await driver.locator('#vehicle-form').waitFor();
  await assertNoAxeViolations(driver, 'driver vehicle form');
  await screenshot(driver, 'whocoming-driver-vehicle-390');
  await driver.getByLabel('Make').fill('Toyota');
  await driver.getByLabel('Model').fill('Prius');
  await driver.getByLabel('Colour').fill('Blue');
  await driver.getByLabel('Number plate').fill('t12 4567c');
  await driver.getByRole('button', { name: 'Save vehicle', exact: true }).click();
  await driver.locator('#vehicle-summary', { hasText: 'T12 4567C' }).waitFor();
  // Placed at the centre of a northern zone, away from most of the demo fleet.
  await driver.getByLabel('Place the car in').fill('Inwood');
  await driver.getByLabel('Place the car in').dispatchEvent('change');
  await driver.getByRole('button', { name: 'Go online' }).click();
  await driver.getByRole('heading', { name: 'You are online' }).waitFor();

  const rider = await b.page(PHONE);
  await rider.goto(`${demo.base}/rider/`);
  await signUp(rider, 'Rosa Lind', `rosa-${unique()}@example.com`);

  // Demo drivers compete for the ride and demo riders' rides may be offered to our driver: decline those,
  // and if another driver takes ours, cancel it and ask again (as apps.test.mjs does).
  let offered = false;
  for (let attempt = 0; attempt < 4 && !offered; attempt++) {
    await quote(rider, 'Inwood', 'Washington Heights North');
    // The likely wait, before the Request button: our driver is in the zone.
    const supply = rider.locator('#supply');
    await supply.waitFor();
    assert.notEqual(await supply.getAttribute('data-eta'), 'none', await supply.textContent());
    assert.match(await supply.textContent(), /away/);
    if (attempt === 0) {
      await assertNoAxeViolations(rider, 'rider quote with the likely wait');
      await screenshot(rider, 'whocoming-rider-quote-390');
    }
    await rider.getByRole('button', { name: 'Request ride' }).click();
    await rider.locator('#ride-state').waitFor();
    const ours = await rider.locator('#ride-state').getAttribute('data-ride');
    const deadline = Date.now() + 20000;
    while (!offered && Date.now() < deadline) {
      const offer = driver.locator('section.offer');
      try {
        await offer.waitFor({ timeout: Math.max(1, deadline - Date.now()) });
      } catch {
        break;
      }
      if ((await offer.getAttribute('data-ride')) === ours) offered = true;
      else {
        await driver.getByRole('button', { name: 'Decline' }).click();
        await offer.waitFor({ state: 'detached' }).catch(() => {});
      }
    }
    if (!offered) {
      const state = await rider.locator('#ride-state').getAttribute('data-state');
      if (['requested', 'driver_assigned', 'driver_arrived'].includes(state)) {
        await rider.getByRole('button', { name: 'Cancel ride' }).click();
        await rider.locator('#dlg-confirm').click();
        await rider.locator('#ride-state[data-state="cancelled"]').waitFor();
      }
      await rider.getByRole('button', { name: 'Home', exact: true }).click();
    }
  }
  assert.ok(offered, 'the driver account never got an offer');
  await driver.getByRole('button', { name: 'Accept' }).click();
  await driver.locator('#ride-state[data-state="driver_assigned"]').waitFor({ timeout: 10000 });

  // Who is coming: initials, name, car and the plate, prominently.
  await rider.locator('#ride-state[data-state="driver_assigned"]').waitFor();
  await rider.locator('#who').waitFor();
  assert.equal((await rider.locator('#who-name').textContent()).trim(), 'Dana Whitfield');
  assert.equal((await rider.locator('#who .avatar').textContent()).trim(), 'DW');
  assert.equal((await rider.locator('#who-car').textContent()).trim(), 'Blue Toyota Prius');
  assert.equal((await rider.locator('#who-plate').textContent()).trim(), 'T12 4567C');
  assert.match(await rider.locator('#who-rating').textContent(), /no ratings yet/);
  await assertNoAxeViolations(rider, 'rider who is coming');
  await screenshot(rider, 'whocoming-rider-card-390');

  // Rider to driver: the driver is told politely and sees an unread badge until they open the thread.
  await rider.getByRole('button', { name: /Message your driver/ }).click();
  await rider.getByLabel('Your message').fill('I am by the blue door');
  await rider.getByRole('button', { name: 'Send' }).click();
  await rider.locator('#chat-log li.mine', { hasText: 'I am by the blue door' }).waitFor();
  await driver.locator('#chat-unread:not([hidden])').waitFor({ timeout: 15000 });
  assert.match(await driver.locator('#chat-live').textContent(), /I am by the blue door/);
  assert.equal(await driver.locator('#chat-live').getAttribute('aria-live'), 'polite');
  await driver.getByRole('button', { name: /Message your rider/ }).click();
  await driver.locator('#chat-log li.theirs', { hasText: 'I am by the blue door' }).waitFor();
  await assertNoAxeViolations(driver, 'driver chat');
  await screenshot(driver, 'whocoming-driver-chat-390');

  // Driver to rider.
  await driver.getByLabel('Your message').fill('Two minutes away');
  await driver.getByRole('button', { name: 'Send' }).click();
  await rider.locator('#chat-log li.theirs', { hasText: 'Two minutes away' }).waitFor({ timeout: 15000 });
  assert.match(await rider.locator('#chat-live').textContent(), /Two minutes away/);
  await assertNoAxeViolations(rider, 'rider chat');
  await screenshot(rider, 'whocoming-rider-chat-390');

  assert.deepEqual(rider.errors, []);
  assert.deepEqual(driver.errors, []);
  await rider.context().close();
  await driver.context().close();
});
