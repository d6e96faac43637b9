// The rider app in Simplified Chinese (issue 10, item 9): opened with ?lang=zh-CN, every screen a rider
// goes through (sign-up, home, planning, the quote, the live ride, past rides) shows the rider
// catalogue's Chinese, and none of its English texts is left on screen; axe finds nothing on any of them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, launch, screenshot, PHONE } from '../lib.mjs';
import riderMessages from '../../web/shared/messages/rider.js';

let demo;
let b;

before(async () => {
  demo = await startDemo({ speed: 20 });
  b = await launch();
});

after(async () => {
  if (b) await b.close();
  if (demo) await demo.stop();
});

// The English texts that must not be seen in Chinese: those of 4 characters or more that differ in
// zh-CN (texts with placeholders are matched by their longest fixed part).
const ENGLISH = Object.entries(riderMessages.en)
  .filter(([k, v]) => typeof v === 'string' && riderMessages['zh-CN'][k] !== v)
  .map(([, v]) => v.split(/\{\w+\}/).map((s) => s.trim()).sort((x, y) => y.length - x.length)[0])
  .filter((v) => v.length >= 4);

async function assertChinese(page, name) {
  assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');
  const text = await page.evaluate(() => document.body.innerText);
  const left = ENGLISH.filter((en) => text.includes(en));
  assert.deepEqual(left, [], `${name}: English left on screen`);
  assert.match(text, /[\u4e00-\u9fff]/, `${name}: no Chinese on screen`);
  await screenshot(page, name);
}

test('the rider app opened with ?lang=zh-CN shows its screens in Chinese', async () => {
  const page = await b.page(PHONE);
  await page.goto(`${demo.base}/rider/?lang=zh-CN`);
  await page.locator('#auth-name').fill('Lin');
  await page.locator('#auth-email').fill(`lin-${Date.now().toString(36)}@example.com`);
  await page.locator('#auth-password').fill('correct horse battery');
  await page.getByRole('button', { name: '注册' }).click();

  // Home: the greeting, the services, and the static page's nav and skip link.
  await page.getByRole('heading', { name: 'Lin，您好' }).waitFor();
  await page.getByRole('button', { name: /乘车/ }).waitFor();
  await page.getByRole('navigation', { name: '乘客' }).getByRole('button', { name: '首页' }).waitFor();
  assert.equal(await page.locator('a.skip').textContent(), '跳到主要内容');
  assert.equal(await page.title(), 'Doorstep — 乘客');
  await assertChinese(page, 'i18n-rider-home-390');

  // Planning and the quote.
  await page.locator('#svc-ride').click();
  await page.getByRole('heading', { name: '去哪里？' }).waitFor();
  assert.equal((await page.locator('#get-quote').textContent()).trim(), '查看价格');
  await assertChinese(page, 'i18n-rider-plan-390');
  for (const [id, place] of [['#pickup-search', 'Midtown Center'], ['#dropoff-search', 'Murray Hill']]) {
    await page.locator(id).fill(place);
    await page.locator(id).dispatchEvent('change');
  }
  await page.getByRole('button', { name: '查看价格' }).click();
  await page.getByRole('heading', { name: '您的价格' }).waitFor();
  await page.getByRole('button', { name: '立即叫车' }).waitFor();
  await assertChinese(page, 'i18n-rider-quote-390');

  // The live ride: its progress steps and the cancel button.
  await page.getByRole('button', { name: '立即叫车' }).click();
  await page.locator('#ride-state').waitFor();
  await page.getByRole('list', { name: '行程进度' }).waitFor();
  await page.getByRole('button', { name: '取消行程' }).waitFor();
  await assertChinese(page, 'i18n-rider-ride-390');

  // Past rides.
  await page.getByRole('button', { name: '行程', exact: true }).click();
  await page.getByRole('heading', { name: '您的行程' }).waitFor();
  await page.locator('[data-ride]').first().waitFor();
  await assertChinese(page, 'i18n-rider-history-390');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
