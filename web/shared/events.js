// The live event stream (`/v1/events` WebSocket) with resume: after a drop it reconnects with
// `after=<last durable id>` so no event is missed or repeated, backing off up to 10 s between tries.
// Status changes ('connecting' | 'live' | 'reconnecting' | 'closed') are reported so apps can show them.

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

  connect() {
    if (this.closed) return;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let url = `${proto}//${location.host}/v1/events?token=${encodeURIComponent(this.token())}`;
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
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.closed) {
        this.setStatus('closed');
        return;
      }
      this.attempt += 1;
      this.setStatus('reconnecting');
      const delay = Math.min(10000, 500 * 2 ** Math.min(this.attempt - 1, 5)) * (0.75 + Math.random() / 2);
      this.timer = setTimeout(() => this.connect(), opened ? Math.min(delay, 1000) : delay);
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
    el.textContent = s === 'reconnecting' ? 'Connection lost — reconnecting…' : s === 'connecting' ? 'Connecting…' : '';
  };
  const prev = stream.onStatus;
  stream.onStatus = (s) => {
    prev(s);
    show(s);
  };
  show(stream.status);
}
