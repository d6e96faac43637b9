// The Food tab of the customer app: restaurants that deliver to an address (the same address search as
// the ride flow, web/shared/places.js, and the account's saved places), a restaurant's menu by category,
// an item sheet (option groups with their minimum and maximum enforced, price deltas, a note), a cart of
// one restaurant at a time, the checkout's itemised quote from the server (tip, promo code), placing the
// order under an Idempotency-Key kept while the cart is the same, the live order (its steps, the promised
// time from the order's events, the hand-over code, cancelling with the fee the server says, the courier
// on the map), the receipt with ratings, and past orders.
//
// It lives beside the ride flow in app.js, which owns the page (the panel, the shared map, the event
// stream) and hands this module what it needs through `ctx`. Money is integer minor units throughout;
// every price shown comes from the server (the menu, the checkout, the order), and only the item sheet
// adds an item's price and its options' deltas to show what a line will cost before checkout.
import { errorText, newIdempotencyKey } from '/shared/api.js';
import { addressCombobox, reversePlace, reverseErrorText } from '/shared/places.js';
import { clearRoute } from '/shared/route.js';
import * as fmt from '/shared/format.js';
import { html, render, $, $$, busy, confirmDialog, focusHeading } from '/shared/ui.js';
import { t, addMessages } from '/shared/i18n.js';
import foodMessages from '/shared/messages/food.js';

addMessages(foodMessages);

/** Order states while the order is still on its way (the tracking screen follows these). */
export const OPEN_ORDER_STATES = ['placed', 'accepted', 'preparing', 'ready', 'picked_up'];
/** The steps of an order that goes well, in order. */
const STEPS = ['placed', 'accepted', 'preparing', 'ready', 'picked_up', 'delivered'];
/** States in which the customer may still cancel (the server has the last word, and says the fee). */
const CANCELLABLE = ['placed', 'accepted', 'preparing', 'ready'];
/** Tips offered at checkout, as shares of the food (basis points); 0 is no tip. */
const TIP_BPS = [0, 1000, 1500, 2000];

/** A user-facing sentence for an API error of the food flow, by its code (`food.error.<code>`). */
export function foodErrorText(e) {
  if (e && e.code) {
    const key = `food.error.${e.code}`;
    const text = t(key);
    if (text !== key) return text;
  }
  return errorText(e);
}

/** Shows an error in `el` with its code kept beside it (data-code), for people and for tests. */
function showError(el, e) {
  if (!el) return;
  el.textContent = foodErrorText(e);
  el.dataset.code = (e && e.code) || '';
}

function money(amount, currency) {
  return fmt.money({ amount, currency });
}

function stateName(s) {
  const key = `food.state.${s}`;
  const text = t(key);
  return text === key ? s : text;
}

/** The signature of a cart as it would be sent: same signature, same Idempotency-Key. */
function signature(body) {
  return JSON.stringify(body);
}

export class Food {
  /**
   * @param {{api: import('/shared/api.js').Api, panel: HTMLElement, showMap: (on: boolean, tall?: boolean) => void,
   *   map: () => any, zones: () => any[], setNav: (current: string|null) => void, setScreen: (s: string) => void,
   *   openRide: () => void}} ctx
   */
  constructor(ctx) {
    this.ctx = ctx;
    this.api = ctx.api;
    this.panel = ctx.panel;
    this.address = null; // {lat, lng, label}
    this.merchants = null;
    this.menu = null; // the menu view of the restaurant open now
    this.checkout = null;
    this.tipBps = 1500;
    this.promo = '';
    this.promoError = null;
    this.order = null;
    this.courierPos = null;
    this.names = new Map(); // merchant id -> name, for past orders
    this.ratingsAvailable = null;
    this.screen = null;
    this.cart = this.loadCart();
    try {
      this.address = JSON.parse(localStorage.getItem(this.storeKey('address')) || 'null');
    } catch {
      this.address = null;
    }
    // The Ride | Food switch, wherever a screen draws it.
    this.panel.addEventListener('click', (e) => {
      const b = e.target.closest('[data-tab]');
      if (!b) return;
      if (b.dataset.tab === 'ride') this.ctx.openRide();
      else this.open();
    });
    // A safety net under the socket: re-read an open order every 10 s.
    setInterval(() => {
      if (this.order && OPEN_ORDER_STATES.includes(this.order.state) && this.screen === 'track' && document.visibilityState === 'visible') this.refreshOrder();
    }, 10000);
  }

  storeKey(what) {
    const user = (this.api.session && this.api.session.user_id) || 'anon';
    return `doorstep.rider.food.${what}.${user}`;
  }

  loadCart() {
    try {
      const c = JSON.parse(localStorage.getItem(this.storeKey('cart')) || 'null');
      return c && Array.isArray(c.lines) ? c : null;
    } catch {
      return null;
    }
  }

  saveCart() {
    if (this.cart && this.cart.lines.length) localStorage.setItem(this.storeKey('cart'), JSON.stringify(this.cart));
    else {
      this.cart = null;
      localStorage.removeItem(this.storeKey('cart'));
    }
  }

  /** After sign-in or a change of account: this account's cart and address. */
  reset() {
    this.cart = this.loadCart();
    this.order = null;
    this.merchants = null;
    try {
      this.address = JSON.parse(localStorage.getItem(this.storeKey('address')) || 'null');
    } catch {
      this.address = null;
    }
  }

  /** The Ride | Food switch. */
  tabsHtml(current) {
    return html`<nav class="svc-tabs" aria-label="${t('food.tabs_label')}">
      <button type="button" data-tab="ride" ${current === 'ride' ? html`aria-current="page"` : ''}>${t('food.tab_ride')}</button>
      <button type="button" data-tab="food" ${current === 'food' ? html`aria-current="page"` : ''}>${t('food.tab_food')}</button>
    </nav>`;
  }

