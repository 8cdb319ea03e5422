// The viewer and the slide list in chromium against a server started with
// access control on: a page opened with a token (/t/<token>/view/..., or
// ?token=) carries it to the JSON API, the stream and the IIIF thumbnails,
// and draws what the server renders; without one nothing is shown.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessControl } from '../../src/server/access.js';
import type { StartedServer } from '../../src/server/serve.js';
import { haveChromium, launchChromium } from '../helpers/chromium.js';
import { psnr, start } from '../server/helpers.js';
import { WEB, iiifView, newPage, openViewer, settle, snapshot, stats } from './helpers.js';

const W = 800;
const H = 600;
const SLIDE = 'aperio-jpeg.svs';
const access = new AccessControl('the viewer test secret, thirty-two bytes or more');
let browser: Browser;
let s: StartedServer;
let tSlide: string;
let tAll: string;

beforeAll(async () => {
  if (!haveChromium) return;
  s = await start({ webDir: WEB, access });
  tSlide = await access.sign(SLIDE, 3600);
  tAll = await access.sign('*', 3600);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await s?.close();
});

describe.skipIf(!haveChromium)('the viewer with --require-token', () => {
  for (const how of ['path', 'query'] as const)
    it(`a token in the page URL (${how === 'path' ? '/t/<token>/view/...' : '/view/...?token='}): the stream opens, the canvas matches the IIIF render (PSNR >= 30 dB), no request refused`, async () => {
      const { page, console: c } = await newPage(browser, W, H);
      await openViewer(page, how === 'path' ? `${s.url}/t/${tSlide}/view/${SLIDE}` : `${s.url}/view/${SLIDE}?token=${tSlide}`);
      expect((await stats(page)).mode).toBe('stream');
      const v = { x: 4000, y: 3000, zoom: 0.25 };
      await settle(page, v);
      const p = psnr((await snapshot(page)).data, await iiifView(`${s.url}/t/${tSlide}`, SLIDE, v, W, H));
      console.log(`viewer with a token (${how}): PSNR ${p.toFixed(1)} dB against /iiif/3`);
      expect(p).toBeGreaterThanOrEqual(30);
      expect(c.errors.join('\n')).toBe('');
      await page.context().close();
    });

  it('the slide list opened at /t/<token>/ lists and shows thumbnails with it; without a token the viewer says it cannot open the slide', async () => {
    // tall enough that every lazy thumbnail is in view and asked for
    const { page, console: c } = await newPage(browser, 1400, 4000);
    const statuses: number[] = [];
    const seen: string[] = [];
    page.on('response', (r) => {
      if (r.url().includes('/iiif/')) {
        statuses.push(r.status());
        seen.push(`${r.status()} ${r.url().replace(/\/t\/[^/]+/, '/t/…')}`);
      }
    });
    await page.goto(`${s.url}/t/${tAll}/`);
    await page.waitForFunction(() => document.querySelectorAll('.slide img').length > 3);
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('.slide img')].slice(0, 4).every((i) => i.complete && i.naturalWidth > 0));
    const links = await page.$$eval('.slide a.open', (as) => (as as HTMLAnchorElement[]).map((a) => a.getAttribute('href')));
    expect(links.length).toBeGreaterThan(3);
    for (const l of links) expect(l).toMatch(new RegExp(`^/t/${tAll.replace(/[.*]/g, '\\$&')}/view/`));
    expect(statuses.length).toBeGreaterThan(3);
    // every thumbnail is 200 with the token, except the fixture whose tiles are damaged (OpenSlide's unreadable.svs: 422 E_CORRUPT_TILE), when the lazy list has asked for it
    const damaged = /openslide%2Funreadable\.svs/;
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('.slide img')].every((i) => i.complete));
    expect(seen.every((x) => x.startsWith('200 ') || (x.startsWith('422 ') && damaged.test(x))), seen.join('\n')).toBe(true);
    expect(seen.filter((x) => damaged.test(x))).toEqual([expect.stringMatching(/^422 /)]);
    expect(seen.filter((x) => x.startsWith('200 ')).length).toBeGreaterThan(10);
    expect(c.errors.filter((e) => !(e.startsWith('422 ') && damaged.test(e)) && !/status of 422/.test(e)).join('\n')).toBe('');
    await page.context().close();

    const bare = await newPage(browser, W, H);
    await bare.page.goto(`${s.url}/view/${SLIDE}`);
    await bare.page.waitForFunction(() => document.querySelector('.ib-message')?.textContent?.includes('Cannot open'), undefined, { timeout: 20_000 });
    await bare.page.context().close();
  });
});
