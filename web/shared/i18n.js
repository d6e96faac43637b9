// Message catalogues and locale-aware formatting for the web apps. Every user-facing text comes from a
// catalogue through `t(key, params)`. Catalogues are plain ES modules under `/shared/messages/`, one
// per area, each exporting `{ en: {...}, 'zh-CN': {...} }`; an app imports the ones it uses and passes
// them to `addMessages`, so areas never edit one shared file. A key missing in the chosen locale falls
// back to English, then to the key itself (so a gap shows, and a test can find it).
//
// The locale is the one the user picked (stored in localStorage), else the browser's language when it
// is a supported one, else English. `languageSwitch()` is the control every app puts in its top bar.

import common from './messages/common.js';

export const LOCALES = [
  { code: 'en', name: 'English', short: 'EN' },
  { code: 'zh-CN', name: '简体中文', short: '中文' },
];

const STORE_KEY = 'doorstep.locale';
const catalogues = { en: {}, 'zh-CN': {} };

function supported(code) {
  if (!code) return null;
  const exact = LOCALES.find((l) => l.code.toLowerCase() === code.toLowerCase());
  if (exact) return exact.code;
  if (code.toLowerCase().startsWith('zh')) return 'zh-CN';
  if (code.toLowerCase().startsWith('en')) return 'en';
  return null;
}

function initialLocale() {
  let stored = null;
  try {
    stored = localStorage.getItem(STORE_KEY);
  } catch {
    stored = null;
  }
  const fromUrl = new URLSearchParams(location.search).get('lang');
  return (
    supported(fromUrl) ||
    supported(stored) ||
    (navigator.languages || [navigator.language]).map(supported).find(Boolean) ||
    'en'
  );
}

let current = initialLocale();
addMessages(common);
document.documentElement.lang = current;

/** The current locale code ("en" or "zh-CN"). */
export function locale() {
  return current;
}

/** Stores the choice and reloads the page, so that every screen is drawn again in the new language. */
export function setLocale(code) {
  const next = supported(code) || 'en';
  try {
    localStorage.setItem(STORE_KEY, next);
  } catch {
    /* private mode: the choice lasts for this page only */
  }
  if (next === current) return;
  const url = new URL(location.href);
  url.searchParams.delete('lang');
  location.replace(url.toString());
}

/** Adds a catalogue module's messages: `{ en: {key: text}, 'zh-CN': {key: text} }`. */
export function addMessages(...modules) {
  for (const m of modules) {
    for (const [loc, msgs] of Object.entries(m)) {
      if (!catalogues[loc]) catalogues[loc] = {};
      Object.assign(catalogues[loc], msgs);
    }
  }
}

/**
 * The message `key` in the current locale, with `{name}` placeholders filled from `params`. Numbers in
 * params are formatted for the locale. A message may be a function of params (for plurals).
 */
export function t(key, params = {}) {
  const msg = catalogues[current]?.[key] ?? catalogues.en[key];
  if (msg === undefined) return key;
  const text = typeof msg === 'function' ? msg(params) : msg;
  return text.replace(/\{(\w+)\}/g, (whole, name) => {
    const v = params[name];
    if (v === undefined || v === null) return whole;
    return typeof v === 'number' ? number(v) : String(v);
  });
}

const numberFormats = new Map();

/** A number formatted for the current locale. */
export function number(x, options = {}) {
  const k = JSON.stringify(options);
  let f = numberFormats.get(k);
  if (!f) {
    f = new Intl.NumberFormat(current, options);
    numberFormats.set(k, f);
  }
  return f.format(x);
}

/**
 * Markup of the language switch (a labelled select); `bindLanguageSwitch` wires it. Each option shows
 * its short name ("EN", "中文", in its own language), to fit a phone's top bar; the full name is its title.
 */
export function languageSwitchHtml(id = 'lang-switch') {
  const opts = LOCALES.map(
    (l) =>
      `<option value="${l.code}" lang="${l.code}" title="${l.name}"${l.code === current ? ' selected' : ''}>${l.short}</option>`,
  ).join('');
  return `<label class="lang" for="${id}"><span class="visually-hidden">${t('common.language')}</span><select id="${id}">${opts}</select></label>`;
}

/** Wires the language switch rendered by `languageSwitchHtml` inside `root`. */
export function bindLanguageSwitch(root = document, id = 'lang-switch') {
  const sel = root.querySelector(`#${id}`);
  if (sel) sel.addEventListener('change', () => setLocale(sel.value));
}
