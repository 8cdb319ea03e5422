// Hostile and oversized files through the real server: numbers that disagree
// fail at open, huge requests stay within bounded memory, failed opens leak no
// file descriptors, and max / ^max respect the limits on every slide.
import { copyFileSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedServer } from '../../src/server/serve.js';
import { PixelPool } from '../../src/server/pixels/pool.js';
import { makeBytes } from '../helpers/origin.js';
import { buildTiff, tiledImage, type BuildEntry } from '../helpers/tiff-builder.js';
import { FIXTURES, start } from './helpers.js';

const LIM = { maxWidth: 4096, maxHeight: 4096, maxArea: 4096 * 4096 };
let s: StartedServer;
let dir: string;

/** A tiled directory that lies: the image size and tile size as given, `n` offsets. */
function lying(width: number, height: number, tile: number, n: number): Uint8Array {
  const entries: BuildEntry[] = tiledImage(16, 16, 16).map((e) => {
    if (e.tag === 256) return { tag: 256, type: 4, values: [width] };
    if (e.tag === 257) return { tag: 257, type: 4, values: [height] };
    if (e.tag === 322) return { tag: 322, type: 4, values: [tile] };
    if (e.tag === 323) return { tag: 323, type: 4, values: [tile] };
    if (e.tag === 324) return { tag: 324, type: 4, values: new Array(n).fill(8) };
    if (e.tag === 325) return { tag: 325, type: 4, values: new Array(n).fill(1) };
    return e;
  });
  return buildTiff([entries]);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'imagebox-hostile-'));
  writeFileSync(join(dir, 'claims-4M-x-3M.tif'), lying(4_000_000, 3_000_000, 256, 192));
  writeFileSync(join(dir, 'megapixel-tiles.tif'), lying(2_097_152, 1_048_576, 1_048_576, 2));
  writeFileSync(join(dir, 'not-a-tiff.svs'), makeBytes(200_000, 7));
  for (const f of ['aperio-jpeg.svs', 'generic-pyramid-jpeg.tif', 'aperio-jp2k-33005.svs', 'ome-pyramid.ome.tif', 'strip-lzw.tif', 'nonmultiple-tiles.tif']) {
    copyFileSync(join(FIXTURES, f), join(dir, f));
  }
  // one level of 9000 x 9000 (no pyramid): full/max reads it all, scaled 9000 -> 4096
  const { data } = await sharp({ create: { width: 9000, height: 9000, channels: 3, background: { r: 200, g: 120, b: 160 } } })
    .raw()
    .toBuffer({ resolveWithObject: true });
  for (let i = 0; i < data.length; i += 3 * 977) data[i] = (i / 3) % 251; // not flat, so tiles are real JPEG data
  const big = await sharp(data, { raw: { width: 9000, height: 9000, channels: 3 } })
    .tiff({ tile: true, tileWidth: 256, tileHeight: 256, compression: 'jpeg', quality: 70 })
    .toBuffer();
  writeFileSync(join(dir, 'single-level-9000.tif'), big);
  s = await start({ limits: LIM, registry: { slidesDir: dir }, pixels: { size: 1 } });
}, 120_000);
afterAll(async () => s?.close());

const get = async (p: string) => {
  const r = await fetch(s.url + p);
  return { status: r.status, body: new Uint8Array(await r.arrayBuffer()), headers: r.headers };
};

