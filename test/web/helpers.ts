// Helpers of the viewer tests: pages in chromium that run the built viewer
// (dist/web), their console, canvas reads, IIIF renders to compare with.
import { readdirSync, readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import type { Origin } from '../helpers/origin.js';
import { ROOT } from '../server/helpers.js';

export const WEB = `${ROOT}dist/web`;

const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript', mjs: 'text/javascript', css: 'text/css', wasm: 'application/wasm', map: 'application/json' };

/** The built viewer as static files on an origin (direct mode: no tile server anywhere). */
export function putViewer(o: Origin, prefix = '/app'): void {
  for (const f of readdirSync(WEB)) {
    const ext = f.split('.').pop()!;
    if (TYPES[ext]) o.put(`${prefix}/${f}`, new Uint8Array(readFileSync(`${WEB}/${f}`)), TYPES[ext]);
  }
}

export interface Console {
  errors: string[];
}

export async function newPage(browser: Browser, width = 800, height = 600, touch = false): Promise<{ page: Page; console: Console }> {
  const ctx = await browser.newContext({ viewport: { width, height }, deviceScaleFactor: 1, hasTouch: touch });
  const page = await ctx.newPage();
  const c: Console = { errors: [] };
  page.on('console', (m) => {
    if (process.env['IMAGEBOX_DEBUG_PAGE']) console.log(`page ${m.type()}: ${m.text()}`);
    if (m.type() === 'error') c.errors.push(m.text());
  });
  page.on('pageerror', (e) => c.errors.push(`pageerror: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) c.errors.push(`${r.status()} ${r.url()}`);
  });
  return { page, console: c };
}

/** Open a viewer page and wait for its slide. */
export async function openViewer(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(() => (window as unknown as { imagebox?: { viewer?: unknown } }).imagebox?.viewer, undefined, { timeout: 20_000 });
  await page.evaluate(() => (window as unknown as { imagebox: { viewer: { ready: Promise<void> } } }).imagebox.viewer.ready);
}

type V = {
  setView(v: { x?: number; y?: number; zoom?: number }): void;
  getView(): { x: number; y: number; zoom: number };
  whenIdle(ms?: number): Promise<void>;
  snapshot(): { width: number; height: number; data: Uint8Array };
  stats(): Record<string, unknown> & { mode: string; tilesDrawn: number; tilesReceived: number };
  mode: string;
  overlays: { setOpacity(a: number): void; setVisible(v: boolean): void }[];
};
export type { V as PageViewer };

/** Set the view and wait until every visible tile is drawn at the resolution it needs. */
export async function settle(page: Page, view?: { x?: number; y?: number; zoom?: number }, timeoutMs = 30_000): Promise<void> {
  await page.evaluate(
    async ([v, t]) => {
      const viewer = (window as unknown as { imagebox: { viewer: V } }).imagebox.viewer;
      if (v) viewer.setView(v);
      await new Promise((r) => requestAnimationFrame(r));
      await viewer.whenIdle(t);
    },
    [view, timeoutMs] as const,
  );
}

/** The canvas as RGBA (device pixels). */
export async function snapshot(page: Page): Promise<{ width: number; height: number; data: Uint8Array }> {
  const r = await page.evaluate(() => {
    const s = (window as unknown as { imagebox: { viewer: V } }).imagebox.viewer.snapshot();
    let bin = '';
    for (let i = 0; i < s.data.length; i += 0x8000) bin += String.fromCharCode(...s.data.subarray(i, i + 0x8000));
    return { width: s.width, height: s.height, b64: btoa(bin) };
  });
  return { width: r.width, height: r.height, data: new Uint8Array(Buffer.from(r.b64, 'base64')) };
}

export function stats(page: Page): Promise<ReturnType<V['stats']>> {
  return page.evaluate(() => (window as unknown as { imagebox: { viewer: V } }).imagebox.viewer.stats());
}

export function getView(page: Page): Promise<{ x: number; y: number; zoom: number }> {
  return page.evaluate(() => (window as unknown as { imagebox: { viewer: V } }).imagebox.viewer.getView());
}

/** The server's IIIF render of what an 800x600 view at (x, y, zoom) shows, as RGBA. */
export async function iiifView(server: string, id: string, v: { x: number; y: number; zoom: number }, w: number, h: number): Promise<Uint8Array> {
  const rx = Math.round(v.x - w / 2 / v.zoom);
  const ry = Math.round(v.y - h / 2 / v.zoom);
  const rw = Math.round(w / v.zoom);
  const rh = Math.round(h / v.zoom);
  const r = await fetch(`${server}/iiif/3/${encodeURIComponent(id)}/${rx},${ry},${rw},${rh}/${w},${h}/0/default.png`);
  if (r.status !== 200) throw new Error(`IIIF render: ${r.status}`);
  return new Uint8Array(await sharp(Buffer.from(await r.arrayBuffer())).ensureAlpha().raw().toBuffer());
}

/** A heatmap: four flat quadrants (red, green, blue, yellow), a tiled pyramidal TIFF (Deflate) of `w` x `h`. */
export async function heatmapTiff(w: number, h: number): Promise<Uint8Array> {
  const px = Buffer.alloc(w * h * 3);
  const colours = [
    [230, 20, 20],
    [20, 200, 20],
    [20, 20, 230],
    [230, 230, 20],
  ];
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const c = colours[(y < h / 2 ? 0 : 2) + (x < w / 2 ? 0 : 1)]!;
      px.set(c, (y * w + x) * 3);
    }
  const tiff = await sharp(px, { raw: { width: w, height: h, channels: 3 } })
    .tiff({ tile: true, tileWidth: 128, tileHeight: 128, pyramid: true, compression: 'deflate' })
    .toBuffer();
  return new Uint8Array(tiff);
}

/** The RGBA of one pixel. */
export function pixel(img: { width: number; data: Uint8Array }, x: number, y: number): number[] {
  const i = (y * img.width + x) * 4;
  return [img.data[i]!, img.data[i + 1]!, img.data[i + 2]!];
}
