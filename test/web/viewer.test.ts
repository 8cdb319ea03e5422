// The viewer (web/, built into dist/web) in Debian's chromium against the real
// server and real origins: stream mode renders what the server's IIIF renders;
// pan, zoom, keys and pinch move the view; a stopped server is replaced by
// direct mode from the slide's origin and comes back; direct mode with no tile
// server at all; an overlay slide in register; GeoJSON outlines; no console errors.
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedServer } from '../../src/server/serve.js';
import { haveChromium, launchChromium } from '../helpers/chromium.js';
import { startOrigin, type Origin } from '../helpers/origin.js';
import { FIXTURES, psnr, ROOT, start } from '../server/helpers.js';
import { WEB, getView, heatmapTiff, iiifView, newPage, openViewer, pixel, putViewer, settle, snapshot, stats, type Console, type PageViewer } from './helpers.js';

const W = 800;
const H = 600;
const SLIDE = 'aperio-jpeg.svs'; // 8000 x 6000, levels at 1, 4, 16
let browser: Browser;
let origin: Origin; // the slides' origin: Range + CORS
let pages: Origin; // a static origin serving the built viewer (another origin than the slides')
let s: StartedServer;
const serverOptions = () => ({
  webDir: WEB,
  osdDir: `${ROOT}node_modules/openseadragon/build/openseadragon`,
  registry: { slidesDir: FIXTURES, config: { slides: { 'remote.svs': { url: origin.url('/wsi/aperio-jpeg.svs') } } }, allow: [`${origin.base}/`] },
});

beforeAll(async () => {
  if (!haveChromium) return;
  origin = await startOrigin();
  origin.cors = true;
  origin.put('/wsi/aperio-jpeg.svs', new Uint8Array(readFileSync(`${FIXTURES}/aperio-jpeg.svs`)));
  origin.put('/wsi/heat.tif', await heatmapTiff(500, 375));
  pages = await startOrigin();
  putViewer(pages);
  s = await start(serverOptions());
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await s?.close();
  await origin?.stop();
  await pages?.stop();
});

async function close(page: Page, c: Console, allowed: RegExp[] = []): Promise<void> {
  await page.context().close();
  const unexpected = c.errors.filter((e) => !allowed.some((r) => r.test(e)));
  expect(unexpected.join('\n'), 'console errors').toBe('');
}

