import { locale, t, number } from './i18n.js';

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
  if (s < 60) return t('common.unit.s', { n: s });
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 && m < 10 ? t('common.unit.minS', { m, s: s % 60 }) : t('common.unit.min', { n: m });
  return t('common.unit.hMin', { h: Math.floor(m / 60), m: m % 60 });
}

export function countdown(s) {
  s = Math.max(0, Math.round(s));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function distance(m) {
  if (m === null || m === undefined) return '—';
  return m < 1000
    ? t('common.unit.m', { n: Math.round(m) })
    : t('common.unit.km', { n: number(m / 1000, { minimumFractionDigits: 1, maximumFractionDigits: 1 }) });
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
  return t('common.unit.percent', { n: Math.round(x * 100) });
}

/** The name of a ride state (`common.state.*`), or the state itself if it has none. */
export function rideState(s) {
  const key = `common.state.${s}`;
  const name = t(key);
  return name === key ? s : name;
}

/** The name of a price or statement line (`common.line.*`), else the kind made readable. */
export function lineKind(k) {
  const key = `common.line.${k}`;
  const name = t(key);
  return name === key ? k.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase()) : name;
}

export function shortId(id) {
  return id ? id.slice(-6) : '—';
}

export const OPEN_STATES = ['requested', 'driver_assigned', 'driver_arrived', 'in_progress'];
