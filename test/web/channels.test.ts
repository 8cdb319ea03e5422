// The viewer's channel controls on a multi-channel OME-TIFF (3 channels uint16),
// in Debian's chromium, streaming from the server and in direct mode: the canvas
// shows the composite of tifffile's values computed here (level 1 drawn 1:1);
// turning a channel off, changing a colour or a contrast limit in the panel
// changes the canvas to the composite of the new display.
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedServer } from '../../src/server/serve.js';
import { haveChromium, launchChromium } from '../helpers/chromium.js';
import { OME_CHANNELS_DIR, reference, referenceComposite } from '../helpers/ome-channels.js';
import { startOrigin, type Origin } from '../helpers/origin.js';
import { psnr, start } from '../server/helpers.js';
import { WEB, newPage, openViewer, putViewer, settle, snapshot, type Console } from './helpers.js';

const FILE = 'fluo-3c-u16.ome.tif';
// level 1 (260 x 150) fills the page at zoom 0.5
const W = 260;
const H = 150;
const VIEW = { x: 260, y: 150, zoom: 0.5 };
const ref1 = reference(FILE, 'level1', 3, 16);

let browser: Browser;
let s: StartedServer;
let origin: Origin;
let pages: Origin;

beforeAll(async () => {
  if (!haveChromium) return;
  s = await start({ webDir: WEB, registry: { slidesDir: OME_CHANNELS_DIR } });
  origin = await startOrigin();
  origin.cors = true;
  origin.put(`/${FILE}`, new Uint8Array(readFileSync(OME_CHANNELS_DIR + FILE)));
  pages = await startOrigin();
  putViewer(pages);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await s?.close();
  await origin?.stop();
  await pages?.stop();
});

type Display = Array<{ index: number; color: [number, number, number]; limits: [number, number] }>;

function composite(display: Display): Uint8Array {
  return referenceComposite(
    display.map((d) => ref1[d.index]!),
    display,
    W * H,
  );
}

async function shown(page: Page): Promise<Display> {
  return page.evaluate(() => (window as unknown as { imagebox: { viewer: { getChannels(): Display } } }).imagebox.viewer.getChannels());
}

/** Wait until the viewer shows `display` and every tile is drawn. */
async function settled(page: Page, display: Display): Promise<void> {
  await page.waitForFunction((want) => JSON.stringify((window as unknown as { imagebox: { viewer: { getChannels(): unknown } } }).imagebox.viewer.getChannels()) === want, JSON.stringify(display), { timeout: 20_000 });
  await settle(page, VIEW);
}

async function close(page: Page, c: Console): Promise<void> {
  await page.context().close();
  expect(c.errors.join('\n'), 'console errors').toBe('');
}

describe.skipIf(!haveChromium)('channel controls in chromium', () => {
  for (const mode of ['stream', 'direct'] as const) {
    it(`${mode}: the composite on the canvas; a channel off, a colour and a limit changed in the panel change it to the new composite`, async () => {
      const { page, console: c } = await newPage(browser, W, H);
      await openViewer(page, mode === 'stream' ? `${s.url}/view/${FILE}` : `${pages.url('/app/viewer.html')}?url=${encodeURIComponent(origin.url(`/${FILE}`))}`);
      expect(await page.evaluate(() => (window as unknown as { imagebox: { viewer: { mode: string } } }).imagebox.viewer.mode)).toBe(mode);
      const channels = await page.evaluate(() => (window as unknown as { imagebox: { viewer: { channels: Array<{ name: string }> } } }).imagebox.viewer.channels);
      expect(channels.map((ch) => ch.name)).toEqual(['DAPI', 'FITC', 'TRITC']);
      const initial = await shown(page);
      expect(initial.map((d) => d.color)).toEqual([
        [0, 0, 255],
        [0, 255, 0],
        [255, 0, 0],
      ]);
      await settle(page, VIEW);
      const first = await snapshot(page);
      expect([first.width, first.height]).toEqual([W, H]);
      expect(psnr(first.data, composite(initial))).toBeGreaterThanOrEqual(40);

      // the panel: TRITC off
      await page.locator('.ib-channel[data-channel="2"] .ib-ch-on').setChecked(false, { force: true });
      const noRed = initial.slice(0, 2);
      await settled(page, noRed);
      const second = await snapshot(page);
      expect(psnr(second.data, composite(noRed))).toBeGreaterThanOrEqual(40);
      expect(psnr(second.data, first.data)).toBeLessThan(30);

      // DAPI in white with a narrower window
      const dapi = page.locator('.ib-channel[data-channel="0"]');
      await dapi.locator('.ib-ch-color').fill('#ffffff');
      await dapi.locator('.ib-ch-color').dispatchEvent('change');
      const hi = initial[0]!.limits[0] + 2000;
      await dapi.locator('.ib-ch-hi').fill(String(hi));
      await dapi.locator('.ib-ch-hi').dispatchEvent('change');
      const changed: Display = [{ index: 0, color: [255, 255, 255], limits: [initial[0]!.limits[0], hi] }, noRed[1]!];
      await settled(page, changed);
      const third = await snapshot(page);
      expect(psnr(third.data, composite(changed))).toBeGreaterThanOrEqual(40);
      expect(psnr(third.data, second.data)).toBeLessThan(30);
      await close(page, c);
    });
  }
});
