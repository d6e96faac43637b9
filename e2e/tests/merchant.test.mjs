// The merchant (restaurant) tablet app against a real `doorstep serve`: an operator creates and approves a
// restaurant with a staff account, the staff member imports a menu, a customer orders through the API.
// In Chromium, the kitchen sees the new order (banner, badge, title, a chime that repeats until someone
// acknowledges it), accepts it with a prep time, starts it and marks it ready (the API agrees at each
// step); switches busy mode, pause and the cap (the API agrees, and a paused restaurant refuses orders);
// edits the menu (price, sold out, a refusal of the server shown beside the field it names, export and
// import); edits opening hours; reads today's sales. axe finds nothing on each screen, on a tablet and
// on a phone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launch, screenshot, PHONE } from '../lib.mjs';
import { startServe, setUpRestaurant, newCustomer, placeOrder, logInToKitchen, call, TABLET, WHOLE_WEEK } from '../merchant-setup.mjs';

let server;
let b;
let restaurant;
let customer;
let kitchen;

before(async () => {
  server = await startServe();
  b = await launch();
  restaurant = await setUpRestaurant(server);
  customer = await newCustomer(server);
});

after(async () => {
  if (b) await b.close();
  if (server) await server.stop();
});

// Counts the tones the page starts (the WebAudio chime), before any script of the page runs.
const COUNT_TONES = () => {
  window.__tones = 0;
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (...a) {
    window.__tones += 1;
    return start.apply(this, a);
  };
};

const tones = (page) => page.evaluate(() => window.__tones);
const order = (id) => call(server.base, 'GET', `/v1/orders/${id}`, { token: restaurant.staff.token });
const mine = () => call(server.base, 'GET', '/v1/merchants/mine', { token: restaurant.staff.token });
const exported = () => call(server.base, 'GET', `/v1/merchants/${restaurant.merchantId}/menu/export`, { token: restaurant.staff.token });

