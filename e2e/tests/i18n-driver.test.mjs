// The driver app in Simplified Chinese (issue 10, item 9): opened with ?lang=zh-CN, a new driver signs up,
// sees the offline screen, goes online and reads the earnings, all in Chinese; no text of the driver
// catalogue is left in English on screen, and axe finds nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startDemo, launch, screenshot, PHONE, ROOT, unique } from '../lib.mjs';

// The catalogue is a browser module (web/ has no package.json saying so): loaded from its source.
const source = readFileSync(path.join(ROOT, 'web', 'shared', 'messages', 'driver.js'), 'utf8');
const { default: driverMessages } = await import(`data:text/javascript,${encodeURIComponent(source)}`);

let demo;
let b;

before(async () => {
  demo = await startDemo({ speed: 20, drivers: 5 });
  b = await launch();
});

after(async () => {
  if (b) await b.close();
  if (demo) await demo.stop();
});

// The English texts that must not show in Chinese: the catalogue's English of 4 or more characters that
// differs in Chinese (a message with placeholders by its literal pieces; plurals by both forms).
const english = (() => {
  const { en, 'zh-CN': zh } = driverMessages;
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

/** Asserts the screen is in Chinese: no catalogue English in the visible text outside the map. */
async function assertNoEnglish(page, where) {
  const { text, nodes } = await page.evaluate(() => {
    const roots = [document.querySelector('header'), document.querySelector('#panel')];
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

test('the driver app in Simplified Chinese: sign-up, offline, online and earnings screens', async () => {
  assert.ok(english.length > 40, 'the list of English texts is built from the catalogue');
  const page = await b.page(PHONE);
  await page.goto(`${demo.base}/driver/?lang=zh-CN`);
  await page.locator('#auth-title', { hasText: 'Doorstep — 司机端' }).waitFor();
  assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');
  assert.equal(await page.title(), 'Doorstep — 司机');
  assert.equal(await page.locator('a.skip').textContent(), '跳到主要内容');
  await assertNoEnglish(page, 'sign-up');
  await screenshot(page, 'i18n-driver-signup-zh-390');

  await page.locator('#auth-name').fill('王师傅');
  await page.locator('#auth-email').fill(`wang-${unique()}@example.com`);
  await page.locator('#auth-password').fill('correct horse battery');
  await page.getByRole('button', { name: '注册' }).click();

  await page.getByRole('heading', { name: '您已下线' }).waitFor();
  await page.getByRole('button', { name: '上线', exact: true }).waitFor();
  assert.equal(await page.getByRole('navigation').getAttribute('aria-label'), '司机');
  await page.getByRole('button', { name: '接单' }).waitFor();
  await page.getByRole('button', { name: '收入' }).waitFor();
  await page.getByRole('button', { name: '退出登录' }).waitFor();
  await page.getByLabel('将车辆放在').fill('Inwood');
  await page.getByLabel('将车辆放在').dispatchEvent('change');
  await assertNoEnglish(page, 'offline');
  await screenshot(page, 'i18n-driver-offline-zh-390');

  await page.getByRole('button', { name: '上线', exact: true }).click();
  await page.getByRole('heading', { name: '您已上线' }).waitFor();
  await page.getByRole('button', { name: '下线' }).waitFor();
  await page.locator('#online-label', { hasText: '正在等待行程订单…' }).waitFor();
  await assertNoEnglish(page, 'online');
  await screenshot(page, 'i18n-driver-online-zh-390');

  await page.getByRole('button', { name: '收入' }).click();
  await page.locator('#earnings-total').waitFor();
  await assertNoEnglish(page, 'earnings');
  await screenshot(page, 'i18n-driver-earnings-zh-390');

  // Going offline again, so that the demo's dispatcher offers this driver nothing after the test.
  await page.getByRole('button', { name: '接单' }).click();
  await page.getByRole('button', { name: '下线' }).click();
  await page.getByRole('heading', { name: '您已下线' }).waitFor();
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
