// A provider's safety tools in Chromium against a real `doorstep serve`: on a booked visit's card the
// provider makes a share link and opens it as their trusted contact would (no account: the page reads the
// visit's status by the link's token), then sends an SOS, which the operators' alert list shows. Every
// screen passes axe at 390x844.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, screenshot, PHONE, signUp } from '../lib.mjs';
import {
  startServe, call, operatorToken, createService, approveProvider, writeProfile, newCustomer, slots, book,
} from '../provider-setup.mjs';

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

test('a provider shares a visit with a trusted contact and raises an SOS the operators see', async () => {
  const ops = await operatorToken(server);
  const service = await createService(server, ops, { name: 'Home haircut', amount: 4500, duration_min: 45 });
  const page = await b.page(PHONE);
  await page.goto(`${server.base}/provider/`);
  await signUp(page, 'Ines');
  await page.getByRole('heading', { name: 'Your profile' }).waitFor();
  const session = await page.evaluate(() => JSON.parse(localStorage.getItem('doorstep.provider.session')));
  const provider = { id: session.user_id, token: session.token };
  await writeProfile(server, provider, [service.id]);
  await approveProvider(server, ops, provider.id);
  const customer = await newCustomer(server);
  const free = await slots(server, customer, service.id, { providerId: provider.id });
  assert.ok(free.length > 0, 'a free slot this week');
  const visit = await book(server, customer, service.id, free[0].start);

  await page.reload();
  await page.getByRole('button', { name: 'Week', exact: true }).click();
  const card = page.locator(`.visit[data-booking="${visit.id}"]`);
  await card.waitFor();
  await card.getByRole('button', { name: 'Share my status' }).click();
  const link = page.locator(`#share-link-${visit.id} a`);
  await link.waitFor();
  const url = await link.getAttribute('href');
  assert.match(url, /\/share\/visit\/[^/]+$/);
  await screenshot(page, 'provider-share-390');

  // The trusted contact: no account, only the link.
  const contact = await b.page(PHONE);
  await contact.goto(url);
  await contact.locator('#state[data-state="confirmed"]').waitFor();
  await contact.getByRole('heading', { name: /is on a house call/ }).waitFor();
  await screenshot(contact, 'share-visit-390');
  const token = url.split('/').pop();
  const revoked = await fetch(`${server.base}/v1/house-calls/bookings/${visit.id}/share`, {
    method: 'DELETE', headers: { authorization: `Bearer ${provider.token}` },
  });
  assert.equal(revoked.status, 204);
  await contact.reload();
  await contact.locator('#gone').waitFor();
  assert.equal((await fetch(`${server.base}/v1/shared-visits/${token}`)).status, 404);

  // SOS: confirmed in a dialog, then the operators have an open alert for this visit.
  await card.getByRole('button', { name: 'SOS' }).click();
  await page.getByRole('button', { name: 'Send SOS' }).click();
  await page.locator(`#sos-sent-${visit.id}`).waitFor();
  await screenshot(page, 'provider-sos-390');
  const alerts = await call(server.base, 'GET', '/v1/admin/sos-alerts', { token: ops });
  const list = alerts.alerts || alerts;
  assert.ok(list.some((a) => a.booking_id === visit.id), JSON.stringify(alerts));
  assert.deepEqual(page.errors, []);
  assert.deepEqual(contact.errors, []);
});
