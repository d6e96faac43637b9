// By hand, not part of the suite: frame times of panning the canvas street map (as the apps pan it: the
// bitmap moved while the view changes; and with a full draw every frame) against the same map drawn as
// SVG paths (land, parks, every street with a casing) panned by viewBox, at 390x844, at full CPU speed
// and 4x slower. Run from e2e/ after `cargo build -p doorstep-cli`:
//   DOORSTEP_BIN=$PWD/../target/debug/doorstep node map-frames.mjs
import { startDemo, launch, PHONE } from './lib.mjs';
const demo = await startDemo({ speed: 20, drivers: 10 });
const b = await launch();
try {
  const page = await b.page(PHONE);
  await page.goto(`${demo.base}/rider/`);
  const res = {};
  for (const rate of [1, 4]) {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate });
    res[rate] = await page.evaluate(async () => {
      const { CityMap } = await import('/shared/map.js');
      const frame = () => new Promise((r) => requestAnimationFrame(r));
      const box = (id) => {
        const d = document.createElement('div');
        d.id = id;
        d.style.cssText = 'position:fixed;left:0;top:0;width:370px;height:388px;z-index:99';
        document.body.append(d);
        return d;
      };
      const run = async (apply) => {
        await frame(); await frame();
        const gaps = [];
        let last = performance.now();
        for (let i = 0; i < 60; i++) {
          apply(i);
          await frame();
          const now = performance.now();
          gaps.push(now - last);
          last = now;
        }
        gaps.sort((a, c) => a - c);
        return { mean: gaps.reduce((s, x) => s + x, 0) / gaps.length, p95: gaps[57] };
      };
      // Canvas (the map as built).
      const c = box('m-canvas');
      const m = new CityMap(c, {});
      await m.ready;
      m.fitPoints([{ lat: 40.7532, lng: -73.9806 }], 120);
      await m.detailLoading;
      const v0 = { ...m.view };
      const canvas = await run((i) => m.setView({ ...v0, x: v0.x + (i < 30 ? i : 60 - i) * 3, y: v0.y + (i % 2) * 2 }));
      const ctx = m.canvas.getContext('2d');
      const canvasFull = await run((i) => { m.setView({ ...v0, x: v0.x + (i < 30 ? i : 60 - i) * 3, y: v0.y + (i % 2) * 2 }); m.draw(); ctx.getImageData(0, 0, 1, 1); });
      c.remove();
      // SVG: the same streets, one path each, panned by viewBox.
      const s = box('m-svg');
      const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
      svg.setAttribute('width', '370'); svg.setAttribute('height', '388');
      let paths = 0;
      {
        const raw = await (await fetch('/assets/basemap/base.json')).json();
        const { project } = await import('/shared/map.js');
        const ring = (co) => { let x = 0, y = 0, d = ''; for (let k = 0; k < co.length; k += 2) { x += co[k]; y += co[k + 1]; const [px, py] = project({ lng: raw.x0 + x / raw.q, lat: raw.y0 + y / raw.q }); d += `${k ? 'L' : 'M'}${px.toFixed(1)} ${py.toFixed(1)}`; } return d + 'Z'; };
        const land = document.createElementNS('http://www.w3.org/2000/svg', 'path');
        land.setAttribute('d', raw.land.map(ring).join('')); land.setAttribute('fill', '#f3f0ea'); land.setAttribute('fill-rule', 'evenodd');
        svg.append(land);
        for (const [, , rings] of raw.parks) { const p = document.createElementNS('http://www.w3.org/2000/svg', 'path'); p.setAttribute('d', rings.map(ring).join('')); p.setAttribute('fill', '#c6e5b0'); svg.append(p); paths++; }
      }
      for (const name of ['base', 'detail']) {
        const raw = await (await fetch(`/assets/basemap/${name}.json`)).json();
        const { project } = await import('/shared/map.js');
        for (const [, , co] of raw.streets) {
          let x = 0, y = 0, d = '';
          for (let k = 0; k < co.length; k += 2) {
            x += co[k]; y += co[k + 1];
            const [px, py] = project({ lng: raw.x0 + x / raw.q, lat: raw.y0 + y / raw.q });
            d += `${k ? 'L' : 'M'}${px.toFixed(1)} ${py.toFixed(1)}`;
          }
          for (const [c, w] of [['#bbb', 0.9], ['#fff', 0.6]]) {
            const p = document.createElementNS('http://www.w3.org/2000/svg', 'path');
            p.setAttribute('d', d);
            p.setAttribute('fill', 'none'); p.setAttribute('stroke', c); p.setAttribute('stroke-width', String(w));
            svg.append(p);
            paths++;
          }
        }
      }
      s.append(svg);
      const svgRes = await run((i) => svg.setAttribute('viewBox', `${v0.x + (i < 30 ? i : 60 - i) * 3} ${v0.y + (i % 2) * 2} ${v0.w} ${v0.h}`));
      s.remove();
      return { canvas, canvasFull, svg: svgRes, paths, draw: m.stats.totalMs / m.stats.frames };
    });
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });
  }
  console.log(JSON.stringify(res, null, 1));
} finally {
  await b.close();
  await demo.stop();
}
