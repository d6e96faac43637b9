// House calls in Simplified Chinese: the catalogues of the customer's Services tab (services.js) and of the
// provider app (provider.js) have the same keys in both languages, and, against a real `doorstep serve`,
// the provider app opened with ?lang=zh-CN (sign-up, the profile, the week, today's route) and the rider
// app's Services tab show no English text of their catalogue; axe finds nothing on any of them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { launch, screenshot, PHONE, PASSWORD, ROOT, unique } from '../lib.mjs';
import { startServe, operatorToken, hasHouseCallAdmin, createService } from '../provider-setup.mjs';

/** A catalogue module (web/ has no package.json saying it is ESM): loaded from its source. */
async function catalogue(name) {
  const source = readFileSync(path.join(ROOT, 'web', 'shared', 'messages', `${name}.js`), 'utf8');
  return (await import(`data:text/javascript,${encodeURIComponent(source)}`)).default;
}

const servicesMessages = await catalogue('services');
const providerMessages = await catalogue('provider');

let server;
let b;

before(async () => {
  server = await startServe();
  b = await launch();
  const ops = await operatorToken(server);
  if (await hasHouseCallAdmin(server, ops)) await createService(server, ops, { name: '瑞典式按摩' });
});

after(async () => {
  if (b) await b.close();
  if (server) await server.stop();
});

for (const [name, messages] of [['services', servicesMessages], ['provider', providerMessages]]) {
  test(`the ${name} catalogue has the same keys in English and Chinese, each with its area's prefix`, () => {
    const en = Object.keys(messages.en).sort();
    const zh = Object.keys(messages['zh-CN']).sort();
    assert.deepEqual(zh, en);
    assert.ok(en.length > 40, `${en.length} keys`);
    for (const key of en) {
      assert.ok(key.startsWith(`${name}.`), key);
      assert.equal(typeof messages['zh-CN'][key], typeof messages.en[key], key);
      // The same placeholders in both languages.
      const holes = (v) => (typeof v === 'function' ? v({ n: 2 }) : v).match(/\{\w+\}/g)?.sort() ?? [];
      assert.deepEqual(holes(messages['zh-CN'][key]), holes(messages.en[key]), key);
    }
  });
}

/** The catalogue's English of 4 or more characters that differs in Chinese (by its literal pieces). */
function englishOf(messages) {
  const { en, 'zh-CN': zh } = messages;
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
}

async function assertChinese(page, english, name) {
  assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');
  const text = await page.evaluate(() => document.body.innerText);
  const left = english.filter((e) => text.includes(e));
  assert.deepEqual(left, [], `${name}: English left on screen`);
  assert.match(text, /[\u4e00-\u9fff]/, `${name}: no Chinese on screen`);
  await screenshot(page, name);
}

test('the provider app in Simplified Chinese: sign-up, the profile, the week and today’s route', async () => {
  const english = englishOf(providerMessages);
  const page = await b.page(PHONE);
  await page.goto(`${server.base}/provider/?lang=zh-CN`);
  await page.locator('#auth-title', { hasText: 'Doorstep — 服务人员' }).waitFor();
  assert.equal(await page.title(), 'Doorstep — 服务人员');
  assert.equal(await page.locator('a.skip').textContent(), '跳到主要内容');
  await assertChinese(page, english, 'i18n-provider-signup-zh-390');
  await page.locator('#auth-name').fill('林');
  await page.locator('#auth-email').fill(`lin-${unique()}@example.com`);
  await page.locator('#auth-password').fill(PASSWORD);
  await page.locator('#auth-submit').click();
  await page.getByRole('heading', { name: '您的资料' }).waitFor();
  assert.equal(await page.getByRole('navigation').getAttribute('aria-label'), '服务人员');
  await assertChinese(page, english, 'i18n-provider-profile-zh-390');
  await page.getByRole('button', { name: '本周', exact: true }).click();
  await page.getByRole('heading', { name: '本周安排' }).waitFor();
  await assertChinese(page, english, 'i18n-provider-week-zh-390');
  await page.getByRole('button', { name: '今天', exact: true }).click();
  await page.getByRole('heading', { name: '今天的路线' }).waitFor();
  await assertChinese(page, english, 'i18n-provider-today-zh-390');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('the rider app’s Services tab in Simplified Chinese', async () => {
  const english = englishOf(servicesMessages);
  const page = await b.page(PHONE);
  await page.goto(`${server.base}/rider/?lang=zh-CN`);
  await page.locator('#auth-name').fill('林');
  await page.locator('#auth-email').fill(`lin-${unique()}@example.com`);
  await page.locator('#auth-password').fill(PASSWORD);
  await page.getByRole('button', { name: '注册' }).click();
  await page.locator('#svc-home', { hasText: '按摩师' }).click();
  await page.getByRole('heading', { name: '预约上门服务' }).waitFor();
  await page.getByRole('navigation', { name: '服务' }).getByRole('button', { name: '上门服务' }).waitFor();
  // The heading shows while the catalogue loads; wait for the form or the empty message before choosing.
  await page.locator('#hc-service, #hc-no-services').first().waitFor();
  if (await page.locator('#hc-service').count()) {
    await page.getByRole('combobox', { name: '地点' }).fill('Grand Central');
    await page.getByRole('combobox', { name: '地点' }).dispatchEvent('change');
    await page.locator('fieldset.days label').nth(2).click();
    await page.locator('#hc-slots .slot, #hc-no-slots, #hc-slots-error').first().waitFor();
  } else {
    await page.locator('#hc-no-services', { hasText: '暂时没有可预约的服务' }).waitFor();
  }
  await assertChinese(page, english, 'i18n-services-book-zh-390');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
