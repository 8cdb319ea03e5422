// Work that must stay bounded however a slide or its origin behaves: a failed
// load of a level's offset arrays is not repeated by every next tile (it backs
// off), and a region too large to compose fails before a single tile is read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openByteSource } from '../../src/io/open-source-node.js';
import { MemorySource } from '../../src/io/memory-source.js';
import { openSlide } from '../../src/node/open-slide.js';
import { startOrigin, type Origin } from '../helpers/origin.js';
import { bigTiledSlide } from '../helpers/tiff-builder.js';

const big = bigTiledSlide(100_000, 60_000); // 92,000 tiles: 368 KB per offset array

describe('offset arrays that fail to load', () => {
  let origin: Origin;
  beforeAll(async () => {
    origin = await startOrigin();
    origin.put('/big.tif', big.bytes);
  });
  afterAll(() => origin.stop());

  it('a failed whole-array load backs off: 30 tiles cost at most 2 attempts at it, and every tile is still served', async () => {
    const slide = await openSlide(openByteSource(origin.url('/big.tif'), { http: { retries: 0 } }));
    origin.faults = { failLongerThan: 64 * 1024 }; // whole-array loads fail, block reads work
    origin.resetCounters();
    for (let i = 0; i < 30; i++) {
      const col = (i * 37) % 390;
      const row = (i * 53) % 234;
      const t = await slide.tile(0, col, row);
      expect(new DataView(t.bytes.buffer, t.bytes.byteOffset, 4).getUint32(0, true)).toBe(row * 391 + col);
    }
    const loads = origin.log.filter((l) => l.status === 500).length;
    expect(loads).toBeGreaterThanOrEqual(1);
    expect(loads).toBeLessThanOrEqual(2); // before: one multi-MB attempt per tile
    await slide.close();
  });
});

describe('regions too large to compose', () => {
  it('fail with E_TOO_LARGE before a tile is read', async () => {
    const src = new MemorySource(big.bytes);
    const slide = await openSlide(src);
    const before = src.stats().requests;
    await expect(slide.readLevelRegion(0, 0, 0, 100_000, 60_000)).rejects.toMatchObject({ code: 'E_TOO_LARGE' });
    await expect(slide.readRegion(0, 0, 0, 20_000, 20_000)).rejects.toMatchObject({ code: 'E_TOO_LARGE' });
    expect(src.stats().requests).toBe(before);
  });
});
