// A real client: headless chromium opens the server's page (slide list with
// IIIF thumbnails) and decodes a passthrough tile of an RGB-coded Aperio
// slide: the colours must match OpenSlide's (the APP14 marker at work).
import { readFile } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedServer } from '../../src/server/serve.js';
import { haveChromium, launchChromium } from '../helpers/chromium.js';
import { FIXTURES, psnr, ROOT, start } from './helpers.js';

let s: StartedServer;
let browser: Browser;

beforeAll(async () => {
  if (!haveChromium) return;
  s = await start({ webDir: `${ROOT}dist/web` });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await s?.close();
});

describe.skipIf(!haveChromium)('chromium', () => {
  it('the slide page lists slides; thumbnails of the Aperio slides (JPEG and JPEG 2000) return 200', async () => {
    const page = await browser.newPage();
    const statuses = new Map<string, number>();
    page.on('response', (r) => {
      if (r.url().includes('/iiif/')) statuses.set(r.url(), r.status());
    });
    await page.goto(`${s.url}/`);
    await page.waitForFunction(() => document.querySelectorAll('.slide img').length > 3);
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('.slide img')].slice(0, 4).every((i) => i.complete));
    const ids = await page.$$eval('.slide .id', (els) => els.map((e) => e.textContent));
    expect(ids).toContain('aperio-jpeg.svs');
    const sizes = await page.$$eval('.slide img', (imgs) => (imgs as HTMLImageElement[]).slice(0, 4).map((i) => i.naturalWidth));
    expect(sizes.every((w) => w > 0)).toBe(true);
    const aperio = [...statuses].filter(([u]) => /\/iiif\/3\/aperio-[^/]*\//.test(u));
    expect(aperio.length).toBeGreaterThanOrEqual(4);
    for (const [u, st] of aperio) expect(st, u).toBe(200);
    await page.close();
  });

  it('decodes a passthrough JPEG/RGB tile with OpenSlide colours (PSNR >= 40 dB)', async () => {
    const page = await browser.newPage();
    await page.goto(`${s.url}/health`);
    const url = `${s.url}/iiif/3/aperio-jpeg.svs/4096,3072,256,256/max/0/default.jpg`;
    const pixels = await page.evaluate(async (u) => {
      const img = new Image();
      img.src = u;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.naturalWidth;
      c.height = img.naturalHeight;
      const g = c.getContext('2d')!;
      g.drawImage(img, 0, 0);
      return Array.from(g.getImageData(0, 0, c.width, c.height).data);
    }, url);
    const ref = await sharp(await readFile(`${FIXTURES}/reference/aperio-jpeg_svs/L0_tile_c16_r12.png`)).ensureAlpha().raw().toBuffer();
    expect(pixels.length).toBe(256 * 256 * 4);
    expect(psnr(Uint8Array.from(pixels), new Uint8Array(ref))).toBeGreaterThanOrEqual(40);
    await page.close();
  });
});
