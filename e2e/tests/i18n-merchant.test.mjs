// The merchant (restaurant) app in Simplified Chinese, against a real `doorstep serve`: opened with
// ?lang=zh-CN, a staff member logs in, a customer's order raises the alert, and the board, the menu
// editor, the opening hours and today's sales are all in Chinese: no text of the merchant catalogue is
// left in English on screen, and axe finds nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { launch, screenshot, ROOT } from '../lib.mjs';
import { startServe, setUpRestaurant, newCustomer, placeOrder, logInToKitchen, TABLET } from '../merchant-setup.mjs';

// The catalogue is a browser module (web/ has no package.json saying so): loaded from its source.
const source = readFileSync(path.join(ROOT, 'web', 'shared', 'messages', 'merchant.js'), 'utf8');
const { default: merchantMessages } = await import(`data:text/javascript,${encodeURIComponent(source)}`);

let server;
let b;

before(async () => {
  server = await startServe();
  b = await launch();
});

after(async () => {
  if (b) await b.close();
  if (server) await server.stop();
});

// The English texts that must not show in Chinese: the catalogue's English of 4 or more characters that
// differs in Chinese (a message with placeholders by its literal pieces; plurals by both forms).
const english = (() => {
  const { en, 'zh-CN': zh } = merchantMessages;
  const out = new Set();
  for (const [key, value] of Object.entries(en)) {
    const forms = typeof value === 'function' ? [value({ n: 1 }), value({ n: 2 })] : [value];
    const zhForms = typeof zh[key] === 'function' ? [zh[key]({ n: 1 }), zh[key]({ n: 2 })] : [zh[key]];
    for (const form of forms) {
      if (zhForms.includes(form)) continue;
      for (const piece of form.split(/\{\w+\}/)) if (piece.trim().length >= 4) out.add(piece.trim());
    }
  }
  return [...out];
})();

/** Asserts the screen is in Chinese: no catalogue English in the visible text of the top bar and the app. */
async function assertNoEnglish(page, where) {
  const { text, nodes } = await page.evaluate(() => {
    const roots = [document.querySelector('header'), document.querySelector('main')];
    const nodes = [];
    for (const root of roots) {
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const el = n.parentElement;
        if (el && el.getClientRects().length && n.textContent.trim()) nodes.push(n.textContent.trim());
      }
    }
    return { text: roots.map((r) => r.innerText).join('\n'), nodes };
  });
  const left = english.filter((e) => nodes.includes(e) || text.includes(e));
  assert.deepEqual(left, [], `${where}: English left on screen`);
}

test('the merchant app in Simplified Chinese: sign-in, the board with a new order, menu, hours and sales', async () => {
  assert.ok(english.length > 100, 'the list of English texts is built from the catalogue');
  const restaurant = await setUpRestaurant(server, '泰式小馆');
  const customer = await newCustomer(server);
  const page = await b.page(TABLET);
  await page.goto(`${server.base}/merchant/?lang=zh-CN`);
  await page.locator('#auth-title', { hasText: 'Doorstep — 商家后厨' }).waitFor();
  assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');
  assert.equal(await page.title(), 'Doorstep — 商家后厨');
  assert.equal(await page.locator('a.skip').textContent(), '跳到主要内容');
  await assertNoEnglish(page, 'sign-in');
  await screenshot(page, 'i18n-merchant-login-zh-1024');

  await logInToKitchen(page, server.base, restaurant.staff.email, { lang: 'zh-CN' });
  assert.equal(await page.getByRole('navigation').getAttribute('aria-label'), '商家后厨');
  const placed = await placeOrder(server, restaurant, customer);
  await page.locator(`#col-new [data-order="${placed.id}"]`).waitFor({ timeout: 15000 });
  await page.locator('#new-alert', { hasText: '有 1 个新订单等待处理' }).waitFor();
  await page.getByRole('button', { name: '接单 · 15 分钟' }).waitFor();
  await assertNoEnglish(page, 'board');
  await screenshot(page, 'i18n-merchant-board-zh-1024');

  await page.getByRole('button', { name: '知道了' }).click();
  await page.getByRole('button', { name: '接单 · 15 分钟' }).click();
  await page.locator(`#col-kitchen [data-order="${placed.id}"]`).getByRole('button', { name: '开始制作' }).waitFor();
  await assertNoEnglish(page, 'kitchen');

  await page.getByRole('button', { name: '菜单' }).click();
  await page.getByRole('button', { name: '保存菜单' }).waitFor();
  await assertNoEnglish(page, 'menu');
  await screenshot(page, 'i18n-merchant-menu-zh-1024');

  await page.getByRole('button', { name: '营业时间' }).click();
  await page.getByRole('button', { name: '保存营业时间' }).waitFor();
  await page.getByRole('button', { name: '添加特殊日期' }).click();
  await assertNoEnglish(page, 'hours');
  await screenshot(page, 'i18n-merchant-hours-zh-1024');

  await page.getByRole('button', { name: '销售' }).click();
  await page.getByRole('heading', { name: '今日销售' }).waitFor();
  await assertNoEnglish(page, 'sales');
  await screenshot(page, 'i18n-merchant-sales-zh-1024');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