describe('hostile files', () => {
  it('a TIFF claiming 4,000,000 x 3,000,000 px with 192 tile offsets does not open: 422 E_MALFORMED', async () => {
    const r = await get('/iiif/3/claims-4M-x-3M.tif/info.json');
    expect(r.status).toBe(422);
    const e = JSON.parse(new TextDecoder().decode(r.body)).error;
    expect(e.code).toBe('E_MALFORMED');
    expect(e.message).toMatch(/192 tile offsets.*needs 183\d{6}/);
    expect((await get('/iiif/3/claims-4M-x-3M.tif/full/^max/0/default.jpg')).status).toBe(422);
  });

  it('a TIFF with 1,048,576 px tiles does not open: 413 E_TOO_LARGE (no worker is killed)', async () => {
    const r = await get('/iiif/3/megapixel-tiles.tif/full/max/0/default.jpg');
    expect(r.status).toBe(413);
    expect(JSON.parse(new TextDecoder().decode(r.body)).error.code).toBe('E_TOO_LARGE');
    expect((await get('/health')).status).toBe(200);
  });

  it('300 requests for a file that is not a TIFF leak no file descriptors', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.message);
    process.on('warning', onWarning);
    const fds = (): number => readdirSync('/proc/self/fd').length;
    for (let i = 0; i < 20; i++) await get('/iiif/3/not-a-tiff.svs/info.json'); // warm up
    const before = fds();
    for (let i = 0; i < 300; i++) {
      const r = await get('/iiif/3/not-a-tiff.svs/info.json');
      expect(r.status).toBe(422);
    }
    ;(globalThis as { gc?: () => void }).gc?.();
    const after = fds();
    process.off('warning', onWarning);
    expect(after - before).toBeLessThanOrEqual(3);
    expect(warnings.filter((w) => /file descriptor/i.test(w))).toEqual([]);
  });
});

describe('bounded memory', () => {
  it('full/max of a 9000 x 9000 single-level slide: within the limits, kernels never hold the 4500 x 4500 intermediate, memory given back after', async () => {
    const r = await get('/iiif/3/single-level-9000.tif/full/max/0/default.jpg');
    expect(r.status).toBe(200);
    const m = await sharp(r.body).metadata();
    expect(m.width! * m.height!).toBeLessThanOrEqual(LIM.maxArea);
    expect([m.width, m.height]).toEqual([4096, 4096]);
    const pool = s.box.context.pixels as PixelPool;
    const mem = pool.stats().memory;
    expect(mem.length).toBeGreaterThan(0);
    const MiB = 1024 * 1024;
    // whole: 81 MiB intermediate + 64 MiB output in kernel memory at once (plus tiles); banded: output + a band
    for (const w of mem) {
      expect(w.kernelPeakBytes).toBeLessThan(110 * MiB);
      expect(w.kernelBytes).toBeLessThan(96 * MiB); // renewed after the job when it grew past that
    }
    console.log(`full/max 9000x9000 -> 4096x4096: kernel peak ${(Math.max(...mem.map((w) => w.kernelPeakBytes)) / MiB).toFixed(0)} MiB, after ${(Math.max(...mem.map((w) => w.kernelBytes)) / MiB).toFixed(0)} MiB, worker heap ${(Math.max(...mem.map((w) => w.heapBytes)) / MiB).toFixed(0)} MiB`);
  });

  it('max and ^max respect maxWidth, maxHeight and maxArea on every slide', async () => {
    const small = { maxWidth: 900, maxHeight: 700, maxArea: 500_000 };
    const t = await start({ limits: small, registry: { slidesDir: dir }, pixels: { size: 1 } });
    try {
      for (const id of ['aperio-jpeg.svs', 'generic-pyramid-jpeg.tif', 'aperio-jp2k-33005.svs', 'ome-pyramid.ome.tif', 'strip-lzw.tif', 'nonmultiple-tiles.tif', 'single-level-9000.tif']) {
        for (const size of ['max', '^max', '^!5000,5000', '^pct:400']) {
          const r = await fetch(`${t.url}/iiif/3/${id}/full/${size}/0/default.jpg`);
          const body = new Uint8Array(await r.arrayBuffer());
          if (size.startsWith('^') && size !== '^max') {
            expect([200, 400], `${id} ${size}`).toContain(r.status);
            if (r.status === 400) continue;
          } else expect(r.status, `${id} ${size}`).toBe(200);
          const m = await sharp(body).metadata();
          expect(m.width!, `${id} ${size}`).toBeLessThanOrEqual(small.maxWidth);
          expect(m.height!, `${id} ${size}`).toBeLessThanOrEqual(small.maxHeight);
          expect(m.width! * m.height!, `${id} ${size}`).toBeLessThanOrEqual(small.maxArea);
        }
      }
    } finally {
      await t.close();
    }
  });
});
