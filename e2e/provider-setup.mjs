// House calls for the end-to-end tests, against a real `doorstep serve` (merchant-setup.mjs starts it with
// an operator made by `doorstep admin create`): the operator adds a service to the catalogue and approves
// providers through the operators' API (`/v1/admin/house-calls/services`, `/v1/admin/providers/{id}/approve`);
// a provider signs up and writes their profile; a customer finds a slot and books it. Everything goes
// through the public API, as each role would do it.
import { unique, PASSWORD } from './lib.mjs';
import { call, login } from './merchant-setup.mjs';

export { startServe, call, login } from './merchant-setup.mjs';

export const DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
/** Every day around the clock: slots exist whatever time the suite runs at. */
export const ALL_WEEK = Object.fromEntries(DAYS.map((d) => [d, [{ open: '00:00', close: '24:00' }]]));
/** Bryant Park: the provider's home base; the customers are within its area. */
export const HOME = { lat: 40.7536, lng: -73.9832 };
/** Grand Central, about 700 m away (the customer's place when booked through the API). */
export const CUSTOMER = { lat: 40.7527, lng: -73.9772 };

const NY_DATE = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York', year: 'numeric', month: '2-digit', day: '2-digit' });

/** The city's date of `d`, and `n` days after a date. */
export function nyDate(d = new Date()) {
  return NY_DATE.format(d);
}
export function addDays(ymd, n) {
  const d = new Date(`${ymd}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/**
 * Whether the server has the operators' side of house calls (the catalogue's list and writes, the
 * vetting of providers): a signed-in GET of the list answers 200, or 404 `route_not_found` before it.
 */
export async function hasHouseCallAdmin(server, token) {
  const r = await fetch(`${server.base}/v1/house-calls/services`, { headers: { authorization: `Bearer ${token}` } });
  return r.status === 200;
}

/** The operator's token. */
export async function operatorToken(server) {
  return login(server.base, server.operator.email, server.operator.password);
}

/** A service of the catalogue, created by the operator; resolves to its view. */
export async function createService(server, ops, { name = `Swedish massage ${unique()}`, duration_min = 60, prep_min = 15, amount = 8000 } = {}) {
  return call(server.base, 'POST', '/v1/admin/house-calls/services', {
    token: ops,
    key: `service-${unique()}`,
    expect: 201,
    body: { reason: 'new service for the e2e suite', name, description: 'A full-body massage at home', duration_min, prep_min, price: { amount, currency: 'USD' } },
  });
}

/** A provider account (role provider): `{email, token, id}`. */
export async function newProvider(server, name = 'Maya Provider') {
  const email = `provider-${unique()}@example.com`;
  const r = await call(server.base, 'POST', '/v1/auth/signup', { body: { email, password: PASSWORD, name, role: 'provider' } });
  return { email, token: r.token, id: r.user_id, name };
}

/** The provider's profile written through the API: home at `home`, offering `serviceIds`. */
export async function writeProfile(server, provider, serviceIds, { home = HOME, area_m = 5000, daily_cap = 8, hours = ALL_WEEK } = {}) {
  return call(server.base, 'PUT', '/v1/providers/me', {
    token: provider.token,
    body: { bio: 'Ten years of practice', home, area_m, daily_cap, service_ids: serviceIds, hours },
  });
}

/** The operator approves the provider (who must have written a profile). */
export async function approveProvider(server, ops, providerId) {
  return call(server.base, 'POST', `/v1/admin/providers/${providerId}/approve`, {
    token: ops,
    key: `approve-${unique()}`,
    body: { reason: 'identity and licence checked' },
  });
}

/** An approved provider offering `serviceId` around Bryant Park all week. */
export async function setUpProvider(server, ops, serviceId, opts = {}) {
  const provider = await newProvider(server, opts.name);
  await writeProfile(server, provider, [serviceId], opts);
  await approveProvider(server, ops, provider.id);
  return provider;
}

/** A customer account (role rider) with a test card that approves (house calls are paid by card or
 *  wallet): `{email, token, id}`. */
export async function newCustomer(server, name = 'Cara Customer') {
  const email = `customer-${unique()}@example.com`;
  const r = await call(server.base, 'POST', '/v1/auth/signup', { body: { email, password: PASSWORD, name, role: 'rider' } });
  await addCard(server, r.token);
  return { email, token: r.token, id: r.user_id, name };
}

/** Adds the test card that approves to the account of `token`. */
export async function addCard(server, token) {
  return call(server.base, 'POST', '/v1/me/payment-methods', { token, body: { kind: 'test_card', number: '4242 4242 4242 4242' }, expect: 201 });
}

/** The free slots of `serviceId` at `place` from `from` for `days` days (the city's dates). */
export async function slots(server, customer, serviceId, { place = CUSTOMER, from = nyDate(), days = 7, providerId } = {}) {
  const q = new URLSearchParams({ service_id: serviceId, lat: String(place.lat), lng: String(place.lng), from, to: addDays(from, days - 1) });
  if (providerId) q.set('provider_id', providerId);
  return (await call(server.base, 'GET', `/v1/house-calls/availability?${q}`, { token: customer.token })).slots;
}

/** The customer books `start` through the API; resolves to the booking. */
export async function book(server, customer, serviceId, start, { place = CUSTOMER, address = '89 E 42nd St', expect = 201 } = {}) {
  return call(server.base, 'POST', '/v1/house-calls/bookings', {
    token: customer.token,
    key: `book-${unique()}`,
    expect,
    body: { service_id: serviceId, location: place, address, start },
  });
}
