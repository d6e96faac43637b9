// The operations console in Simplified Chinese (issue 10, item 9): opened with `?lang=zh-CN`, its sign-in,
// live page and rides table come from the `ops.*` catalogue in Chinese, `html[lang]` says so, no text the
// catalogue has in English is left on screen, and axe finds nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, launch, screenshot, DESKTOP, PHONE } from '../lib.mjs';
import ops from '../../web/shared/messages/ops.js';

let demo;
let b;

before(async () => {
  demo = await startDemo({ speed: 20, drivers: 20 });
  b = await launch();
});

after(async () => {
  if (b) await b.close();
  if (demo) await demo.stop();
});

// The English texts (at least 4 characters) that differ in Chinese; a message with placeholders gives its
// fixed pieces of at least 6 characters. Each is searched as a whole word in the page's visible text.
const english = [];
for (const [key, en] of Object.entries(ops.en)) {
  if (typeof en !== 'string' || ops['zh-CN'][key] === en) continue;
  const pieces = en.includes('{') ? en.split(/\{\w+\}/).map((p) => p.trim()).filter((p) => /[A-Za-z]/.test(p) && p.length >= 6) : [en];
  for (const p of pieces) if (p.length >= 4) english.push(p);
}

async function englishLeft(page) {
  // The demo's people are named "Demo Driver 3", "Demo Rider 1": data, not catalogue text.
  const text = (await page.evaluate(() => document.body.innerText)).replace(/Demo (Driver|Rider) \d+/g, '');
  return english.filter((e) => new RegExp(`(^|[^A-Za-z])${e.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^A-Za-z]|$)`).test(text));
}

test('the console in Simplified Chinese: sign-in, live page and rides, with no English left', async () => {
  assert.ok(english.length > 50, 'the catalogue gives English texts to look for');
  const page = await b.page(DESKTOP);
  await page.goto(`${demo.base}/ops/?lang=zh-CN`);
  assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');
  await page.getByRole('heading', { name: '运营控制台' }).waitFor();
  assert.equal(await page.title(), 'Doorstep — 运营');
  assert.deepEqual(await englishLeft(page), []);
  await screenshot(page, 'i18n-ops-auth-zh');

  await page.locator('#auth-email').fill('admin@demo.doorstep.dev');
  await page.locator('#auth-password').fill('doorstep-demo');
  await page.locator('#auth-submit').click();
  await page.locator('#kpi-open').waitFor();
  await page.locator('#zone-table table').waitFor();
  await page.locator('#live-map [data-marker^="d:"]').first().waitFor({ state: 'attached', timeout: 15000 });
  await page.getByRole('heading', { name: '实时地图' }).waitFor();
  assert.equal(await page.getByRole('link', { name: '实时', exact: true }).getAttribute('aria-current'), 'page');
  assert.equal(await page.locator('#logout').textContent(), '退出登录');
  assert.equal(await page.locator('label[for="heat"]').textContent(), '区域热力图');
  assert.match(await page.locator('#heat-legend').textContent(), /^需求：过去一小时的叫车数：0/);
  assert.match(await page.locator('#live-map svg[aria-label], #live-map [aria-label]').first().getAttribute('aria-label'), /曼哈顿实时地图/);
  assert.deepEqual(await englishLeft(page), []);
  await screenshot(page, 'i18n-ops-live-zh');

  // The rides table, once the simulated riders have asked for a ride (it loads when opened).
  for (let i = 0; ; i += 1) {
    await page.getByRole('link', { name: '行程', exact: true }).click();
    await page.getByRole('heading', { name: '行程', exact: true }).waitFor();
    await page.getByLabel('按行程、乘客或司机 ID 搜索').waitFor();
    await page.locator('#rides-table table').waitFor();
    if ((await page.locator('#rides-table tbody tr').count()) > 0) break;
    assert.ok(i < 30, 'the demo has rides within a minute');
    await page.getByRole('link', { name: '实时', exact: true }).click();
    await page.waitForTimeout(2000);
  }
  assert.match(await page.locator('#rides-status').textContent(), /^\d+\+? 个行程$/);
  assert.deepEqual(await englishLeft(page), []);
  await screenshot(page, 'i18n-ops-rides-zh');

  // A ride's page: its details, price and timeline.
  await page.locator('#rides-table tbody tr a').first().click();
  await page.getByRole('heading', { name: '时间线' }).waitFor();
  await page.locator('#ride-console h2').first().waitFor();
  assert.equal(await page.locator('#main a[href="#/rides"]').first().textContent(), '← 全部行程');
  assert.deepEqual(await englishLeft(page), []);
  await screenshot(page, 'i18n-ops-ride-zh');

  await page.setViewportSize(PHONE);
  await page.getByRole('link', { name: '实时', exact: true }).click();
  await page.locator('#kpi-open').waitFor();
  assert.deepEqual(await englishLeft(page), []);
  await screenshot(page, 'i18n-ops-live-zh-390');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
