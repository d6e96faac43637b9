// Getting a person's attention for something that will not wait (a ride offer that expires in seconds, a
// driver at the door): a short tone made with WebAudio (no sound file), a vibration, and — when the page is
// hidden or in the background — a system notification shown through the app's service worker, so that a
// click on it focuses the app. Plus a screen wake lock while a worker is online. Any app (rides, food
// couriers, house-call providers) gets them by importing this module.
//
// Browsers let a page play sound only after a user gesture: the first tap or key press anywhere on the
// page (such as "Go online") unlocks the tone. Notifications need the user's permission: ask with
// `askPermission()` from a button whose purpose says why (`permissionHint()` is the sentence to show).

import { t, addMessages } from './i18n.js';
import messages from './messages/alerts.js';

addMessages(messages);

// ---- sound

let audio = null;

function audioContext() {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return null;
  if (!audio) {
    try {
      audio = new Ctx();
    } catch {
      audio = null;
    }
  }
  return audio;
}

/** Unlocks sound; call it from a user gesture (it also happens by itself on the first tap or key). */
export function unlockSound() {
  const ctx = audioContext();
  if (ctx && ctx.state === 'suspended') ctx.resume().catch(() => {});
}

const unlockOnGesture = () => {
  unlockSound();
  if (audio && audio.state === 'running') {
    for (const type of ['pointerdown', 'keydown', 'touchend']) removeEventListener(type, unlockOnGesture, true);
  }
};
for (const type of ['pointerdown', 'keydown', 'touchend']) addEventListener(type, unlockOnGesture, true);

/** Plays a short two-note chime (three times by default); returns whether sound could play. */
export function ring(times = 3) {
  const ctx = audioContext();
  if (!ctx) return false;
  if (ctx.state === 'suspended') ctx.resume().catch(() => {});
  if (ctx.state !== 'running') return false;
  const start = ctx.currentTime + 0.02;
  for (let i = 0; i < times; i++) {
    for (const [k, freq] of [880, 1320].entries()) {
      const at = start + i * 0.6 + k * 0.16;
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = 'sine';
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.3, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.15);
      osc.connect(gain).connect(ctx.destination);
      osc.start(at);
      osc.stop(at + 0.16);
    }
  }
  return true;
}

/** Vibrates the phone if it can (a pattern in milliseconds: on, off, on...). */
export function vibrate(pattern = [250, 120, 250, 120, 250]) {
  try {
    return typeof navigator.vibrate === 'function' ? navigator.vibrate(pattern) : false;
  } catch {
    return false;
  }
}

// ---- notifications

function notificationsSupported() {
  return 'Notification' in window;
}

/** 'granted' | 'denied' | 'default' | 'unsupported'. */
export function permission() {
  return notificationsSupported() ? Notification.permission : 'unsupported';
}

/** The sentence to show beside the control that asks for notifications, or '' once decided. */
export function permissionHint() {
  const p = permission();
  if (p === 'default') return t('alerts.permission.why');
  if (p === 'denied') return t('alerts.permission.denied');
  return '';
}

/** Asks for permission to notify (from a user gesture); resolves to the answer. Never throws. */
export async function askPermission() {
  if (permission() !== 'default') return permission();
  try {
    return await Notification.requestPermission();
  } catch {
    return permission();
  }
}

/** Whether the person is not looking at the page (another tab, another app, the screen off). */
export function pageHidden() {
  return document.visibilityState === 'hidden' || !document.hasFocus();
}

async function registration() {
  if (!('serviceWorker' in navigator)) return null;
  try {
    const reg = await navigator.serviceWorker.getRegistration();
    return reg && reg.active ? reg : null;
  } catch {
    return null;
  }
}

/**
 * Shows a system notification if the page is hidden and notifications are allowed: through the service
 * worker (a click focuses the app), else with `new Notification`. `tag` replaces an earlier notification of
 * the same tag. Resolves to whether one was shown.
 */
export async function notify({ title, body = '', tag = undefined, url = location.href, force = false }) {
  if (permission() !== 'granted') return false;
  if (!force && !pageHidden()) return false;
  const icon = document.querySelector('link[rel="icon"][sizes="192x192"]')?.href;
  const options = { body, tag, renotify: !!tag, icon, badge: icon, data: { url }, lang: document.documentElement.lang };
  try {
    const reg = await registration();
    if (reg) {
      await reg.showNotification(title, options);
      return true;
    }
    const n = new Notification(title, options);
    n.onclick = () => {
      window.focus();
      n.close();
    };
    return true;
  } catch (e) {
    console.warn('notification', e);
    return false;
  }
}

/**
 * Everything at once for something urgent: the tone, a vibration and (when the page is hidden) a
 * notification. Resolves to `{ rang, vibrated, notified }`.
 */
export async function urgent({ title, body, tag, url }) {
  const rang = ring();
  const vibrated = vibrate();
  const notified = await notify({ title, body, tag, url });
  return { rang, vibrated, notified };
}

// ---- screen wake lock

let wantAwake = false;
let lock = null;

async function acquire() {
  if (!wantAwake || lock || document.visibilityState !== 'visible' || !('wakeLock' in navigator)) return;
  try {
    lock = await navigator.wakeLock.request('screen');
    lock.addEventListener('release', () => {
      lock = null;
    });
  } catch {
    lock = null; // refused (battery saver, no gesture yet): tried again when the page shows
  }
}

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') acquire();
});

/** Keeps the screen on while `on` (a driver online); the browser drops the lock when the page hides, and
 *  it is taken again when the page shows. */
export function keepAwake(on) {
  wantAwake = !!on;
  if (wantAwake) acquire();
  else if (lock) {
    lock.release().catch(() => {});
    lock = null;
  }
}

/** Whether the screen is being kept on now (for tests and for a status line). */
export function awake() {
  return !!lock;
}

// ---- the alerts of the apps

/**
 * A new offer for a worker: rings, vibrates and (hidden page) notifies with the pickup and the worker's
 * take (else the fare). `kind` is the job's kind (`ride`, `delivery`, `house_call`); `take` and `fare` are
 * already formatted; `id` tags the notification so that one offer notifies once.
 */
export function offerAlert({ kind = 'ride', id, pickup, take, fare, secondsLeft }) {
  const titleKey = kind === 'ride' ? 'alerts.offer.title' : `alerts.offer.title.${kind}`;
  const title = t(titleKey) === titleKey ? t('alerts.offer.title') : t(titleKey);
  let body = take ? t('alerts.offer.take', { pickup, take }) : t('alerts.offer.fare', { pickup, fare });
  if (secondsLeft > 0) body += `\n${t('alerts.offer.answer', { seconds: Math.round(secondsLeft) })}`;
  return urgent({ title, body, tag: id ? `offer-${id}` : 'offer' });
}

/** The rider's alerts while the page is hidden: `assigned` (a driver is coming) or `arrived`. */
export function riderAlert(what, rideId) {
  return notify({
    title: t(`alerts.rider.${what}.title`),
    body: t(`alerts.rider.${what}.body`),
    tag: rideId ? `ride-${rideId}-${what}` : undefined,
  });
}
