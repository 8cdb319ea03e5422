// Hamamatsu NDPI through the server: IIIF info.json and tiles/regions of
// test/fixtures/ndpi/synthetic.ndpi against OpenSlide 3.4.1's renders.
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedServer } from '../../src/server/serve.js';
import { compare, decodeImage, loadPng } from '../helpers/pixels.js';
import { start } from './helpers.js';

const NDPI = fileURLToPath(new URL('../fixtures/ndpi/', import.meta.url));

let s: StartedServer;
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imagebox-ndpi-'));
  copyFileSync(`${NDPI}synthetic.ndpi`, join(dir, 'synthetic.ndpi'));
  s = await start({ registry: { slidesDir: dir } });
});
afterAll(async () => {
  await s?.close();
});

async function get(path: string): Promise<{ status: number; headers: Headers; body: Uint8Array }> {
  const r = await fetch(s.url + path);
  return { status: r.status, headers: r.headers, body: new Uint8Array(await r.arrayBuffer()) };
}

describe('an NDPI slide served', () => {
  it('is listed as hamamatsu; info.json has its size and levels', async () => {
    const l = (await (await fetch(`${s.url}/slides`)).json()).slides as Array<{ id: string; vendor?: string; width?: number; levels?: number }>;
    expect(l.find((x) => x.id === 'synthetic.ndpi')).toMatchObject({ vendor: 'hamamatsu', width: 2048, levels: 3 });
    const info = await get('/iiif/3/synthetic.ndpi/info.json');
    expect(info.status).toBe(200);
    const j = JSON.parse(new TextDecoder().decode(info.body));
    expect([j.width, j.height]).toEqual([2048, 1536]);
    // restart intervals (128 x 8) are advertised as 256 x 256 tiles; level 2 is one 512 x 384 tile
    expect(j.tiles).toEqual([
      { width: 256, height: 256, scaleFactors: [1, 2] },
      { width: 512, height: 384, scaleFactors: [4] },
    ]);
  });

  it("a region and a tile equal OpenSlide's read_region (PSNR >= 40 dB)", async () => {
    const region = await get('/iiif/3/synthetic.ndpi/1000,700,256,256/256,256/0/default.png');
    expect(region.status).toBe(200);
    const want = await loadPng(`${NDPI}reference/l0_mid.png`);
    expect(compare(await decodeImage(region.body), want, false).psnr).toBeGreaterThanOrEqual(40);

    // an advertised 256 x 256 tile of level 1 (scale factor 2): 16 x 32 intervals composed
    const t1 = await get('/iiif/3/synthetic.ndpi/1024,512,512,512/256,256/0/default.png');
    expect(t1.status).toBe(200);
    const l1 = await loadPng(`${NDPI}reference/l1_mid.png`); // level 1 x 350..649, y 250..449
    const got1 = await decodeImage(t1.body);
    const part = (img: { width: number; data: Uint8Array }, x: number, y: number, w: number, h: number) => {
      const out = new Uint8Array(w * h * 4);
      for (let r = 0; r < h; r++) out.set(img.data.subarray(((y + r) * img.width + x) * 4, ((y + r) * img.width + x + w) * 4), r * w * 4);
      return { width: w, height: h, data: out };
    };
    // overlap: level-1 x 512..649, y 256..449 = tile x 0..137, y 0..193; reference x 162.., y 6..
    expect(compare(part(got1, 0, 0, 138, 194), part(l1, 162, 6, 138, 194), false).psnr).toBeGreaterThanOrEqual(40);

    // one restart interval as a IIIF tile: the synthesised JPEG, as stored
    const tile = await get('/iiif/3/synthetic.ndpi/1024,704,128,8/128,8/0/default.jpg');
    expect(tile.status).toBe(200);
    const l0 = await loadPng(`${NDPI}reference/l0_mid.png`); // covers x 1000..1255, y 700..955
    const got = await decodeImage(tile.body);
    expect([got.width, got.height]).toEqual([128, 8]);
    const crop = new Uint8Array(128 * 8 * 4);
    for (let y = 0; y < 8; y++) crop.set(l0.data.subarray(((y + 4) * 256 + 24) * 4, ((y + 4) * 256 + 24 + 128) * 4), y * 128 * 4);
    expect(compare(got, { width: 128, height: 8, data: crop }, false).psnr).toBeGreaterThanOrEqual(40);
    expect(tile.headers.get('x-tile-path')).toBe('passthrough');

    // the whole slide at 512 px: level 2, OpenSlide's read_region of it
    const full = await get('/iiif/3/synthetic.ndpi/full/512,/0/default.png');
    expect(full.status).toBe(200);
    expect(compare(await decodeImage(full.body), await loadPng(`${NDPI}reference/l2_all.png`), false).psnr).toBeGreaterThanOrEqual(40);
  });
});
