// A real viewer: OpenSeadragon (from npm, served by us at /osd/) in headless
// chromium opens the sample slide's info.json, renders, zooms in one level;
// the screenshot shows tissue and every tile request returned 200.
// Skipped (with the reason printed) only where chromium is missing and CI is unset.
import { existsSync, writeFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedServer } from '../../src/server/serve.js';
import { haveChromium, launchChromium } from '../helpers/chromium.js';
import { ROOT, start } from './helpers.js';

const OSD = process.env.IMAGEBOX_OSD_DIR ?? `${ROOT}node_modules/openseadragon/build/openseadragon`;
// openseadragon is a dependency: its absence is a broken install, not a reason to skip
if (!existsSync(`${OSD}/openseadragon.min.js`)) throw new Error(`${OSD}/openseadragon.min.js is missing: npm ci`);

describe.skipIf(!haveChromium)('OpenSeadragon', () => {
  let s: StartedServer;
  let browser: Browser;
  beforeAll(async () => {
    s = await start({ webDir: `${ROOT}dist/web`, osdDir: OSD, registry: { slidesDir: `${ROOT}samples` } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  it('opens info.json, renders, zooms in one level; tissue on screen, every tile 200', async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    const tiles = new Map<string, number>();
    page.on('response', (r) => {
      if (/\/iiif\/3\/.*\/default\.jpg$/.test(r.url())) tiles.set(r.url(), r.status());
    });
    await page.goto(`${s.url}/osd#view=aperio-jpeg-ycbcr-bigtiff.svs`);
    const loaded = () =>
      page.waitForFunction(() => {
        const v = (window as unknown as { osd?: { world: { getItemCount(): number; getItemAt(i: number): { getFullyLoaded(): boolean } } } }).osd;
        return !!v && v.world.getItemCount() === 1 && v.world.getItemAt(0).getFullyLoaded();
      }, undefined, { timeout: 30_000 });
    await loaded();
    const before = tiles.size;
    expect(before).toBeGreaterThan(0);
    await page.evaluate(() => {
      const v = (window as unknown as { osd: { viewport: { zoomBy(f: number): void; applyConstraints(): void } } }).osd;
      v.viewport.zoomBy(2);
      v.viewport.applyConstraints();
    });
    await page.waitForFunction((n) => performance.getEntriesByType('resource').filter((e) => e.name.endsWith('default.jpg')).length > n, before, { timeout: 30_000 });
    await loaded();
    expect(tiles.size).toBeGreaterThan(before);
    for (const [u, st] of tiles) expect(st, u).toBe(200);
    const shot = await page.locator('#viewer').screenshot();
    if (process.env.IMAGEBOX_SHOT) writeFileSync(process.env.IMAGEBOX_SHOT, shot);
    const stats = await sharp(shot).stats();
    const [r, g, b] = stats.channels;
    // tissue: not blank, not black, with structure
    expect(r!.stdev + g!.stdev + b!.stdev).toBeGreaterThan(15);
    expect((r!.mean + g!.mean + b!.mean) / 3).toBeGreaterThan(40);
    await page.close();
  });
});
