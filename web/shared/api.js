// The Doorstep HTTP API client: the public `/v1/...` endpoints only, JSON in and out, errors as
// `ApiError {status, code, message}`. Each app keeps its own session (token, user) in localStorage so that
// a rider, a driver and an operator can be signed in side by side in one browser.

import { t } from './i18n.js';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
  }
}

export function newIdempotencyKey() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  return 'k-' + Date.now().toString(36) + '-' + Math.random().toString(36).slice(2);
}

export class Api {
  /** @param {string} app the app name, used as the session's storage key */
  constructor(app) {
    this.key = `doorstep.${app}.session`;
    this.onUnauthorized = () => {};
    try {
      this.session = JSON.parse(localStorage.getItem(this.key) || 'null');
    } catch {
      this.session = null;
    }
  }

  get token() {
    return this.session && this.session.token;
  }

  saveSession(session) {
    this.session = session;
    if (session) localStorage.setItem(this.key, JSON.stringify(session));
    else localStorage.removeItem(this.key);
  }

  async request(method, path, body, headers = {}) {
    const h = { accept: 'application/json', ...headers };
    if (body !== undefined) h['content-type'] = 'application/json';
    if (this.token) h.authorization = `Bearer ${this.token}`;
    let res;
    try {
      res = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      throw new ApiError(0, 'network', t('common.error.network'));
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!res.ok) {
      const code = (data && data.code) || `http_${res.status}`;
      const message = (data && data.message) || res.statusText || t('common.error.request_failed');
      if (res.status === 401 && this.token) this.onUnauthorized();
      throw new ApiError(res.status, code, message);
    }
    return data;
  }

  get(path) { return this.request('GET', path); }
  post(path, body, headers) { return this.request('POST', path, body, headers); }
  put(path, body, headers) { return this.request('PUT', path, body, headers); }

  async signup(email, password, name, role) {
    const r = await this.post('/v1/auth/signup', { email, password, name, role });
    this.saveSession({ token: r.token, user_id: r.user_id, role, name });
    return this.session;
  }

  async login(email, password) {
    const r = await this.post('/v1/auth/login', { email, password });
    this.saveSession({ token: r.token, user_id: r.user_id, role: r.role, name: r.name });
    return this.session;
  }

  async logout() {
    try {
      if (this.token) await this.post('/v1/auth/logout');
    } catch {
      // The token is dropped locally either way.
    }
    this.saveSession(null);
  }
}

/** A user-facing sentence for an error from the API. */
export function errorText(e) {
  if (!(e instanceof ApiError)) return String((e && e.message) || e);
  // The codes the apps' users meet, in their language (`common.error.<code>`); others keep the server's text.
  const key = `common.error.${e.code}`;
  const known = t(key);
  if (known !== key) return known;
  return e.message || e.code;
}