describe.skipIf(!haveChromium)('the viewer in chromium', () => {
  it('stream mode: the settled canvas matches the server IIIF render of the same region (PSNR >= 30 dB) at two levels; pan and zoom change it', async () => {
    const { page, console: c } = await newPage(browser, W, H);
    await openViewer(page, `${s.url}/view/${SLIDE}?renderer=webgl2`); // WebGL2 even where it is software (SwiftShader here)
    expect(await page.evaluate(() => (window as unknown as { imagebox: { viewer: PageViewer } }).imagebox.viewer.mode)).toBe('stream');
    for (const v of [
      { x: 4000, y: 3000, zoom: 0.25 }, // level 1 at 1:1
      { x: 4000, y: 3000, zoom: 1 }, // level 0 at 1:1
      { x: 3000, y: 3600, zoom: 0.5 }, // level 0 drawn at half size
    ]) {
      await settle(page, v);
      const shot = await snapshot(page);
      expect([shot.width, shot.height]).toEqual([W, H]);
      const ref = await iiifView(s.url, SLIDE, v, W, H);
      const p = psnr(shot.data, ref);
      console.log(`stream view ${JSON.stringify(v)}: PSNR ${p.toFixed(1)} dB against /iiif/3`);
      expect(p).toBeGreaterThanOrEqual(30);
    }
    // pan by 200 CSS px and zoom in twice around the centre: the view and the pixels follow
    const before = await snapshot(page);
    await page.evaluate(() => (window as unknown as { imagebox: { viewer: { panBy(x: number, y: number): void } } }).imagebox.viewer.panBy(200, 0));
    const panned = await getView(page);
    expect(panned.x).toBeCloseTo(3000 - 200 / 0.5, 5);
    await settle(page);
    const after = await snapshot(page);
    expect(psnr(after.data, before.data)).toBeLessThan(25);
    expect(psnr(after.data, await iiifView(s.url, SLIDE, panned, W, H))).toBeGreaterThanOrEqual(30);
    await page.evaluate(() => (window as unknown as { imagebox: { viewer: { zoomBy(f: number): void } } }).imagebox.viewer.zoomBy(2));
    expect((await getView(page)).zoom).toBeCloseTo(1, 5);
    await settle(page);
    // the view is in the URL: reopening the link shows it
    await page.waitForFunction(() => /x=2600&y=3600&z=1\b/.test(location.hash), undefined, { timeout: 5000 });
    const link = page.url();
    const st = await stats(page);
    expect(st.tilesDrawn).toBeGreaterThan(20);
    expect(st.renderer).toBe('webgl2');
    await close(page, c);
    const again = await newPage(browser, W, H);
    await openViewer(again.page, link);
    const reopened = await getView(again.page);
    expect([Math.round(reopened.x), Math.round(reopened.y), reopened.zoom]).toEqual([2600, 3600, 1]);
    await close(again.page, again.console);
  });

  it('Canvas 2D draws the same pixels; it is the default where WebGL2 is software (headless chromium with --disable-gpu)', async () => {
    const { page, console: c } = await newPage(browser, W, H);
    await openViewer(page, `${s.url}/view/${SLIDE}`);
    const v = { x: 4000, y: 3000, zoom: 0.25 };
    await settle(page, v);
    expect((await stats(page)).renderer).toBe('2d');
    expect(psnr((await snapshot(page)).data, await iiifView(s.url, SLIDE, v, W, H))).toBeGreaterThanOrEqual(30);
    await close(page, c);
  });

  it('keyboard (+, -, arrows) and a two-finger pinch zoom around the pointer', async () => {
    const { page, console: c } = await newPage(browser, W, H, true);
    await openViewer(page, `${s.url}/view/${SLIDE}`);
    await settle(page, { x: 4000, y: 3000, zoom: 0.25 });
    await page.focus('.ib-canvas');
    await page.keyboard.press('+');
    await page.waitForFunction(() => Math.abs((window as unknown as { imagebox: { viewer: PageViewer } }).imagebox.viewer.getView().zoom - 0.5) < 1e-6, undefined, { timeout: 5000 });
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(() => Math.abs((window as unknown as { imagebox: { viewer: PageViewer } }).imagebox.viewer.getView().x - (4000 + 200 / 0.5)) < 1e-6, undefined, { timeout: 5000 });
    await page.keyboard.press('-');
    await page.waitForFunction(() => Math.abs((window as unknown as { imagebox: { viewer: PageViewer } }).imagebox.viewer.getView().zoom - 0.25) < 1e-6, undefined, { timeout: 5000 });
    // pinch: two touch points 100 px apart move to 200 px apart around (400, 300): zoom x2, the point under the fingers stays
    const z0 = (await getView(page)).zoom;
    const v0 = await getView(page);
    const cdp = await page.context().newCDPSession(page);
    const touch = (type: string, d: number) =>
      cdp.send('Input.dispatchTouchEvent', {
        type,
        touchPoints: type === 'touchEnd' ? [] : [
          { x: 400 - d / 2, y: 300, id: 1 },
          { x: 400 + d / 2, y: 300, id: 2 },
        ],
      });
    await touch('touchStart', 100);
    for (let d = 110; d <= 200; d += 10) await touch('touchMove', d);
    await touch('touchEnd', 200);
    const v1 = await getView(page);
    expect(v1.zoom / z0).toBeGreaterThan(1.8);
    expect(v1.zoom / z0).toBeLessThan(2.2);
    expect(Math.abs(v1.x - v0.x)).toBeLessThan(5 / v1.zoom);
    await settle(page);
    await close(page, c);
  });

  it('fallback: with the server stopped, new tiles come from the origin in direct mode, the canvas unchanged but for the mode; back to stream when it returns', async () => {
    const { page, console: c } = await newPage(browser, W, H);
    await openViewer(page, `${s.url}/view/remote.svs`);
    const v = { x: 4000, y: 3000, zoom: 0.25 };
    await settle(page, v);
    expect((await stats(page)).mode).toBe('stream');
    // the status panel's counters: origin requests of the server for this viewer (a remote slide), tiles/s
    await page.waitForFunction(() => ((window as unknown as { imagebox: { viewer: PageViewer } }).imagebox.viewer.stats().originRequests as number) > 0, undefined, { timeout: 5000 });
    expect(await page.textContent('.ib-status')).toMatch(/^stream · .* tiles \(\d+\/s\) · [\d.]+ MiB · \d+ from prefetch · [1-9]\d* origin req/);
    const moved = { x: 1500, y: 1500, zoom: 1 };
    const refMoved = await iiifView(s.url, 'remote.svs', moved, W, H);
    await page.waitForTimeout(800); // the direct-mode assets are fetched in the background once the stream is up
    const before = await snapshot(page);
    // a second page on a local slide (no public URL): it has nothing to fall back to
    const local = await newPage(browser, W, H);
    await openViewer(local.page, `${s.url}/view/${SLIDE}`);
    await settle(local.page, v);
    const localBefore = await snapshot(local.page);
    const port = s.port;
    await s.close();
    try {
    await local.page.waitForFunction(() => (window as unknown as { imagebox: { viewer: PageViewer } }).imagebox.viewer.mode === 'offline', undefined, { timeout: 15_000 });
    await local.page.waitForFunction(() => /server is unreachable/.test(document.querySelector('.ib-status')?.textContent ?? ''), undefined, { timeout: 5000 });
    expect(psnr((await snapshot(local.page)).data, localBefore.data)).toBeGreaterThanOrEqual(50); // it keeps what it has
    await page.waitForFunction(() => (window as unknown as { imagebox: { viewer: PageViewer } }).imagebox.viewer.mode === 'direct', undefined, { timeout: 15_000 });
    // nothing on screen changed
    expect(psnr((await snapshot(page)).data, before.data)).toBeGreaterThanOrEqual(50);
    expect(await page.locator('.ib-status').getAttribute('data-mode')).toBe('direct');
    origin.resetCounters();
    const received = (await stats(page)).tilesReceived;
    await settle(page, moved);
    const st = await stats(page);
    expect(st.tilesReceived).toBeGreaterThan(received);
    expect(origin.requests).toBeGreaterThan(0);
    expect(origin.log.every((r) => r.headers.origin === s.url || r.method === 'OPTIONS' || r.headers.origin === undefined)).toBe(true);
    expect(origin.log.some((r) => r.headers.origin === s.url)).toBe(true); // the browser itself, cross-origin
    const p = psnr((await snapshot(page)).data, refMoved);
    console.log(`fallback (direct mode) view: PSNR ${p.toFixed(1)} dB; ${origin.requests} origin requests for ${st.tilesReceived - received} tiles`);
    expect(p).toBeGreaterThanOrEqual(30);
    } finally {
      s = await start({ ...serverOptions(), port });
    }
    await page.waitForFunction(() => (window as unknown as { imagebox: { viewer: PageViewer } }).imagebox.viewer.mode === 'stream', undefined, { timeout: 30_000 });
    await settle(page, { x: 5000, y: 4000, zoom: 1 });
    expect((await stats(page)).modeSwitches).toBeGreaterThanOrEqual(2);
    await local.page.waitForFunction(() => (window as unknown as { imagebox: { viewer: PageViewer } }).imagebox.viewer.mode === 'stream', undefined, { timeout: 30_000 });
    await close(local.page, local.console, [/WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/stream(?:\?slide=[^']*)?' failed/]);
    expect(psnr((await snapshot(page)).data, await iiifView(s.url, 'remote.svs', { x: 5000, y: 4000, zoom: 1 }, W, H))).toBeGreaterThanOrEqual(30);
    // the browser reports the refused reconnects itself; nothing else may be logged
    await close(page, c, [/WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/stream(?:\?slide=[^']*)?' failed/]);
  });

  it('direct mode with no tile server: viewer.html?url= on a static origin, the slide on another (CORS), the same pixels', async () => {
    const { page, console: c } = await newPage(browser, W, H);
    origin.resetCounters();
    await openViewer(page, `${pages.base}/app/viewer.html?url=${encodeURIComponent(origin.url('/wsi/aperio-jpeg.svs'))}`);
    expect((await stats(page)).mode).toBe('direct');
    for (const v of [
      { x: 4000, y: 3000, zoom: 0.25 },
      { x: 3000, y: 2000, zoom: 1 },
    ]) {
      await settle(page, v);
      const p = psnr((await snapshot(page)).data, await iiifView(s.url, SLIDE, v, W, H));
      console.log(`direct view ${JSON.stringify(v)}: PSNR ${p.toFixed(1)} dB against the server's /iiif/3`);
      expect(p).toBeGreaterThanOrEqual(30);
    }
    await page.waitForFunction(() => ((window as unknown as { imagebox: { viewer: PageViewer } }).imagebox.viewer.stats().originRequests as number) > 0, undefined, { timeout: 5000 });
    const st = await stats(page);
    // the worker counts its own origin requests: at most what the origin saw (the open's reads come before the first view)
    expect(st.originRequests as number).toBeLessThanOrEqual(origin.log.filter((r) => r.method === 'GET').length);
    expect(origin.log.filter((r) => r.method === 'GET').every((r) => r.headers.origin === pages.base)).toBe(true);
    // coalesced: far fewer origin requests than tiles
    expect(origin.log.filter((r) => r.method === 'GET').length).toBeLessThan(st.tilesReceived / 2);
    await close(page, c);
  });

  it('an overlay slide from another URL is drawn in register, with opacity, and toggles', async () => {
    const { page, console: c } = await newPage(browser, W, H);
    const heat = origin.url('/wsi/heat.tif'); // 500 x 375: 1/16 of the base slide, four quadrants
    await openViewer(page, `${s.url}/view/${SLIDE}?overlay=${encodeURIComponent(heat)}&opacity=1`);
    await settle(page, { x: 4000, y: 3000, zoom: 0.1 }); // the whole slide fills 800 x 600
    let shot = await snapshot(page);
    const near = (a: number[], b: number[], tol: number) => a.every((x, i) => Math.abs(x - b[i]!) <= tol);
    // quadrant colours, and the boundary at base x = 4000 (screen x = 400), y = 3000 (screen y = 300)
    expect(near(pixel(shot, 200, 150), [230, 20, 20], 3)).toBe(true);
    expect(near(pixel(shot, 600, 150), [20, 200, 20], 3)).toBe(true);
    expect(near(pixel(shot, 200, 450), [20, 20, 230], 3)).toBe(true);
    expect(near(pixel(shot, 600, 450), [230, 230, 20], 3)).toBe(true);
    expect(near(pixel(shot, 396, 150), [230, 20, 20], 3)).toBe(true);
    expect(near(pixel(shot, 404, 150), [20, 200, 20], 3)).toBe(true);
    expect(near(pixel(shot, 200, 296), [230, 20, 20], 3)).toBe(true);
    expect(near(pixel(shot, 200, 304), [20, 20, 230], 3)).toBe(true);
    // off: the base slide alone (its IIIF render); half: the mean of the two
    await page.evaluate(() => (window as unknown as { imagebox: { viewer: PageViewer } }).imagebox.viewer.overlays[0]!.setVisible(false));
    await settle(page);
    const base = await snapshot(page);
    expect(psnr(base.data, await iiifView(s.url, SLIDE, { x: 4000, y: 3000, zoom: 0.1 }, W, H))).toBeGreaterThanOrEqual(30);
    await page.evaluate(() => {
      const o = (window as unknown as { imagebox: { viewer: PageViewer } }).imagebox.viewer.overlays[0]!;
      o.setVisible(true);
      o.setOpacity(0.5);
    });
    await settle(page);
    shot = await snapshot(page);
    for (const [x, y, col] of [
      [200, 150, [230, 20, 20]],
      [600, 450, [230, 230, 20]],
    ] as const) {
      const b = pixel(base, x, y);
      expect(near(pixel(shot, x, y), b.map((v, i) => (v + col[i]!) / 2), 4)).toBe(true);
    }
    await close(page, c);
  });

  it('GeoJSON features (QuPath export) are drawn as outlines where their level-0 coordinates are', async () => {
    const { page, console: c } = await newPage(browser, W, H);
    await openViewer(page, `${s.url}/view/${SLIDE}`);
    await settle(page, { x: 4000, y: 3000, zoom: 0.1 });
    await page.evaluate(() => {
      (window as unknown as { imagebox: { viewer: { setGeoJSON(g: unknown): void } } }).imagebox.viewer.setGeoJSON({
        type: 'FeatureCollection',
        features: [
          {
            type: 'Feature',
            geometry: { type: 'Polygon', coordinates: [[[1000, 1000], [3000, 1000], [3000, 2000], [1000, 2000], [1000, 1000]]] },
            properties: { objectType: 'annotation', classification: { name: 'Tumor', color: [255, 0, 255] } },
          },
        ],
      });
    });
    await settle(page);
    const at = (x: number, y: number) =>
      page.evaluate(([px, py]) => Array.from((document.querySelector('.ib-vector') as HTMLCanvasElement).getContext('2d')!.getImageData(px!, py!, 1, 1).data), [x, y]);
    // the top edge: level-0 y = 1000 is screen y = 300 - 2000 * 0.1 = 100; x from 100 to 300
    const edge = await at(200, 100);
    expect(edge.slice(0, 3)).toEqual([255, 0, 255]);
    expect(edge[3]).toBeGreaterThan(128); // a 1.5 px line centred on the row: antialiased
    expect((await at(200, 150))[3]).toBe(0); // inside: outline only
    expect((await at(50, 100))[3]).toBe(0); // outside
    await close(page, c);
  });

  it('the embedding API: createViewer from the imagebox/viewer module (viewer.mjs) in a page of its own; whenIdle, getView, stats', async () => {
    const { page, console: c } = await newPage(browser, 640, 480);
    const html = `<!doctype html><html><head><link rel="icon" href="data:,"><link rel="stylesheet" href="/app/viewer.css"></head><body style="margin:0">
<div id="here" style="width:640px;height:480px"></div>
<script type="module">
import { createViewer } from '/app/viewer.mjs';
const v = createViewer(document.getElementById('here'), { url: ${JSON.stringify(origin.url('/wsi/aperio-jpeg.svs'))} });
window.imagebox = { viewer: v };
</script></body></html>`;
    pages.put('/embed.html', new TextEncoder().encode(html), 'text/html; charset=utf-8');
    await openViewer(page, `${pages.base}/embed.html`);
    const v = { x: 6000, y: 4000, zoom: 0.25 };
    await settle(page, v);
    const got = await getView(page);
    expect(got).toEqual(v);
    const st = await stats(page);
    expect(st.mode).toBe('direct');
    for (const k of ['tilesDrawn', 'bytes', 'originRequests', 'cacheHits']) expect(typeof st[k], k).toBe('number');
    expect(st.tilesDrawn).toBeGreaterThan(0);
    const shot = await snapshot(page);
    expect(psnr(shot.data, await iiifView(s.url, SLIDE, v, 640, 480))).toBeGreaterThanOrEqual(30);
    await close(page, c);
  });

  it('/ lists the slides with thumbnails; a click opens /view/{id}; /osd is the OpenSeadragon page', async () => {
    const { page, console: c } = await newPage(browser, 1000, 700);
    await page.goto(`${s.url}/`);
    await page.waitForFunction(() => document.querySelectorAll('.slide img').length > 3);
    await page.click(`.slide[data-id="${SLIDE}"] a.open`);
    await page.waitForURL(`${s.url}/view/${SLIDE}`);
    await page.waitForFunction(() => (window as unknown as { imagebox?: { viewer?: unknown } }).imagebox?.viewer);
    await page.evaluate(() => (window as unknown as { imagebox: { viewer: PageViewer } }).imagebox.viewer.whenIdle(20_000));
    expect((await stats(page)).tilesDrawn).toBeGreaterThan(0);
    // the info panel: dimensions, MPP, the label and macro images, properties
    await page.click('.ib-info summary');
    await page.waitForFunction(() => document.querySelectorAll('.ib-assoc img').length >= 2 && document.querySelectorAll('.ib-info tr').length > 5);
    expect(await page.textContent('.ib-info summary')).toContain('8000 x 6000');
    expect(await page.$$eval('.ib-assoc figcaption', (f) => f.map((x) => x.textContent))).toEqual(expect.arrayContaining(['label', 'macro']));
    // a scale bar (MPP 0.499) and the navigator
    expect(await page.textContent('.ib-scalebar')).toMatch(/\d+ (µm|mm)/);
    const osd = await page.goto(`${s.url}/osd`);
    expect(osd?.status()).toBe(200);
    expect(await page.title()).toContain('OpenSeadragon');
    // every thumbnail of /osd asked and answered before the page closes (a tiny slide's
    // must not be a 400, an unopenable one's not asked for)
    await page.waitForFunction(() => document.querySelectorAll('.slide img').length > 3);
    await page.evaluate(() => document.querySelectorAll('.slide img').forEach((i) => ((i as HTMLImageElement).loading = 'eager')));
    await page.waitForFunction(() => [...document.querySelectorAll('.slide img')].every((i) => (i as HTMLImageElement).complete));
    // openslide/unreadable.svs opens but its tiles are deliberately unreadable: its thumbnail's 422 is the only error allowed
    await close(page, c, [/422 .*openslide%2Funreadable\.svs\//, /^Failed to load resource: the server responded with a status of 422/]);
  });
});
