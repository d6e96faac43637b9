// The live event stream (`/v1/events` WebSocket) with resume: after a drop it reconnects with
// `after=<last durable id>` so no event is missed or repeated, backing off up to 10 s between tries.
// A browser cannot set an Authorization header on a WebSocket, and the bearer token must never appear
// in a URL: before every (re)connect the stream trades the token for a single-use ticket
// (`POST /v1/events/tickets`) and opens `/v1/events?ticket=...`.
// Status changes ('connecting' | 'live' | 'reconnecting' | 'superseded' | 'closed') are reported so apps
// can show them; 'superseded' means the server closed this socket because the same account opened newer
// ones elsewhere (close code 1008, too_many_connections): it does not reconnect by itself, so that two
// windows do not take the connection from each other forever.

import { t } from './i18n.js';

export class EventStream {
  /**
   * @param {() => string} token returns the current bearer token
   * @param {{onMessage: (m: object) => void, onStatus?: (s: string) => void, onResume?: () => void}} handlers
   */
  constructor(token, { onMessage, onStatus = () => {}, onResume = () => {} }) {
    this.token = token;
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.onResume = onResume;
    this.lastId = null;
    this.attempt = 0;
    this.ws = null;
    this.closed = false;
    this.status = 'connecting';
    this.received = 0;
    // For debugging from the console (and the end-to-end tests): the page's stream.
    window.doorstepEvents = this;
    this.connect();
  }

  setStatus(s) {
    if (this.status === s) return;
    this.status = s;
    this.onStatus(s);
  }

  /** A fresh single-use ticket for the next socket, or null if none could be had. */
  async fetchTicket() {
    try {
      const res = await fetch('/v1/events/tickets', {
        method: 'POST',
        headers: { accept: 'application/json', authorization: `Bearer ${this.token()}` },
      });
      if (!res.ok) return null;
      const body = await res.json();
      return typeof body.ticket === 'string' ? body.ticket : null;
    } catch {
      return null;
    }
  }

  /** Waits before the next try, longer after each failure. */
  retryLater(opened) {
    this.attempt += 1;
    this.setStatus('reconnecting');
    const delay = Math.min(10000, 500 * 2 ** Math.min(this.attempt - 1, 5)) * (0.75 + Math.random() / 2);
    this.timer = setTimeout(() => this.connect(), opened ? Math.min(delay, 1000) : delay);
  }

  async connect() {
    if (this.closed) return;
    const ticket = await this.fetchTicket();
    if (this.closed) return;
    if (ticket === null) {
      this.retryLater(false);
      return;
    }
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let url = `${proto}//${location.host}/v1/events?ticket=${encodeURIComponent(ticket)}`;
    if (this.lastId !== null) url += `&after=${this.lastId}`;
    const ws = new WebSocket(url);
    this.ws = ws;
    let opened = false;
    ws.onmessage = (ev) => {
      let m;
      try {
        m = JSON.parse(ev.data);
      } catch {
        return;
      }
      this.received += 1;
      if (m.type === 'hello') {
        opened = true;
        const resumed = this.attempt > 0 || this.lastId !== null;
        if (this.lastId === null) this.lastId = m.last_event_id;
        this.attempt = 0;
        this.setStatus('live');
        if (resumed) this.onResume();
        return;
      }
      if (typeof m.id === 'number') {
        if (this.lastId !== null && m.id <= this.lastId) return;
        this.lastId = m.id;
      }
      this.onMessage(m);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.closed) {
        this.setStatus('closed');
        return;
      }
      if (ev.code === 1008 && ev.reason === 'too_many_connections') {
        this.setStatus('superseded');
        return;
      }
      this.retryLater(opened);
    };
    ws.onerror = () => {
      // onclose follows and schedules the retry.
    };
  }

  /** Sends a message if the socket is open; returns whether it was sent. */
  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close();
    this.setStatus('closed');
  }
}

/** Shows the stream's status in a banner element (role=status): hidden while live. */
export function bindConnectionBanner(el, stream) {
  const show = (s) => {
    el.hidden = s === 'live' || s === 'closed';
    el.dataset.status = s;
    el.textContent =
      s === 'reconnecting'
        ? t('common.conn.reconnecting')
        : s === 'connecting'
          ? t('common.conn.connecting')
          : s === 'superseded'
            ? t('common.conn.superseded')
            : '';
  };
  const prev = stream.onStatus;
  stream.onStatus = (s) => {
    prev(s);
    show(s);
  };
  show(stream.status);
}