  go(screen) {
    this.screen = screen;
    this.ctx.setScreen(`food-${screen}`);
    const screens = {
      list: () => this.listScreen(),
      menu: () => this.menuScreen(),
      cart: () => this.cartScreen(),
      checkout: () => this.checkoutScreen(),
      track: () => this.trackScreen(),
      receipt: () => this.receiptScreen(),
      orders: () => this.ordersScreen(),
    };
    screens[screen]();
    focusHeading(this.panel);
  }

  /** The Food tab: the open order if there is one, else the restaurants. */
  open() {
    if (this.order && OPEN_ORDER_STATES.includes(this.order.state)) this.go('track');
    else this.go('list');
  }

  /** At start: an order still on its way is shown (like an open ride). Resolves whether one was. */
  async resume() {
    try {
      const { orders } = await this.api.get('/v1/orders');
      const open = orders.find((o) => OPEN_ORDER_STATES.includes(o.state));
      if (!open) return false;
      this.order = open;
      this.go('track');
      return true;
    } catch {
      return false;
    }
  }

  hideMap() {
    this.ctx.showMap(false);
  }

  // ---- restaurants

  setAddress(p, label) {
    this.address = { lat: p.lat, lng: p.lng, label };
    localStorage.setItem(this.storeKey('address'), JSON.stringify(this.address));
    this.merchants = null;
    this.checkout = null;
    this.loadMerchants();
  }

  async loadMerchants() {
    const box = $('#food-restaurants', this.panel);
    if (!this.address || !box) return;
    render(box, html`<p class="loading">${t('food.loading_restaurants')}</p>`);
    try {
      const { merchants } = await this.api.get(`/v1/merchants?lat=${this.address.lat.toFixed(6)}&lng=${this.address.lng.toFixed(6)}`);
      this.merchants = merchants;
      for (const m of merchants) this.names.set(m.merchant_id, m.name);
      if (this.screen === 'list') this.drawRestaurants();
    } catch (e) {
      const el = $('#food-restaurants', this.panel);
      if (el) render(el, html`<p class="error" role="alert" data-code="${e.code || ''}">${foodErrorText(e)}</p>`);
    }
  }

  restaurantHtml(m) {
    const paused = m.paused;
    const status = m.open_now
      ? html`<span class="badge ok">${t('food.open_now')}</span>`
      : html`<span class="badge bad">${paused ? t('food.paused') : t('food.closed')}</span>`;
    const opens = !m.open_now && !paused && m.next_opening ? html`<span class="muted">${t('food.opens_at', { time: fmt.dateTime(m.next_opening) })}</span>` : '';
    const meta = [
      m.delivery_minutes !== undefined && m.delivery_minutes !== null ? t('food.delivery_minutes', { n: m.delivery_minutes }) : null,
      m.delivery_fee ? t('food.delivery_fee_is', { fee: fmt.money(m.delivery_fee) }) : null,
    ].filter(Boolean).join(' · ');
    const body = html`<span class="r-head"><strong class="r-name">${m.name}</strong> ${status}</span>
      ${m.cuisines.length ? html`<span class="r-tags">${m.cuisines.map((c) => html`<span class="tag">${c}</span>`)}</span>` : ''}
      <span class="r-meta">${meta}${m.busy_minutes > 0 ? html` · <span class="warn-text">${t('food.busy', { n: m.busy_minutes })}</span>` : ''}</span>
      ${opens}`;
    return html`<li class="restaurant${m.open_now ? '' : ' closed'}" data-merchant="${m.merchant_id}" data-open="${m.open_now ? 'true' : 'false'}">
      ${m.open_now
        ? html`<button type="button" class="r-card" data-open-merchant="${m.merchant_id}">${body}</button>`
        : html`<div class="r-card" aria-disabled="true">${body}<span class="visually-hidden">${t('food.not_orderable')}</span></div>`}
    </li>`;
  }

  drawRestaurants() {
    const box = $('#food-restaurants', this.panel);
    if (!box) return;
    const list = this.merchants || [];
    render(
      box,
      html`<h2 class="small" id="restaurants-title">${t('food.restaurants_title')}</h2>
        ${list.length === 0 ? html`<p class="muted" id="no-restaurants">${t('food.no_restaurants')}</p>` : ''}
        <ul class="restaurants" aria-labelledby="restaurants-title">${list.map((m) => this.restaurantHtml(m))}</ul>`,
    );
    for (const b of $$('[data-open-merchant]', box)) b.addEventListener('click', () => this.openMerchant(b.dataset.openMerchant));
  }

  cartBarHtml(label = t('food.view_cart')) {
    if (!this.cart || !this.cart.lines.length) return '';
    const n = this.cart.lines.reduce((s, l) => s + l.quantity, 0);
    const total = this.cart.lines.reduce((s, l) => s + l.unit * l.quantity, 0);
    return html`<div class="actionbar"><button class="primary" id="food-cart-button">${label} · ${t('food.items', { n })} · ${money(total, this.cart.currency)}</button></div>`;
  }

  async listScreen() {
    this.ctx.setNav('home');
    this.hideMap();
    const placeholder = t('places.search_placeholder');
    render(
      this.panel,
      html`${this.tabsHtml('food')}
        <h1>${t('food.title')}</h1>
        <div class="field-row"><label for="food-address">${t('food.deliver_to')}</label>
          <button type="button" class="link" id="food-locate">${t('places.use_my_location')}</button></div>
        <div class="ac"><input id="food-address" placeholder="${placeholder}" value="${this.address ? this.address.label : ''}"></div>
        <div id="food-saved" class="saved-places"></div>
        <p class="error" role="alert" id="food-address-error"></p>
        <div id="food-restaurants">${this.address ? '' : html`<p class="hint">${t('food.address_first')}</p>`}</div>
        <p><button type="button" class="link" id="food-orders">${t('food.your_orders')}</button></p>
        ${this.cartBarHtml()}`,
    );
    const input = $('#food-address', this.panel);
    input.combobox = addressCombobox(input, {
      api: this.api,
      zones: this.ctx.zones(),
      label: t('food.deliver_to'),
      near: () => this.address,
      onError: (e, text) => {
        const el = $('#food-address-error');
        if (el) el.textContent = text || errorText(e);
      },
      onPick: (r) => {
        $('#food-address-error').textContent = '';
        this.setAddress({ lat: r.lat, lng: r.lng }, r.label);
      },
    });
    $('#food-locate', this.panel).addEventListener('click', (e) => this.locate(e.currentTarget));
    $('#food-orders', this.panel).addEventListener('click', () => this.go('orders'));
    $('#food-cart-button', this.panel)?.addEventListener('click', () => this.go('cart'));
    this.drawSaved();
    if (this.address) {
      if (this.merchants) this.drawRestaurants();
      else this.loadMerchants();
    }
  }

