// Round trips, counted at a real origin: opening a slide over HTTP takes at most
// 3 requests; one tile after open at most 2 more (offset slice, then tile bytes);
// once the level's offset arrays are resident, exactly 1. (geotiff.js 3.0.5 spends
// 3 serial requests on every random tile of a large SVS.)
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openByteSource } from '../../src/io/open-source-node.js';
import { openSlide } from '../../src/slide/open-slide.js';
import { presentFixtures } from '../helpers/fixtures.js';
import { startOrigin, type Origin } from '../helpers/origin.js';
import { HttpFixtures } from '../helpers/transports.js';
import { bigTiledSlide } from '../helpers/tiff-builder.js';

const openable = presentFixtures().filter((f) => f.file !== 'openslide/unopenable.tiff');

for (const multi of [true, false]) {
  describe(`fixtures over HTTP (${multi ? 'multi-range' : 'single-range'} origin)`, () => {
    const http = new HttpFixtures('http', multi ? {} : { noMultiRange: 'first' });
    beforeAll(() => http.start());
    afterAll(() => http.stop());

    for (const f of openable) {
      it(`${f.file}: open <= 3 requests, first tile <= 2 more, then 1 per tile`, async () => {
        const url = http.url(f.file);
        const origin = http.origin!;
        origin.resetCounters();
        // Background warming off, so only the requests on the tile's own path are counted.
        const slide = await openSlide(openByteSource(url), { backgroundWarm: false });
        const openRequests = origin.requests;
        expect(openRequests).toBeLessThanOrEqual(3);
        expect(openRequests).toBeGreaterThanOrEqual(1);
        // Two round trips: the head (which also tells the size), then every IFD still
        // missing plus their out-of-line values in one (multi-range) request.
        if (multi) expect(openRequests).toBeLessThanOrEqual(2);

        const l = slide.levels[0]!;
        // A tile that is not empty (missing tiles cost no tile read).
        const pick = async (c: number, r: number) => {
          const before = origin.requests;
          const t = await slide.tile(0, c, r);
          return { t, cost: origin.requests - before };
        };
        const first = await pick(Math.floor(l.cols / 2), Math.floor(l.rows / 2));
        expect(first.cost).toBeLessThanOrEqual(2);
        await slide.warmLevel(0);
        // Once the arrays are resident: one request per tile at most (none when the
        // tile's bytes already came with a speculative read; exactly-one is checked on
        // the big slide below, where they cannot have).
        const others = [
          [0, 0],
          [l.cols - 1, l.rows - 1],
        ].filter(([c, r]) => !(c === Math.floor(l.cols / 2) && r === Math.floor(l.rows / 2)));
        for (const [c, r] of others) {
          const { t, cost } = await pick(c!, r!);
          expect(cost).toBeLessThanOrEqual(t.missing ? 0 : 1);
        }
        await slide.close();
      });
    }
  });
}

describe('a slide with 100,000 x 60,000 px of 256 px tiles (92,000 tiles, 368 KB offset arrays)', () => {
  let origin: Origin;
  const { bytes, tiles } = bigTiledSlide(100_000, 60_000, 256);
  beforeAll(async () => {
    origin = await startOrigin();
    origin.put('/big.tif', bytes);
  });
  afterAll(() => origin.stop());

  it('opens without downloading the offset arrays; a tile costs 2 round trips, then 1 once they are resident', async () => {
    expect(tiles).toBe(391 * 235);
    const slide = await openSlide(openByteSource(origin.url('/big.tif')), { backgroundWarm: false });
    expect(origin.requests).toBeLessThanOrEqual(3);
    // The arrays are 2 x 368 KB; open fetched far less than one of them.
    expect(origin.bytesSent).toBeLessThan(200 * 1024);
    const l = slide.levels[0]!;
    expect([l.cols, l.rows]).toEqual([391, 235]);

    origin.resetCounters();
    const idx = 20 * 391 + 300;
    const t = await slide.tile(0, 300, 20);
    // The tile's payload is its own index: the right offset was used.
    expect(new DataView(t.bytes.buffer, t.bytes.byteOffset, 4).getUint32(0, true)).toBe(idx);
    expect(origin.requests).toBeLessThanOrEqual(2);
    // Only blocks of the arrays came with it (two 16 KiB blocks plus the 4-byte tile).
    expect(origin.bytesSent).toBeLessThan(64 * 1024);

    origin.resetCounters();
    await slide.warmLevel(0);
    // The whole arrays (2 x 368 KB) come in few large requests.
    expect(origin.requests).toBeLessThanOrEqual(2);
    origin.resetCounters();
    // Tiles whose bytes no speculative read brought (the open's tail probe covers the
    // last 256 KiB of the file, i.e. tile indices above ~26,000): exactly 1 request each.
    for (const [c, r] of [
      [0, 0],
      [17, 10],
      [100, 50],
    ] as const) {
      const before = origin.requests;
      const u = await slide.tile(0, c, r);
      expect(new DataView(u.bytes.buffer, u.bytes.byteOffset, 4).getUint32(0, true)).toBe(r * 391 + c);
      expect(origin.requests - before).toBe(1);
    }
    await slide.close();
  });

  it('after the first tile of a level, its arrays load in the background by themselves', async () => {
    const slide = await openSlide(openByteSource(origin.url('/big.tif')));
    await slide.tile(0, 5, 5);
    expect(slide.levelResident(0)).toBe(false);
    // Nobody asks for the arrays: they arrive by themselves.
    await vi.waitFor(() => expect(slide.levelResident(0)).toBe(true), { timeout: 10_000, interval: 5 });
    origin.resetCounters();
    const u = await slide.tile(0, 9, 60);
    expect(new DataView(u.bytes.buffer, u.bytes.byteOffset, 4).getUint32(0, true)).toBe(60 * 391 + 9);
    expect(origin.requests).toBe(1);
    await slide.close();
  });
});
