import { locale } from './i18n.js';

// Formatting (in the current locale) of money, durations, distances and times for display. Money is `{amount: minor units, currency}`.

const moneyFormats = new Map();

export function money(m) {
  if (!m) return '—';
  const currency = m.currency || 'USD';
  let f = moneyFormats.get(currency);
  if (!f) {
    f = new Intl.NumberFormat(locale(), { style: 'currency', currency });
    moneyFormats.set(currency, f);
  }
  const digits = f.resolvedOptions().maximumFractionDigits;
  return f.format(m.amount / 10 ** digits);
}

export function duration(s) {
  if (s === null || s === undefined || Number.isNaN(s)) return '—';
  s = Math.max(0, Math.round(s));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 && m < 10 ? `${m} min ${s % 60} s` : `${m} min`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function countdown(s) {
  s = Math.max(0, Math.round(s));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function distance(m) {
  if (m === null || m === undefined) return '—';
  return m < 1000 ? `${Math.round(m)} m` : `${(m / 1000).toFixed(1)} km`;
}

export function time(iso) {
  if (!iso) return '—';
  return new Date(iso).toLocaleTimeString(locale(), { hour: 'numeric', minute: '2-digit', second: '2-digit' });
}

export function shortTime(iso) {
  if (!iso) return '—';
  return new Date(iso).toLocaleTimeString(locale(), { hour: 'numeric', minute: '2-digit' });
}

export function dateTime(iso) {
  if (!iso) return '—';
  return new Date(iso).toLocaleString(locale(), { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' });
}

export function percent(x) {
  if (x === null || x === undefined) return '—';
  return `${Math.round(x * 100)} %`;
}

const STATES = {
  requested: 'Finding a driver',
  driver_assigned: 'Driver on the way',
  driver_arrived: 'Driver arrived',
  in_progress: 'On trip',
  completed: 'Completed',
  cancelled: 'Cancelled',
  no_driver_available: 'No driver available',
};

export function rideState(s) {
  return STATES[s] || s;
}

const LINES = {
  base: 'Base fare',
  distance: 'Distance',
  time: 'Time',
  booking_fee: 'Booking fee',
  surge: 'Surge',
  minimum_fare: 'Minimum fare top-up',
  minimum: 'Minimum fare top-up',
  band_adjustment: 'Adjusted to the quote’s band',
  fare: 'Fare',
  commission: 'Platform commission',
  driver_earnings: 'Trip earnings',
  cancellation_fee: 'Cancellation fee',
};

export function lineKind(k) {
  return LINES[k] || k.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
}

export function shortId(id) {
  return id ? id.slice(-6) : '—';
}

export const OPEN_STATES = ['requested', 'driver_assigned', 'driver_arrived', 'in_progress'];
