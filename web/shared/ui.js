// Tiny DOM helpers: an escaping `html` template tag, rendering into an element, and the shared
// sign-in form. No framework: each screen is a function from state to markup plus event handlers.

import { t } from './i18n.js';

class Raw {
  constructor(s) {
    this.s = s;
  }
  toString() {
    return this.s;
  }
}

export function raw(s) {
  return new Raw(s);
}

export function esc(v) {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

function part(v) {
  if (v instanceof Raw) return v.s;
  if (Array.isArray(v)) return v.map(part).join('');
  if (v === false || v === null || v === undefined) return '';
  return esc(v);
}

/** Template tag: interpolated values are escaped unless they are `html`/`raw` results or arrays of them. */
export function html(strings, ...values) {
  let out = strings[0];
  values.forEach((v, i) => {
    out += part(v) + strings[i + 1];
  });
  return new Raw(out);
}

export function $(sel, root = document) {
  return root.querySelector(sel);
}

export function $$(sel, root = document) {
  return [...root.querySelectorAll(sel)];
}

/** Replaces the content of `el`, keeping focus on an element with the same id if it had it. */
export function render(el, markup) {
  const focused = document.activeElement && el.contains(document.activeElement) ? document.activeElement.id : null;
  el.innerHTML = part(markup);
  if (focused) {
    const again = document.getElementById(focused);
    if (again) again.focus();
  }
}

/**
 * A freshly shown screen starts at its top (not at the last screen's scroll, which hid the header) and
 * moves focus to its first heading so that screen readers announce it.
 */
export function focusHeading(el) {
  window.scrollTo(0, 0);
  el.scrollTop = 0;
  const h = el.querySelector('h1, h2');
  if (h) {
    h.setAttribute('tabindex', '-1');
    h.focus({ preventScroll: true });
  }
}

/** A busy state for a button while an async action runs; errors go to `errorEl` (role=alert). */
export async function busy(button, errorEl, action) {
  if (errorEl) errorEl.textContent = '';
  const label = button ? button.textContent : '';
  if (button) {
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
  }
  try {
    return await action();
  } catch (e) {
    const { errorText } = await import('./api.js');
    if (errorEl) errorEl.textContent = errorText(e);
    else console.error(e);
    return undefined;
  } finally {
    if (button && button.isConnected) {
      button.disabled = false;
      button.removeAttribute('aria-busy');
      button.textContent = label;
    }
  }
}

/** A role's name in the current language (`common.role.*`), else the role itself. */
export function roleName(role) {
  const key = `common.role.${role}`;
  const name = t(key);
  return name === key ? role : name;
}

/**
 * The sign-in screen shared by the apps: log in, and (if `signupRole`) create an account.
 * Calls `onDone(session)` once signed in.
 */
export function authScreen(el, api, { title, signupRole, expectRole, onDone }) {
  let mode = 'login';
  const draw = () => {
    const signup = mode === 'signup';
    render(
      el,
      html`<section class="auth card" aria-labelledby="auth-title">
        <h1 id="auth-title">${title}</h1>
        <h2 class="sub">${signup ? t('common.auth.create') : t('common.auth.login')}</h2>
        <form id="auth-form" novalidate>
          ${signup
            ? html`<label for="auth-name">${t('common.auth.name')}</label>
                <input id="auth-name" name="name" autocomplete="name" required>`
            : ''}
          <label for="auth-email">${t('common.auth.email')}</label>
          <input id="auth-email" name="email" type="email" autocomplete="email" required>
          <label for="auth-password">${t('common.auth.password')}</label>
          <input id="auth-password" name="password" type="password" minlength="8"
            autocomplete="${signup ? 'new-password' : 'current-password'}" required>
          ${signup ? html`<p class="hint" id="pw-hint">${t('common.auth.passwordHint')}</p>` : ''}
          <p class="error" role="alert" id="auth-error"></p>
          <button type="submit" class="primary" id="auth-submit">${signup ? t('common.auth.signup') : t('common.auth.login')}</button>
        </form>
        ${signupRole
          ? html`<p class="switch">${signup ? t('common.auth.haveAccount') : t('common.auth.newHere')}
              <button type="button" class="link" id="auth-switch">${signup ? t('common.auth.login') : t('common.auth.createLink')}</button></p>`
          : ''}
      </section>`,
    );
    const form = $('#auth-form', el);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const f = new FormData(form);
      const err = $('#auth-error', el);
      const email = String(f.get('email') || '').trim();
      const password = String(f.get('password') || '');
      if (!email || !password || (signup && !String(f.get('name') || '').trim())) {
        err.textContent = t('common.auth.fillAll');
        return;
      }
      busy($('#auth-submit', el), err, async () => {
        const s = signup
          ? await api.signup(email, password, String(f.get('name')).trim(), signupRole)
          : await api.login(email, password);
        if (expectRole && s.role !== expectRole) {
          await api.logout();
          throw new Error(t('common.auth.wrongRole', { expected: roleName(expectRole), actual: roleName(s.role) }));
        }
        onDone(s);
      });
    });
    const sw = $('#auth-switch', el);
    if (sw)
      sw.addEventListener('click', () => {
        mode = signup ? 'login' : 'signup';
        draw();
        $('#auth-email', el).focus();
      });
  };
  mode = signupRole ? 'signup' : 'login';
  draw();
}

// The id of the last element outside a dialog that had focus: the button that opens a dialog is often
// disabled while its action runs (`busy`), which takes focus from it before the dialog opens.
let lastFocusedId = null;
document.addEventListener('focusin', (e) => {
  const t = e.target;
  if (t instanceof Element && t.id && !t.closest('dialog')) lastFocusedId = t.id;
});

/**
 * Opens a modal confirmation dialog; resolves true if confirmed. However it closes (a button, Escape),
 * focus goes back to what had it before, found again by id if the screen re-rendered meanwhile.
 */
export function confirmDialog({ title, body, confirm, cancel = t('common.keep'), danger = false }) {
  const active = document.activeElement;
  const openerId = (active && active !== document.body && active.id) || lastFocusedId;
  return new Promise((resolve) => {
    const d = document.createElement('dialog');
    d.setAttribute('aria-labelledby', 'dlg-title');
    d.innerHTML = part(html`<form method="dialog">
      <h2 id="dlg-title">${title}</h2>
      <div class="dlg-body">${body}</div>
      <div class="row">
        <button value="no" class="secondary">${cancel}</button>
        <button value="yes" class="${danger ? 'danger' : 'primary'}" id="dlg-confirm">${confirm}</button>
      </div></form>`);
    document.body.append(d);
    d.addEventListener('close', () => {
      resolve(d.returnValue === 'yes');
      d.remove();
      // After the caller's own reaction to the answer (re-enabling or re-rendering its button).
      setTimeout(() => {
        const back = openerId && document.getElementById(openerId);
        if (back && !document.querySelector('dialog[open]')) back.focus();
      }, 0);
    });
    d.showModal();
  });
}
