// Manual check: screenshot a page of a running server. node shot.mjs <url> <out.png> [phone|desktop]
import { launch, PHONE, DESKTOP } from './lib.mjs';
const [url, out, size = 'phone'] = process.argv.slice(2);
const b = await launch();
const page = await b.page(size === 'phone' ? PHONE : DESKTOP);
page.on('console', (m) => console.log('console:', m.type(), m.text()));
await page.goto(url);
await page.waitForTimeout(Number(process.env.WAIT || 1500));
await page.screenshot({ path: out });
console.log('errors', page.errors, 'foreign', b.foreign);
await b.close();