  /** The account's saved places (home, work, its own labels) as one-tap addresses. */
  async drawSaved() {
    let places = [];
    try {
      places = (await this.api.get('/v1/me/places')).places || [];
    } catch {
      places = [];
    }
    const box = $('#food-saved', this.panel);
    if (!box || this.screen !== 'list' || !places.length) return;
    const name = (p) => (p.kind === 'home' ? t('food.saved_home') : p.kind === 'work' ? t('food.saved_work') : p.label);
    render(
      box,
      html`<ul class="chips" aria-label="${t('food.saved_places')}">${places.map(
        (p, i) => html`<li><button type="button" class="chip" data-saved="${i}">${name(p)}</button></li>`,
      )}</ul>`,
    );
    for (const b of $$('[data-saved]', box))
      b.addEventListener('click', () => {
        const p = places[Number(b.dataset.saved)];
        const label = p.address || p.name || name(p);
        $('#food-address', this.panel).combobox.set(label);
        this.setAddress({ lat: p.lat, lng: p.lng }, label);
      });
  }

  locate(button) {
    const err = $('#food-address-error');
    if (!navigator.geolocation) {
      err.textContent = t('places.location_denied');
      return;
    }
    button.setAttribute('aria-busy', 'true');
    err.textContent = '';
    navigator.geolocation.getCurrentPosition(
      async (pos) => {
        button.removeAttribute('aria-busy');
        try {
          const place = await reversePlace(this.api, { lat: pos.coords.latitude, lng: pos.coords.longitude }, this.ctx.zones());
          if (this.screen !== 'list') return;
          $('#food-address', this.panel).combobox.set(place.label);
          this.setAddress(place, place.label);
        } catch (e) {
          err.textContent = e.status === 422 ? reverseErrorText(e) : errorText(e);
        }
      },
      () => {
        button.removeAttribute('aria-busy');
        err.textContent = t('places.location_denied');
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 },
    );
  }

  // ---- the menu

  async openMerchant(id) {
    this.menu = null;
    this.menuId = id;
    this.go('menu');
  }

  async menuScreen() {
    this.ctx.setNav('home');
    this.hideMap();
    if (!this.menu || this.menu.merchant.merchant_id !== this.menuId) {
      render(this.panel, html`<h1>${t('food.menu_title')}</h1><p class="loading">${t('food.loading_menu')}</p>`);
      try {
        this.menu = await this.api.get(`/v1/merchants/${this.menuId}/menu`);
        this.names.set(this.menu.merchant.merchant_id, this.menu.merchant.name);
      } catch (e) {
        render(this.panel, html`<h1>${t('food.menu_title')}</h1><p class="error" role="alert" data-code="${e.code || ''}">${foodErrorText(e)}</p>
          <button class="secondary" id="food-back">${t('food.back_to_restaurants')}</button>`);
        $('#food-back').addEventListener('click', () => this.go('list'));
        return;
      }
      if (this.screen !== 'menu') return;
    }
    const m = this.menu.merchant;
    const cur = this.menu.currency;
    const cats = this.menu.categories.filter((c) => c.items.length);
    render(
      this.panel,
      html`<p><button type="button" class="link" id="food-back">${t('food.back_to_restaurants')}</button></p>
        <h1 id="menu-title" data-merchant="${m.merchant_id}">${m.name}</h1>
        <p class="muted">${m.cuisines.join(' · ')}${m.cuisines.length ? ' · ' : ''}${m.address}</p>
        ${m.open_now ? '' : html`<p class="notice warn" id="menu-closed">${t('food.closed_now')}</p>`}
        ${cats.length > 1
          ? html`<nav class="cat-nav" aria-label="${t('food.categories')}">${cats.map((c) => html`<a href="#cat-${c.category_id}">${c.name}</a>`)}</nav>`
          : ''}
        ${cats.map(
          (c) => html`<section class="menu-cat" aria-labelledby="cat-${c.category_id}">
            <h2 id="cat-${c.category_id}" tabindex="-1">${c.name}</h2>
            <ul class="menu-items">${c.items.map((it) => {
              const orderable = m.open_now && it.available_now && !it.sold_out;
              const why = it.sold_out ? t('food.sold_out') : !it.available_now ? t('food.not_served_now') : '';
              return html`<li><button type="button" class="menu-item" data-item="${it.item_id}" ${orderable ? '' : 'disabled'} aria-describedby="price-${it.item_id}">
                <span class="mi-text"><strong>${it.name}</strong>${it.description ? html`<span class="muted">${it.description}</span>` : ''}
                ${why ? html`<span class="badge bad">${why}</span>` : ''}</span>
                <span class="mi-price" id="price-${it.item_id}">${fmt.money(it.price)}</span></button></li>`;
            })}</ul></section>`,
        )}
        ${this.cart && this.cart.merchant_id === m.merchant_id ? this.cartBarHtml() : ''}`,
    );
    $('#food-back').addEventListener('click', () => this.go('list'));
    $('#food-cart-button', this.panel)?.addEventListener('click', () => this.go('cart'));
    for (const b of $$('[data-item]', this.panel))
      b.addEventListener('click', () => {
        const item = cats.flatMap((c) => c.items).find((i) => i.item_id === b.dataset.item);
        this.itemSheet(item, cur);
      });
  }

  // ---- the item sheet

