// The courier's side of the food tests: a new driver account in the driver app, with a car, its simulated
// car placed in a zone and online (the live dispatcher offers it food orders); the app's drive to the next
// stop; the chime counter.
import { PASSWORD, unique, signUp, registerVehicle, placeCar } from './lib.mjs';
import { call } from './merchant-setup.mjs';

/** Counts the tones the page starts (the WebAudio chime), before any script of the page runs. */
export const COUNT_TONES = () => {
  window.__tones = 0;
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (...a) {
    window.__tones += 1;
    return start.apply(this, a);
  };
};

/** The sign-up button in the languages the helper below opens the app in. */
const SIGN_UP = { 'zh-CN': '注册' };

/** The driver app's bearer token (its session in localStorage). */
export const tokenOf = (page) => page.evaluate(() => JSON.parse(localStorage.getItem('doorstep.driver.session')).token);

/**
 * Signs a new driver up in the driver app on `page` (the server approves drivers at sign-up), registers a
 * car, places the simulated car in `zone` and goes online. With `lang` the app is opened in that language
 * (`zh-CN`; the car is then registered through the API, the forms being in that language).
 */
export async function courierOnline(server, page, name, { lang, zone = 'Union Sq' } = {}) {
  await page.addInitScript(COUNT_TONES);
  await page.goto(`${server.base}/driver/${lang ? `?lang=${lang}` : ''}`);
  const car = { make: 'Honda', model: 'PCX', colour: 'Red', plate: `K ${unique().slice(-5)}` };
  if (lang) {
    await page.locator('#auth-name').fill(name);
    await page.locator('#auth-email').fill(`${name.toLowerCase()}-${unique()}@example.com`);
    await page.locator('#auth-password').fill(PASSWORD);
    await page.getByRole('button', { name: SIGN_UP[lang] }).click();
    await page.locator('#online').waitFor();
    await call(server.base, 'PUT', '/v1/drivers/me/vehicle', { token: await tokenOf(page), body: car });
    await page.reload();
    await page.locator('#vehicle-summary').waitFor();
    await page.locator('#start-zone').fill(zone);
    await page.locator('#start-zone').dispatchEvent('change');
    await page.locator('#online').click();
    await page.locator('#online.go-offline').waitFor();
    return;
  }
  await signUp(page, name);
  await page.getByRole('heading', { name: 'You are offline' }).waitFor();
  await registerVehicle(page, car);
  await placeCar(page, zone);
  await page.getByRole('button', { name: 'Go online' }).click();
  await page.getByRole('heading', { name: 'You are online' }).waitFor();
}

/** Waits until the app's simulated car is within `m` metres of the next stop (the task screen says how far). */
export async function driveToStop(page, m = 25) {
  await page.waitForFunction((limit) => {
    const card = document.querySelector('#next-stop');
    return card && card.dataset.distanceM !== '' && Number(card.dataset.distanceM) <= limit;
  }, m, { timeout: 120000 });
}
