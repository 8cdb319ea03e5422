// Colour management in the viewer: a DICOM slide whose Optical Path carries an
// ICC profile (ProPhoto RGB) is drawn converted to sRGB by the browser (the
// profile spliced into its JPEG tiles), matching LittleCMS's conversion of the
// same frame; without the conversion it would be ~25 dB away.
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedServer } from '../../src/server/serve.js';
import { haveChromium, launchChromium } from '../helpers/chromium.js';
import { loadPng } from '../helpers/pixels.js';
import { psnr, start } from '../server/helpers.js';
import { WEB, newPage, openViewer, settle, snapshot } from './helpers.js';

const ICC = fileURLToPath(new URL('../fixtures/dicom/icc/', import.meta.url));
const W = 800;
const H = 600;
let browser: Browser;
let s: StartedServer;

beforeAll(async () => {
  if (!haveChromium) return;
  const dir = mkdtempSync(join(tmpdir(), 'imagebox-icc-view-'));
  cpSync(`${ICC}prophoto.dcm`, join(dir, 'prophoto', 'frame.dcm'));
  s = await start({ webDir: WEB, registry: { slidesDir: dir } });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await s?.close();
});

/** The 256 x 192 slide drawn 1:1 in the middle of the canvas. */
function crop(shot: { width: number; data: Uint8Array }): Uint8Array {
  const out = new Uint8Array(256 * 192 * 4);
  const x0 = W / 2 - 128;
  const y0 = H / 2 - 96;
  for (let y = 0; y < 192; y++) out.set(shot.data.subarray(((y0 + y) * shot.width + x0) * 4, ((y0 + y) * shot.width + x0 + 256) * 4), y * 256 * 4);
  return out;
}

describe.skipIf(!haveChromium)('the viewer colour-manages a slide with an ICC profile', () => {
  it('the canvas matches LittleCMS ProPhoto -> sRGB of the frame (PSNR >= 35 dB), not the unconverted samples', async () => {
    const { page, console: c } = await newPage(browser, W, H);
    await openViewer(page, `${s.url}/view/prophoto?renderer=2d`);
    await settle(page, { x: 128, y: 96, zoom: 1 });
    const got = crop(await snapshot(page));
    const managed = psnr(got, (await loadPng(`${ICC}frame-srgb.png`)).data);
    const raw = psnr(got, (await loadPng(`${ICC}frame-raw.png`)).data);
    console.log(`ICC in the viewer: PSNR ${managed.toFixed(1)} dB against LittleCMS's sRGB, ${raw.toFixed(1)} dB against the unconverted frame`);
    expect(managed).toBeGreaterThanOrEqual(35);
    expect(raw).toBeLessThan(30);
    expect(c.errors.join('\n')).toBe('');
    await page.context().close();
  });
});