  /** Opens the sheet of `item`: its option groups, quantity and note; adds the line to the cart. */
  itemSheet(item, currency) {
    const opener = document.activeElement;
    const d = document.createElement('dialog');
    d.className = 'sheet';
    d.setAttribute('aria-labelledby', 'sheet-title');
    let quantity = 1;
    const groupHint = (g) =>
      g.min > 0
        ? g.min === g.max
          ? t('food.choose_exactly', { n: g.min })
          : t('food.choose_between', { min: g.min, max: g.max })
        : t('food.choose_up_to', { n: g.max });
    d.innerHTML = String(html`<form method="dialog" id="sheet-form" novalidate>
      <h2 id="sheet-title">${item.name}</h2>
      ${item.description ? html`<p class="muted">${item.description}</p>` : ''}
      <p><strong>${fmt.money(item.price)}</strong></p>
      ${item.option_groups.map(
        (g, gi) => html`<fieldset class="opt-group" data-group="${gi}" data-min="${g.min}" data-max="${g.max}" aria-describedby="g-hint-${gi}">
          <legend>${g.name} <span class="badge ${g.min > 0 ? 'info' : ''}">${g.min > 0 ? t('food.required') : t('food.optional')}</span></legend>
          <p class="hint" id="g-hint-${gi}">${groupHint(g)}</p>
          ${g.options.map(
            (o) => html`<label class="opt"><input type="${g.max === 1 ? 'radio' : 'checkbox'}" name="g${gi}" value="${o.option_id}" data-delta="${o.price_delta.amount}">
              <span>${o.name}</span><span class="muted">${o.price_delta.amount > 0 ? `+${fmt.money(o.price_delta)}` : ''}</span></label>`,
          )}
        </fieldset>`,
      )}
      <label for="sheet-note">${t('food.note_label')}</label>
      <textarea id="sheet-note" maxlength="200" placeholder="${t('food.note_placeholder')}"></textarea>
      <div class="qty" role="group" aria-label="${t('food.quantity')}">
        <button type="button" class="secondary" id="qty-minus" aria-label="${t('food.less')}">−</button>
        <output id="qty-value" aria-live="polite">1</output>
        <button type="button" class="secondary" id="qty-plus" aria-label="${t('food.more')}">+</button>
      </div>
      <p class="error" role="alert" id="sheet-error"></p>
      <div class="row">
        <button type="button" value="no" class="secondary" id="sheet-cancel">${t('food.close')}</button>
        <button type="submit" class="primary" id="sheet-add"></button>
      </div>
    </form>`);
    document.body.append(d);
    const form = $('#sheet-form', d);
    const chosen = () => $$('input:checked', form);
    const update = () => {
      // Enforce each group's maximum: once full, its other boxes are disabled.
      for (const fs of $$('fieldset.opt-group', form)) {
        const max = Number(fs.dataset.max);
        const boxes = $$('input[type=checkbox]', fs);
        const n = boxes.filter((b) => b.checked).length;
        for (const b of boxes) b.disabled = !b.checked && n >= max;
      }
      const unit = item.price.amount + chosen().reduce((s, b) => s + Number(b.dataset.delta), 0);
      $('#qty-value', d).textContent = String(quantity);
      $('#qty-minus', d).disabled = quantity <= 1;
      $('#qty-plus', d).disabled = quantity >= 99;
      $('#sheet-add', d).textContent = t('food.add_to_cart', { price: money(unit * quantity, currency) });
    };
    /** The first group short of its minimum, if any. */
    const missing = () =>
      $$('fieldset.opt-group', form).find((fs) => $$('input:checked', fs).length < Number(fs.dataset.min));
    form.addEventListener('change', () => {
      $('#sheet-error', d).textContent = '';
      update();
    });
    $('#qty-minus', d).addEventListener('click', () => {
      quantity = Math.max(1, quantity - 1);
      update();
    });
    $('#qty-plus', d).addEventListener('click', () => {
      quantity = Math.min(99, quantity + 1);
      update();
    });
    $('#sheet-cancel', d).addEventListener('click', () => d.close());
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const short = missing();
      if (short) {
        const g = item.option_groups[Number(short.dataset.group)];
        $('#sheet-error', d).textContent = t('food.group_needs', { group: g.name, n: g.min });
        short.querySelector('input')?.focus();
        return;
      }
      const boxes = chosen();
      const line = {
        key: newIdempotencyKey(),
        item_id: item.item_id,
        name: item.name,
        option_ids: boxes.map((b) => b.value),
        option_names: boxes.map((b) => b.closest('label').querySelector('span').textContent),
        unit: item.price.amount + boxes.reduce((s, b) => s + Number(b.dataset.delta), 0),
        quantity,
        note: $('#sheet-note', d).value.trim(),
      };
      const m = this.menu.merchant;
      if (this.cart && this.cart.merchant_id !== m.merchant_id) {
        const ok = await confirmDialog({
          title: t('food.new_cart_title'),
          body: html`<p>${t('food.new_cart_body', { old: this.cart.merchant_name, name: m.name })}</p>`,
          confirm: t('food.new_cart_confirm'),
          cancel: t('food.new_cart_keep'),
          danger: true,
        });
        if (!ok) return;
        this.cart = null;
      }
      if (!this.cart) this.cart = { merchant_id: m.merchant_id, merchant_name: m.name, currency, lines: [] };
      this.cart.lines.push(line);
      this.checkout = null;
      this.saveCart();
      d.close();
      this.menuScreen();
      $('#food-cart-button')?.focus();
    });
    d.addEventListener('close', () => {
      d.remove();
      if (opener && opener.isConnected) opener.focus();
    });
    update();
    d.showModal();
  }

  // ---- the cart

  cartScreen() {
    this.ctx.setNav('home');
    this.hideMap();
    const c = this.cart;
    if (!c) {
      render(this.panel, html`<h1>${t('food.cart_title')}</h1><p class="muted" id="cart-empty">${t('food.cart_empty')}</p>
        <button class="primary" id="food-back">${t('food.back_to_restaurants')}</button>`);
      $('#food-back').addEventListener('click', () => this.go('list'));
      return;
    }
    const total = c.lines.reduce((s, l) => s + l.unit * l.quantity, 0);
    render(
      this.panel,
      html`<p><button type="button" class="link" id="food-back">${t('food.back_to_menu')}</button></p>
        <h1>${t('food.cart_title')}</h1>
        <p class="muted">${c.merchant_name}</p>
        <ul class="cart-lines">${c.lines.map(
          (l, i) => html`<li class="card cart-line" data-line="${i}">
            <div class="cl-head"><strong>${l.name}</strong><span class="cl-price">${money(l.unit * l.quantity, c.currency)}</span></div>
            ${l.option_names.length ? html`<p class="muted">${l.option_names.join(', ')}</p>` : ''}
            <div class="qty" role="group" aria-label="${t('food.quantity_of', { name: l.name })}">
              <button type="button" class="secondary" data-minus="${i}" aria-label="${l.quantity <= 1 ? t('food.remove_item', { name: l.name }) : t('food.less_of', { name: l.name })}">${l.quantity <= 1 ? '×' : '−'}</button>
              <output>${l.quantity}</output>
              <button type="button" class="secondary" data-plus="${i}" aria-label="${t('food.more_of', { name: l.name })}" ${l.quantity >= 99 ? 'disabled' : ''}>+</button>
            </div>
            <label for="note-${i}">${t('food.note_label')}</label>
            <input id="note-${i}" data-note="${i}" maxlength="200" value="${l.note || ''}" placeholder="${t('food.note_placeholder')}">
          </li>`,
        )}</ul>
        <p class="kv-line"><span>${t('food.subtotal_estimate')}</span> <strong id="cart-subtotal">${money(total, c.currency)}</strong></p>
        <p class="hint">${t('food.fees_at_checkout')}</p>
        <div class="actionbar"><button class="primary" id="to-checkout">${t('food.go_to_checkout')}</button></div>`,
    );
    $('#food-back').addEventListener('click', () => {
      this.menuId = c.merchant_id;
      this.go('menu');
    });
    for (const b of $$('[data-minus]', this.panel))
      b.addEventListener('click', () => {
        const i = Number(b.dataset.minus);
        if (c.lines[i].quantity <= 1) c.lines.splice(i, 1);
        else c.lines[i].quantity -= 1;
        this.checkout = null;
        this.saveCart();
        this.cartScreen();
        (this.cart ? $(`[data-minus="${Math.min(i, this.cart.lines.length - 1)}"]`) : $('#food-back'))?.focus();
      });
    for (const b of $$('[data-plus]', this.panel))
      b.addEventListener('click', () => {
        const i = Number(b.dataset.plus);
        c.lines[i].quantity = Math.min(99, c.lines[i].quantity + 1);
        this.checkout = null;
        this.saveCart();
        this.cartScreen();
        $(`[data-plus="${i}"]`)?.focus();
      });
    for (const input of $$('[data-note]', this.panel))
      input.addEventListener('change', () => {
        c.lines[Number(input.dataset.note)].note = input.value.trim();
        this.checkout = null;
        this.saveCart();
      });
    $('#to-checkout').addEventListener('click', () => {
      for (const input of $$('[data-note]', this.panel)) c.lines[Number(input.dataset.note)].note = input.value.trim();
      this.saveCart();
      this.go('checkout');
    });
  }

  // ---- checkout

  /** The food of the cart by the menu's prices, minor units (the tip choices are shares of it). */
  cartFood() {
    return this.cart.lines.reduce((s, l) => s + l.unit * l.quantity, 0);
  }

  tipAmount() {
    return Math.round((this.cartFood() * this.tipBps) / 10000);
  }

  /** The body of checkout and placement (the same body: the server prices both the same way). */
  cartBody(withPromo = true) {
    const c = this.cart;
    const body = {
      merchant_id: c.merchant_id,
      dropoff: { lat: this.address.lat, lng: this.address.lng },
      address: this.address.label.slice(0, 200),
      lines: c.lines.map((l) => ({ item_id: l.item_id, option_ids: l.option_ids, quantity: l.quantity, ...(l.note ? { note: l.note } : {}) })),
      tip: this.tipAmount(),
    };
    if (withPromo && this.promo) body.promo_code = this.promo;
    return body;
  }

  async quote() {
    try {
      this.checkout = await this.api.post('/v1/orders/checkout', this.cartBody());
      this.checkoutError = null;
    } catch (e) {
      if (this.promo && String(e.code || '').startsWith('promo_')) {
        // The code is refused: say why by its code, and price the cart without it.
        this.promoError = e;
        this.promo = '';
        return this.quote();
      }
      this.checkout = null;
      this.checkoutError = e;
    }
  }

  async checkoutScreen() {
    this.ctx.setNav('home');
    this.hideMap();
    if (!this.cart) return this.go('cart');
    if (!this.address) return this.go('list');
    render(this.panel, html`<h1>${t('food.checkout_title')}</h1><p class="loading">${t('food.pricing')}</p>`);
    await this.quote();
    if (this.screen !== 'checkout') return;
    this.drawCheckout();
  }

  priceRows(p, lines) {
    const row = (key, m, id, negative = false) =>
      html`<tr id="${id}"><td>${t(key)}</td><td>${negative ? '−' : ''}${fmt.money(m)}</td></tr>`;
    return html`${lines.map(
      (l) => html`<tr class="line"><td><span>${l.quantity} × ${l.name}</span>
        ${l.options.length ? html`<br><span class="muted">${l.options.map((o) => o.name).join(', ')}</span>` : ''}
        ${l.note ? html`<br><span class="muted">${t('food.note_is', { note: l.note })}</span>` : ''}</td><td>${fmt.money(l.total)}</td></tr>`,
    )}
      ${row('food.subtotal', p.subtotal, 'q-subtotal')}
      ${row('food.delivery_fee', p.delivery_fee, 'q-delivery')}
      ${row('food.service_fee', p.service_fee, 'q-service')}
      ${p.small_order_fee.amount > 0 ? row('food.small_order_fee', p.small_order_fee, 'q-small') : ''}
      ${p.busy_fee.amount > 0 ? row('food.busy_fee', p.busy_fee, 'q-busy') : ''}
      ${p.discount.amount > 0 ? html`<tr id="q-discount"><td>${t('food.discount', { code: p.promo_code || '' })}</td><td>−${fmt.money(p.discount)}</td></tr>` : ''}
      ${row('food.tip', p.tip, 'q-tip')}
      <tr class="total" id="q-total"><td>${t('food.total')}</td><td>${fmt.money(p.total)}</td></tr>`;
  }

  drawCheckout() {
    const q = this.checkout;
    const cur = this.cart.currency;
    const food = this.cartFood();
    render(
      this.panel,
      html`<p><button type="button" class="link" id="food-back">${t('food.back_to_cart')}</button></p>
        <h1>${t('food.checkout_title')}</h1>
        <p class="muted">${this.cart.merchant_name} → ${this.address.label}</p>
        ${q
          ? html`<table class="lines" id="quote-table"><caption class="visually-hidden">${t('food.price_breakdown')}</caption>
              <tbody>${this.priceRows(q.price, q.lines)}</tbody></table>
            <p id="promised">${t('food.promised', { time: fmt.shortTime(q.promised_at) })}</p>`
          : html`<p class="error" role="alert" id="checkout-error" data-code="${(this.checkoutError && this.checkoutError.code) || ''}">${foodErrorText(this.checkoutError)}</p>`}
        <fieldset class="seg tips-seg"><legend>${t('food.tip_title')}</legend>
          ${TIP_BPS.map(
            (bps) => html`<label><input type="radio" name="food-tip" value="${bps}" ${bps === this.tipBps ? 'checked' : ''}>
              <span>${bps === 0 ? t('food.no_tip') : `${bps / 100}% · ${money(Math.round((food * bps) / 10000), cur)}`}</span></label>`,
          )}
        </fieldset>
        <form id="promo-form" class="promo">
          <label for="promo-code">${t('food.promo_label')}</label>
          <div class="row"><input id="promo-code" autocomplete="off" maxlength="32" value="${this.promo}" aria-describedby="promo-error promo-done">
            <button type="submit" class="secondary" id="promo-apply">${t('food.promo_apply')}</button></div>
          <p class="error" role="alert" id="promo-error" data-code="${(this.promoError && this.promoError.code) || ''}">${this.promoError ? foodErrorText(this.promoError) : ''}</p>
          <p role="status" id="promo-done">${q && q.price.promo_code ? t('food.promo_applied', { code: q.price.promo_code }) : ''}</p>
        </form>
        <p class="error" role="alert" id="place-error"></p>
        <div class="actionbar"><button class="primary" id="place-order" ${q ? '' : 'disabled'}>${q ? t('food.place_order', { total: fmt.money(q.price.total) }) : t('food.place_order_plain')}</button></div>`,
    );
    $('#food-back').addEventListener('click', () => this.go('cart'));
    for (const r of $$('input[name=food-tip]', this.panel))
      r.addEventListener('change', async () => {
        this.tipBps = Number(r.value);
        await this.quote();
        if (this.screen === 'checkout') this.drawCheckout();
      });
    $('#promo-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.promo = $('#promo-code').value.trim().toUpperCase();
      this.promoError = null;
      busy($('#promo-apply'), null, async () => {
        await this.quote();
        if (this.screen === 'checkout') this.drawCheckout();
        $('#promo-code')?.focus();
      });
    });
    $('#place-order').addEventListener('click', (e) => this.place(e.currentTarget));
  }

  /** Places the cart. The key stays while the body is the same, so a retry after a lost answer finds the
   *  order placed first instead of placing a second one. */
  async place(button) {
    const body = this.cartBody();
    const sig = signature(body);
    if (this.cart.placeSig !== sig || !this.cart.placeKey) {
      this.cart.placeSig = sig;
      this.cart.placeKey = newIdempotencyKey();
      this.saveCart();
    }
    const errEl = $('#place-error');
    errEl.textContent = '';
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    try {
      const order = await this.api.post('/v1/orders', body, { 'idempotency-key': this.cart.placeKey });
      this.order = order;
      this.names.set(order.merchant_id, this.cart.merchant_name);
      this.cart = null;
      this.saveCart();
      this.checkout = null;
      this.promo = '';
      this.promoError = null;
      this.courierPos = null;
      this.go('track');
    } catch (e) {
      showError(errEl, e);
      if (button.isConnected) {
        button.disabled = false;
        button.removeAttribute('aria-busy');
      }
    }
  }

  // ---- the live order

  async refreshOrder() {
    if (!this.order) return;
    try {
      const o = await this.api.get(`/v1/orders/${this.order.id}`);
      this.applyOrder(o);
    } catch (e) {
      console.warn('order refresh failed', e);
    }
  }

  applyOrder(o) {
    const before = this.order && this.order.state;
    const same = this.order && this.order.id === o.id;
    this.order = o;
    if (o.courier && o.courier.position) this.courierPos = o.courier.position;
    if (this.screen === 'track' && same) {
      if (o.state === 'delivered') this.go('receipt');
      else if (before !== o.state) this.go('track');
      else this.trackScreen();
    }
  }

  /** Events of the stream for the order on screen; returns whether the message was one of the food flow's. */
  onMessage(m) {
    const id = m.order_id || m.ride_id;
    if (!this.order || id !== this.order.id) return typeof m.type === 'string' && m.type.startsWith('order_');
    if (m.type === 'driver_location' || m.type === 'location' || m.type === 'courier_location') {
      this.courierPos = { lat: m.lat, lng: m.lng };
      if (this.screen === 'track') this.drawTrackMap();
      return true;
    }
    if (typeof m.type !== 'string' || !m.type.startsWith('order_')) return false;
    // The new estimate at once, then the order as the server has it.
    if (m.eta && this.screen === 'track') {
      this.order = { ...this.order, eta: m.eta };
      const el = $('#order-eta');
      if (el) el.textContent = fmt.shortTime(m.eta);
    }
    this.refreshOrder();
    return true;
  }

  drawTrackMap() {
    const map = this.ctx.map();
    const o = this.order;
    if (!map || !o) return;
    const name = this.names.get(o.merchant_id) || t('food.restaurant');
    map.setMarker('food-pickup', { ...o.pickup, kind: 'pickup', label: t('food.marker_restaurant', { name }) });
    map.setMarker('food-dropoff', { ...o.dropoff, kind: 'dropoff', label: t('food.marker_you') });
    const showCourier = this.courierPos && ['accepted', 'preparing', 'ready', 'picked_up'].includes(o.state);
    if (showCourier) map.setMarker('food-courier', { ...this.courierPos, kind: 'car', label: t('food.marker_courier', { name: (o.courier && o.courier.name) || '' }) });
    else map.removeMarker('food-courier');
  }

  trackScreen() {
    const o = this.order;
    this.ctx.setNav('home');
    if (o.state === 'delivered') return this.go('receipt');
    const map = this.ctx.map;
    this.ctx.showMap(true);
    const m = map();
    m.pruneMarkers((id) => id.startsWith('food-'));
    clearRoute(m, 'trip');
    clearRoute(m, 'approach');
    this.drawTrackMap();
    if (this.fitted !== o.id + o.state) {
      this.fitted = o.id + o.state;
      m.fitPoints([o.pickup, o.dropoff, this.courierPos].filter(Boolean), 150);
    }
    const idx = STEPS.indexOf(o.state);
    const ended = ['rejected', 'cancelled', 'undeliverable'].includes(o.state);
    const name = this.names.get(o.merchant_id);
    if (!name) this.merchantName(o.merchant_id).then(() => this.screen === 'track' && this.order === o && this.trackScreen());
    let reason = '';
    if (o.state === 'rejected') reason = t(`food.reject.${o.reject_reason || 'other'}`);
    if (o.state === 'undeliverable') {
      const key = `food.undeliverable.${o.undeliverable_reason}`;
      reason = t(key) === key ? t('food.undeliverable.other') : t(key);
    }
    if (o.state === 'cancelled') reason = o.cancel_fee && o.cancel_fee.amount > 0 ? t('food.cancelled_fee', { fee: fmt.money(o.cancel_fee) }) : t('food.cancelled_free');
    render(
      this.panel,
      html`${this.tabsHtml('food')}
        <h1 id="order-state" data-state="${o.state}" data-order="${o.id}">${stateName(o.state)}</h1>
        <p class="muted">${name || ''}</p>
        ${ended
          ? html`<p class="notice bad" id="order-reason">${reason}</p>
            <button class="primary" id="order-again">${t('food.order_again')}</button>`
          : html`<ol class="steps" aria-label="${t('food.progress')}">${STEPS.map(
              (s, i) => html`<li class="${i < idx ? 'done' : ''}" ${i === idx ? html`aria-current="step"` : ''}>${t(`food.step.${s}`)}</li>`,
            )}</ol>
            <p class="eta-line">${t('food.arrives_by')} <strong id="order-eta">${fmt.shortTime(o.eta)}</strong>
              ${o.eta !== o.promised_at ? html`<span class="muted" id="order-promised">${t('food.promised_was', { time: fmt.shortTime(o.promised_at) })}</span>` : ''}</p>
            ${o.handover_code
              ? html`<div class="card handover" aria-labelledby="code-label"><p class="muted" id="code-label">${t('food.code_label')}</p>
                <p class="pin" id="handover-code" aria-labelledby="code-label">${o.handover_code}</p></div>`
              : ''}
            ${o.courier ? html`<p id="courier-name">${t('food.courier_is', { name: o.courier.name || '' })}</p>` : ''}
            <p class="error" role="alert" id="order-error"></p>
            ${CANCELLABLE.includes(o.state) ? html`<button class="secondary" id="order-cancel" style="width:100%">${t('food.cancel_order')}</button>` : ''}`}
        <details class="order-details"><summary>${t('food.order_details')}</summary>
          <table class="lines"><caption class="visually-hidden">${t('food.price_breakdown')}</caption><tbody>${this.priceRows(o.price, o.lines)}</tbody></table>
          <p class="muted">${o.address}</p></details>`,
    );
    $('#order-again')?.addEventListener('click', () => {
      this.order = null;
      this.go('list');
    });
    $('#order-cancel')?.addEventListener('click', (e) => this.cancel(e.currentTarget));
  }

  async merchantName(id) {
    if (this.names.has(id)) return this.names.get(id);
    try {
      const m = await this.api.get(`/v1/merchants/${id}`);
      this.names.set(id, m.name);
      return m.name;
    } catch {
      this.names.set(id, t('food.restaurant'));
      return t('food.restaurant');
    }
  }

  async cancel(button) {
    await busy(button, $('#order-error'), async () => {
      // The fee is the server's answer right now, never a guess.
      const fresh = await this.api.get(`/v1/orders/${this.order.id}`);
      this.order = fresh;
      if (!CANCELLABLE.includes(fresh.state) || fresh.cancel_fee_now === null || fresh.cancel_fee_now === undefined) return this.go('track');
      const fee = fresh.cancel_fee_now.amount > 0 ? fresh.cancel_fee_now : null;
      const ok = await confirmDialog({
        title: t('food.cancel_title'),
        body: fee
          ? html`<p id="cancel-fee">${t('food.cancel_costs', { fee: fmt.money(fee) })}</p>`
          : html`<p id="cancel-fee">${t('food.cancel_free')}</p>`,
        confirm: fee ? t('food.cancel_pay', { fee: fmt.money(fee) }) : t('food.cancel_order'),
        cancel: t('food.keep_order'),
        danger: true,
      });
      if (!ok) return;
      try {
        this.order = await this.api.post(`/v1/orders/${this.order.id}/cancel`, {});
      } catch (e) {
        if (e.code === 'invalid_order_state') {
          await this.refreshOrder();
        }
        throw Object.assign(new Error(foodErrorText(e)), { code: e.code });
      }
      this.go('track');
    });
  }

  // ---- the receipt and ratings

  receiptScreen() {
    const o = this.order;
    this.ctx.setNav('home');
    this.hideMap();
    const name = this.names.get(o.merchant_id) || '';
    if (!name) this.merchantName(o.merchant_id).then(() => this.screen === 'receipt' && this.receiptScreen());
    render(
      this.panel,
      html`<h1 id="food-receipt-title" data-order="${o.id}">${t('food.receipt_title')}</h1>
        <div class="card">
          <p class="big" id="receipt-total">${fmt.money(o.price.total)}</p>
          <p class="muted">${name} · ${fmt.dateTime(o.placed_at)}</p>
          <table class="lines" id="receipt-table"><caption class="visually-hidden">${t('food.price_breakdown')}</caption>
            <tbody>${this.priceRows(o.price, o.lines)}</tbody></table>
          <p class="muted">${o.address}</p>
        </div>
        <div id="rating-slot"></div>
        <button class="secondary" id="receipt-done" style="width:100%">${t('food.done')}</button>`,
    );
    $('#receipt-done').addEventListener('click', () => {
      this.order = null;
      this.go('list');
    });
    this.drawRating(o);
  }

  /** Whether the server has order ratings: a probe with an empty body answers 404 `route_not_found` or
   *  405 when the route is missing, anything else (a refused body) when it is there. */
  async hasRatings(orderId) {
    if (this.ratingsAvailable !== null) return this.ratingsAvailable;
    try {
      await this.api.post(`/v1/orders/${orderId}/ratings`, {});
      this.ratingsAvailable = true;
    } catch (e) {
      this.ratingsAvailable = !((e.status === 404 && e.code === 'route_not_found') || e.status === 405);
    }
    return this.ratingsAvailable;
  }

  async drawRating(o) {
    if (!(await this.hasRatings(o.id))) return;
    const slot = $('#rating-slot');
    if (!slot || this.screen !== 'receipt') return;
    const stars = (name, legend) => html`<fieldset class="stars" data-stars="${name}"><legend>${legend}</legend>
      ${[1, 2, 3, 4, 5].map((n) => html`<label><input type="radio" name="${name}" value="${n}" ${n === 5 ? 'checked' : ''} aria-label="${t('food.stars', { n })}"><span aria-hidden="true">★</span></label>`)}
    </fieldset>`;
    render(
      slot,
      html`<form class="card" id="food-rate-form">
        ${stars('merchant_stars', t('food.rate_restaurant'))}
        ${o.courier_id ? stars('courier_stars', t('food.rate_courier')) : ''}
        <label for="food-rate-comment">${t('food.comment')}</label>
        <textarea id="food-rate-comment" name="comment" maxlength="500"></textarea>
        <p class="error" role="alert" id="food-rate-error"></p>
        <p role="status" id="food-rate-done"></p>
        <button class="primary" id="food-rate-submit">${t('food.send_rating')}</button>
      </form>`,
    );
    const form = $('#food-rate-form');
    const paint = () => {
      for (const fs of $$('fieldset.stars', form)) {
        const v = Number(new FormData(form).get(fs.dataset.stars));
        $$('label', fs).forEach((l, i) => l.classList.toggle('on', i < v));
      }
    };
    form.addEventListener('change', paint);
    paint();
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const f = new FormData(form);
      const comment = String(f.get('comment') || $('#food-rate-comment').value || '');
      busy($('#food-rate-submit'), $('#food-rate-error'), async () => {
        await this.api.post(`/v1/orders/${o.id}/ratings`, { whom: 'merchant', stars: Number(f.get('merchant_stars')), comment });
        if (o.courier_id) await this.api.post(`/v1/orders/${o.id}/ratings`, { whom: 'courier', stars: Number(f.get('courier_stars')), comment });
        $('#food-rate-done').textContent = t('food.rated');
        $('#food-rate-submit').hidden = true;
      });
    });
  }

  // ---- past orders

  async ordersScreen() {
    this.ctx.setNav('home');
    this.hideMap();
    render(this.panel, html`<h1>${t('food.orders_title')}</h1><p class="loading">${t('food.loading_orders')}</p>`);
    let orders;
    try {
      ({ orders } = await this.api.get('/v1/orders'));
      await Promise.all([...new Set(orders.map((o) => o.merchant_id))].map((id) => this.merchantName(id)));
    } catch (e) {
      render(this.panel, html`<h1>${t('food.orders_title')}</h1><p class="error" role="alert">${foodErrorText(e)}</p>`);
      return;
    }
    if (this.screen !== 'orders') return;
    render(
      this.panel,
      html`<p><button type="button" class="link" id="food-back">${t('food.back_to_restaurants')}</button></p>
        <h1>${t('food.orders_title')}</h1>
        ${orders.length === 0 ? html`<p class="muted" id="no-orders">${t('food.no_orders')}</p>` : ''}
        <ul class="history" id="order-history">${orders.map(
          (o) => html`<li><button data-order="${o.id}">
            <span><strong>${this.names.get(o.merchant_id)}</strong><br>
            <span class="muted">${fmt.dateTime(o.placed_at)} · ${t('food.items', { n: o.lines.reduce((s, l) => s + l.quantity, 0) })}</span></span>
            <span><strong>${fmt.money(o.state === 'cancelled' || o.state === 'rejected' ? o.cancel_fee || { amount: 0, currency: o.price.total.currency } : o.price.total)}</strong><br>
            <span class="badge">${stateName(o.state)}</span></span></button></li>`,
        )}</ul>`,
    );
    $('#food-back').addEventListener('click', () => this.go('list'));
    for (const b of $$('[data-order]', this.panel))
      b.addEventListener('click', () => {
        this.order = orders.find((o) => o.id === b.dataset.order);
        this.courierPos = null;
        this.go(this.order.state === 'delivered' ? 'receipt' : 'track');
      });
  }
}