test('a new order rings until acknowledged; the kitchen accepts it with a prep time, prepares it and marks it ready', async () => {
  kitchen = await b.page(TABLET);
  await kitchen.addInitScript(COUNT_TONES);
  await logInToKitchen(kitchen, server.base, restaurant.staff.email);
  await kitchen.getByRole('heading', { name: restaurant.name, level: 1 }).waitFor();
  assert.equal(await kitchen.locator('#new-alert').isHidden(), true, 'no alert before an order');
  await kitchen.locator('#intake-status', { hasText: 'Open: taking orders' }).waitFor();
  await screenshot(kitchen, 'merchant-board-empty-1024');

  const placed = await placeOrder(server, restaurant, customer);
  assert.equal(placed.state, 'placed');

  // The alert: banner, badge, title, and the chime.
  const banner = kitchen.locator('#new-alert');
  await banner.filter({ hasText: '1 new order is waiting for you' }).waitFor({ timeout: 15000 });
  assert.equal(await kitchen.locator('#nav-badge').textContent(), '1 new');
  assert.match(await kitchen.title(), /^\(1\) New order — /);
  assert.equal(await banner.getAttribute('data-ringing'), 'true');
  const card = kitchen.locator(`#col-new [data-order="${placed.id}"]`);
  await card.waitFor();
  // The event stream carried it (the 10 s poll is only the safety net).
  await kitchen.waitForFunction(() => window.doorstepEvents && window.doorstepEvents.received >= 2, null, { timeout: 5000 });
  const text = await card.innerText();
  for (const want of ['2×', 'Pad thai', 'Large', 'Egg', 'Note: no peanuts please', '1×', 'Thai iced tea', '$42.50']) {
    assert.ok(text.includes(want), `the card shows ${want}: ${text}`);
  }
  await kitchen.waitForFunction(() => window.__tones > 0, null, { timeout: 5000 });
  const first = await tones(kitchen);
  // It rings again until someone acknowledges it.
  await kitchen.waitForFunction((n) => window.__tones > n, first, { timeout: 8000 });
  await screenshot(kitchen, 'merchant-board-new-order-1024');

  await kitchen.getByRole('button', { name: 'Acknowledge' }).click();
  await banner.waitFor({ state: 'hidden' });
  const after = await tones(kitchen);
  await kitchen.waitForTimeout(5000);
  assert.equal(await tones(kitchen), after, 'the chime stops once acknowledged');
  assert.doesNotMatch(await kitchen.title(), /^\(/);
  assert.equal(await kitchen.locator('#nav-badge').textContent(), '1 new', 'the badge counts orders still to answer');

  // Accept with a 20-minute prep time.
  await card.getByRole('button', { name: 'Accept · 20 min' }).click();
  await kitchen.locator(`#col-kitchen [data-order="${placed.id}"][data-state="accepted"]`).waitFor();
  let o = await order(placed.id);
  assert.equal(o.state, 'accepted');
  const prep = (Date.parse(o.ready_at) - Date.parse(o.accepted_at)) / 60000;
  assert.ok(Math.abs(prep - 20) < 0.1, `ready 20 minutes after acceptance, not ${prep}`);
  assert.equal(await kitchen.locator('#nav-badge').isHidden(), true);

  await kitchen.locator(`[data-order="${placed.id}"]`).getByRole('button', { name: 'Start preparing' }).click();
  await kitchen.locator(`#col-kitchen [data-order="${placed.id}"][data-state="preparing"]`).waitFor();
  assert.equal((await order(placed.id)).state, 'preparing');

  await kitchen.locator(`[data-order="${placed.id}"]`).getByRole('button', { name: 'Mark ready' }).click();
  await kitchen.locator(`#col-ready [data-order="${placed.id}"][data-state="ready"]`).waitFor();
  o = await order(placed.id);
  assert.equal(o.state, 'ready');
  await screenshot(kitchen, 'merchant-board-ready-1024');
  assert.deepEqual(kitchen.errors, []);
});

test('a new order can be rejected with one of the reasons the API takes', async () => {
  const placed = await placeOrder(server, restaurant, customer);
  const card = kitchen.locator(`#col-new [data-order="${placed.id}"]`);
  await card.waitFor({ timeout: 15000 });
  await card.getByLabel('Reason to reject').selectOption('item_unavailable');
  await card.getByRole('button', { name: 'Reject' }).click();
  await kitchen.locator('#dlg-confirm').click();
  await kitchen.locator(`#col-done [data-order="${placed.id}"][data-state="rejected"]`).waitFor();
  const o = await order(placed.id);
  assert.equal(o.state, 'rejected');
  assert.equal(o.reject_reason, 'item_unavailable');
});

test('busy mode, pause and the cap on open orders are set from the board, as the API then says', async () => {
  await kitchen.getByLabel('Busy mode adds').selectOption('15');
  await kitchen.getByLabel('For', { exact: true }).selectOption('60');
  await kitchen.getByRole('button', { name: 'Turn on busy mode' }).click();
  await kitchen.locator('#busy-status[data-busy="15"]').waitFor();
  let m = await mine();
  assert.equal(m.intake.busy_minutes, 15);
  assert.ok(m.intake.busy_until, 'busy mode ends by itself');

  await kitchen.getByLabel('Pause for').selectOption('30');
  await kitchen.getByRole('button', { name: 'Pause new orders' }).click();
  await kitchen.locator('#intake-status[data-paused="true"]').waitFor();
  m = await mine();
  assert.equal(m.intake.paused, true);
  assert.ok(m.intake.paused_until);
  const refused = await placeOrder(server, restaurant, customer, { expect: 409 });
  assert.equal(refused.code, 'merchant_paused');
  await screenshot(kitchen, 'merchant-board-paused-busy-1024');

  await kitchen.getByRole('button', { name: 'Resume taking orders' }).click();
  await kitchen.locator('#intake-status[data-paused="false"]').waitFor();
  assert.equal((await mine()).intake.paused, false);

  await kitchen.getByLabel(/Most open orders at once/).fill('5');
  await kitchen.getByRole('button', { name: 'Save limit' }).click();
  await kitchen.locator('#cap-status', { hasText: 'Limit: 5 open orders' }).waitFor();
  assert.equal((await mine()).intake.max_open_orders, 5);

  await kitchen.getByRole('button', { name: 'End busy mode' }).click();
  await kitchen.getByRole('button', { name: 'Turn on busy mode' }).waitFor();
  assert.equal((await mine()).intake.busy_minutes, 0);
});

test('the menu editor saves a price and a sold-out item, shows the server refusal beside its field, exports and imports', async () => {
  await kitchen.getByRole('button', { name: 'Menu' }).click();
  await kitchen.getByRole('heading', { name: /^Menu/, level: 1 }).waitFor();
  const price = kitchen.locator('#m-0-0-price');
  assert.equal(await price.inputValue(), '14.50');
  assert.match(await kitchen.locator('#m-0-0-options').inputValue(), /"Large"/);
  await screenshot(kitchen, 'merchant-menu-1024');

  // Sold out is saved at once.
  await kitchen.getByRole('checkbox', { name: 'Sold out' }).nth(1).check();
  await kitchen.locator('#menu-status', { hasText: 'Green curry: sold out.' }).waitFor();
  let doc = await exported();
  assert.equal(doc.categories[0].items[1].sold_out, true);

  // A price the server refuses: the refusal is shown next to the price, and nothing is written.
  await price.fill('20000');
  await kitchen.getByRole('button', { name: 'Save menu' }).click();
  const err = kitchen.locator('[id="err-categories[0].items[0].price"]');
  await err.filter({ hasText: 'must be 0 to 1000000 minor units' }).waitFor();
  assert.equal(await price.getAttribute('aria-invalid'), 'true');
  assert.equal((await exported()).categories[0].items[0].price, 1450);
  await screenshot(kitchen, 'merchant-menu-refused-1024');

  await price.fill('15.25');
  await kitchen.getByRole('button', { name: 'Save menu' }).click();
  await kitchen.locator('#menu-status', { hasText: 'Menu saved' }).waitFor();
  doc = await exported();
  assert.equal(doc.categories[0].items[0].price, 1525);
  assert.equal(doc.categories[0].items[1].sold_out, true, 'the save keeps the sold-out toggle');
  assert.equal(doc.categories[0].items[0].id, restaurant.menu.categories[0].items[0].id, 'ids are kept');

  // Export downloads the whole menu; a file loaded back (with a new item) is saved after review.
  const [download] = await Promise.all([kitchen.waitForEvent('download'), kitchen.getByRole('button', { name: 'Download menu (JSON)' }).click()]);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'doorstep-menu-'));
  const file = path.join(dir, 'menu.json');
  await download.saveAs(file);
  const downloaded = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(downloaded.version, doc.version);
  assert.equal(downloaded.categories[0].items[0].price, 1525);
  downloaded.categories[1].items.push({ name: 'Coconut water', price: 500 });
  writeFileSync(file, JSON.stringify(downloaded));
  await kitchen.locator('#menu-file').setInputFiles(file);
  await kitchen.locator('#menu-status', { hasText: 'File loaded into the editor' }).waitFor();
  await kitchen.getByRole('heading', { name: 'Coconut water' }).waitFor();
  await kitchen.getByRole('button', { name: 'Save menu' }).click();
  await kitchen.locator('#menu-status', { hasText: 'Menu saved' }).waitFor();
  doc = await exported();
  assert.deepEqual(doc.categories[1].items.map((i) => i.name), ['Thai iced tea', 'Coconut water']);
  rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(kitchen.errors, []);
});

