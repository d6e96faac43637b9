// The page behind a provider's share link (`/share/visit/<token>`): a trusted contact sees the visit's
// status, the neighbourhood, the expected arrival and the provider's last position while they are out,
// read from `GET /v1/shared-visits/{token}` (public: the token is the capability) every 20 seconds until
// the link expires. No account, no cookie, no third-party code.
import { html, render, $ } from '/shared/ui.js';
import { t, addMessages, locale } from '/shared/i18n.js';
import shareMessages from '/shared/messages/share.js';

addMessages(shareMessages);
const POLL_MS = 20000;
const token = decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() || '');
const out = $('#status');
let timer = null;

const time = (iso) =>
  iso
    ? new Date(iso).toLocaleString(locale(), {
        timeZone: 'America/New_York', weekday: 'short', hour: '2-digit', minute: '2-digit',
      })
    : '';

function show(v) {
  document.title = `Doorstep — ${t('share.title')}`;
  $('#heading').textContent = t('share.heading', { name: v.provider_first_name });
  const pos = v.provider_position;
  render(out, html`<dl class="facts">
      <dt>${t('share.state')}</dt><dd id="state" data-state="${v.state}">${t(`share.state.${v.state}`)}</dd>
      <dt>${t('share.when')}</dt><dd>${time(v.start)} – ${time(v.end)}</dd>
      <dt>${t('share.where')}</dt><dd>${v.neighbourhood}</dd>
      ${v.eta ? html`<dt>${t('share.eta')}</dt><dd>${time(v.eta)}</dd>` : ''}
      <dt>${t('share.position')}</dt>
      <dd id="position">${pos ? `${pos.lat.toFixed(5)}, ${pos.lng.toFixed(5)}` : t('share.no_position')}</dd>
    </dl>
    <p class="hint">${t('share.expires', { time: time(v.expires_at) })}</p>`);
}

async function load() {
  try {
    const r = await fetch(`/v1/shared-visits/${encodeURIComponent(token)}`, { headers: { accept: 'application/json' } });
    if (r.status === 404) {
      render(out, html`<p class="notice bad" id="gone">${t('share.gone')}</p>`);
      clearInterval(timer);
      return;
    }
    if (!r.ok) throw new Error(String(r.status));
    show(await r.json());
  } catch {
    render(out, html`<p class="notice warn">${t('share.failed')}</p>`);
  }
}

load();
timer = setInterval(load, POLL_MS);
