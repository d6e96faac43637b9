// Who is coming and chat (issue 10, items 3 and 4) in a real browser against `doorstep demo`: a driver
// account registers its car, a rider account sees the likely wait before requesting, then the driver's
// name, car and plate once the driver account takes the ride, and the two exchange a message both ways.
// axe has no violation on any of these screens.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startDemo, launch, screenshot, assertNoAxeViolations, PHONE, signUp, goOnlineIn, quoteTrip, requestQuotedRide, cancelRideInApp,
  offerToDriver, registerVehicle,
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

test('a rider sees who is coming (name, car, plate) and chats with the driver both ways', async () => {
  // The driver registers a car before going online.
  const driver = await b.page(PHONE);
  await driver.goto(`${demo.base}/driver/`);
  await signUp(driver, 'Dana Whitfield');
  await driver.getByRole('heading', { name: 'You are offline' }).waitFor();
  await driver.locator('#vehicle-form').waitFor();
  await assertNoAxeViolations(driver, 'driver vehicle form');
  await screenshot(driver, 'whocoming-driver-vehicle-390');
  await registerVehicle(driver, { make: 'Toyota', model: 'Prius', colour: 'Blue', plate: 't12 4567c' });
  // Placed at the centre of a northern zone, away from most of the demo fleet.
  await goOnlineIn(driver, 'Inwood');

  const rider = await b.page(PHONE);
  await rider.goto(`${demo.base}/rider/`);
  await signUp(rider, 'Rosa Lind');

  // Demo drivers compete for the ride and demo riders' rides may be offered to our driver (lib.mjs).
  await offerToDriver(driver, {
    async request(attempt) {
      await rider.locator('#svc-ride').click();
      await quoteTrip(rider, 'Inwood', 'Washington Heights North');
      // The likely wait, before the Request button: our driver is in the zone. A demo rider's ride offered
      // to our driver at that moment makes it busy, and the quote rightly counts no car: the driver
      // declines it and the rider asks for the price again.
      const supply = rider.locator('#supply');
      await supply.waitFor();
      for (let again = 0; again < 3 && (await supply.getAttribute('data-eta')) === 'none'; again++) {
        const held = driver.locator('section.offer');
        if ((await held.count()) === 0) break;
        await driver.getByRole('button', { name: 'Decline' }).click();
        await held.waitFor({ state: 'detached' }).catch(() => {});
        await rider.getByRole('button', { name: 'Change' }).click();
        await rider.getByRole('button', { name: 'See price' }).click();
        await rider.getByRole('heading', { name: 'Your price' }).waitFor();
        await supply.waitFor();
      }
      assert.notEqual(await supply.getAttribute('data-eta'), 'none', await supply.textContent());
      assert.match(await supply.textContent(), /away/);
      if (attempt === 0) {
        await assertNoAxeViolations(rider, 'rider quote with the likely wait');
        await screenshot(rider, 'whocoming-rider-quote-390');
      }
      return requestQuotedRide(rider);
    },
    cancel: () => cancelRideInApp(rider),
  });
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