test('opening hours and an exception are saved from the hours editor', async () => {
  await kitchen.getByRole('button', { name: 'Hours' }).click();
  await kitchen.getByRole('heading', { name: 'Opening hours', level: 1 }).waitFor();
  await kitchen.locator('#h-monday-0-open').fill('11:00');
  await kitchen.locator('#h-monday-0-close').fill('23:00');
  await kitchen.getByRole('button', { name: 'Add hours on Sunday' }).waitFor({ state: 'visible' });
  await kitchen.getByRole('button', { name: 'Add an exception' }).click();
  // A date a month ahead (exceptions are kept up to a year ahead), in New York.
  const holiday = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York' }).format(new Date(Date.now() + 30 * 86400000));
  await kitchen.locator('#x-0-date').fill(holiday);
  await screenshot(kitchen, 'merchant-hours-1024');
  await kitchen.getByRole('button', { name: 'Save hours' }).click();
  await kitchen.locator('#hours-status', { hasText: 'Opening hours saved.' }).waitFor();
  const m = await mine();
  assert.deepEqual(m.hours.weekly.monday, [{ open: '11:00', close: '23:00' }]);
  assert.deepEqual(m.hours.exceptions, [{ date: holiday, ranges: [] }]);

  // A range the server refuses is named beside its day.
  await kitchen.locator('#h-tuesday-0-open').fill('25:00');
  await kitchen.getByRole('button', { name: 'Save hours' }).click();
  await kitchen.locator('[id="herr-weekly.tuesday"]', { hasText: 'weekly.tuesday' }).waitFor();
  assert.deepEqual((await mine()).hours.weekly.tuesday, [{ open: '00:00', close: '24:00' }]);

  // Open again all day, every day: the tests after this one place orders, and Monday's 11:00-23:00 would
  // close the restaurant to them when the suite runs on a Monday night or morning in New York.
  await call(server.base, 'PUT', `/v1/merchants/${restaurant.merchantId}/hours`, {
    token: restaurant.staff.token, body: { weekly: WHOLE_WEEK, exceptions: [] },
  });
  assert.deepEqual((await mine()).hours.weekly.monday, [{ open: '00:00', close: '24:00' }]);
});

test("today's sales count the day's orders from the list", async () => {
  await kitchen.getByRole('button', { name: 'Sales' }).click();
  await kitchen.getByRole('heading', { name: 'Today’s sales', level: 1 }).waitFor();
  assert.equal(await kitchen.locator('#sales-delivered').textContent(), '0');
  assert.equal(await kitchen.locator('#sales-subtotal').textContent(), '$0.00');
  assert.equal(await kitchen.locator('#sales-open').textContent(), '1', 'the ready order is still open');
  assert.equal(await kitchen.locator('#sales-rejected').textContent(), '1');
  // What is owed today comes from the ledger (the merchant's statement): nothing delivered yet.
  await kitchen.locator('#sales-payable').waitFor();
  assert.equal(await kitchen.locator('#sales-payable').textContent(), '$0.00');
  assert.equal(await kitchen.locator('#sales-commission').textContent(), '$0.00');
  await screenshot(kitchen, 'merchant-sales-1024');
});

test('on a phone, the board with a new order, the menu and the hours pass axe', async () => {
  const phone = await b.page(PHONE);
  await logInToKitchen(phone, server.base, restaurant.staff.email);
  const placed = await placeOrder(server, restaurant, customer);
  await phone.locator(`#col-new [data-order="${placed.id}"]`).waitFor({ timeout: 15000 });
  await phone.locator('#new-alert[data-ringing="true"]:not([hidden])').waitFor();
  await screenshot(phone, 'merchant-board-new-order-390');
  // Mute silences the chime but keeps the banner; unmuting rings again.
  await phone.getByRole('button', { name: 'Mute the new-order chime' }).click();
  assert.equal(await phone.locator('#mute').getAttribute('aria-pressed'), 'true');
  await phone.locator('#new-alert[data-ringing="false"]:not([hidden])').waitFor();
  await phone.getByRole('button', { name: 'Mute the new-order chime' }).click();
  await phone.locator('#new-alert[data-ringing="true"]').waitFor();
  await phone.getByRole('button', { name: 'Menu' }).click();
  await phone.locator('#m-0-0-price').waitFor();
  await screenshot(phone, 'merchant-menu-390');
  await phone.getByRole('button', { name: 'Hours' }).click();
  await phone.locator('#h-monday-0-open').waitFor();
  await screenshot(phone, 'merchant-hours-390');
  await phone.getByRole('button', { name: 'Sales' }).click();
  await phone.locator('#sales-delivered').waitFor();
  await screenshot(phone, 'merchant-sales-390');
  assert.deepEqual(phone.errors, []);
  await phone.context().close();
});

test('the landing page links the kitchen app and its manifest has the icons it names', async () => {
  const page = await b.page(PHONE);
  await page.goto(`${server.base}/`);
  await page.getByRole('link', { name: /Kitchen/ }).click();
  await page.waitForURL(`${server.base}/merchant/`);
  await page.locator('#auth-submit').waitFor();
  const m = await (await fetch(`${server.base}/merchant/manifest.webmanifest`)).json();
  assert.equal(m.start_url, '/merchant/');
  for (const icon of m.icons) assert.equal((await fetch(`${server.base}${icon.src}`)).status, 200, icon.src);
  await screenshot(page, 'merchant-login-390');
  await page.context().close();
});

test('the kitchen app asked nothing of another host, and no URL carried a token', () => {
  assert.ok(b.requests > 0);
  assert.deepEqual(b.foreign, []);
  assert.deepEqual(b.tokenInUrl, []);
  assert.ok(b.sockets.some((u) => u.includes('/v1/events?ticket=')), 'the board listened on the event stream');
});
