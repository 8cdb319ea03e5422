// The one bounded cache of open slides (main thread and workers): evicted
// slides close as soon as nobody uses them (no timers), in-use ones when their
// lease is released, and close() closes them all. Real slides from fixtures.
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSlide } from '../../src/node/open-slide.js';
import { SlideCache } from '../../src/server/slide-cache.js';
import { SlideRegistry } from '../../src/server/registry.js';
import type { Slide } from '../../src/slide/slide.js';
import { fixturePath } from '../helpers/fixtures.js';

function counting(): { open: (path: string) => () => Promise<Slide>; closed: Set<Slide>; opened: Slide[] } {
  const closed = new Set<Slide>();
  const opened: Slide[] = [];
  return {
    closed,
    opened,
    open: (path) => async () => {
      const s = await openSlide(path);
      const close = s.close.bind(s);
      s.close = async () => {
        closed.add(s);
        await close();
      };
      opened.push(s);
      return s;
    },
  };
}

describe('SlideCache', () => {
  it('evicted slides are closed at once when idle, at release when in use, and close() closes the rest', async () => {
    const c = counting();
    const cache = new SlideCache(2);
    const a = await cache.acquire('a', c.open(fixturePath('aperio-jpeg.svs')));
    a.release();
    const b = await cache.acquire('b', c.open(fixturePath('generic-pyramid-jpeg.tif')));
    // b stays in use
    const d = await cache.acquire('d', c.open(fixturePath('strip-lzw.tif')));
    d.release();
    // a was the least recently used idle slide: closed now, not later
    expect(c.closed.has(a.slide)).toBe(true);
    expect(cache.size).toBe(2);
    const e = await cache.acquire('e', c.open(fixturePath('nonmultiple-tiles.tif')));
    // only b (in use) and d (idle) were candidates: d, idle, went first
    expect(c.closed.has(d.slide)).toBe(true);
    expect(c.closed.has(b.slide)).toBe(false);
    const f = await cache.acquire('f', c.open(fixturePath('ome-pyramid.ome.tif')));
    // now everything in the cache is in use: b, the oldest, is retired but still open while leased
    expect(c.closed.has(b.slide)).toBe(false);
    await b.slide.tile(0, 0, 0); // still readable
    b.release();
    expect(c.closed.has(b.slide)).toBe(true);
    await cache.close();
    expect(c.closed.has(e.slide)).toBe(true);
    expect(c.closed.has(f.slide)).toBe(true);
    expect(c.opened.every((s) => c.closed.has(s))).toBe(true);
  });

  it('invalidate() drops a key: the next acquire opens afresh; the old slide closes when released', async () => {
    const c = counting();
    const cache = new SlideCache(4);
    const a = await cache.acquire('a', c.open(fixturePath('aperio-jpeg.svs')));
    cache.invalidate('a');
    expect(c.closed.has(a.slide)).toBe(false);
    const a2 = await cache.acquire('a', c.open(fixturePath('aperio-jpeg.svs')));
    expect(a2.slide).not.toBe(a.slide);
    a.release();
    expect(c.closed.has(a.slide)).toBe(true);
    a2.release();
    await cache.close();
  });

  it('a registry under churn keeps at most maxOpen slides open and closes every other one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'imagebox-churn-'));
    for (let i = 0; i < 24; i++) copyFileSync(fixturePath('generic-pyramid-jpeg.tif'), join(dir, `s${i}.tif`));
    const { open, opened, closed } = counting();
    const reg = new SlideRegistry({ slidesDir: dir, maxOpen: 4, open: (spec) => open(spec.location)() });
    for (let round = 0; round < 3; round++) {
      await Promise.all(Array.from({ length: 24 }, (_, i) => reg.use(`s${i}.tif`, (_e, s) => s.tile(0, 0, 0))));
      expect(reg.openCount()).toBeLessThanOrEqual(4);
    }
    expect(opened.length - closed.size).toBeLessThanOrEqual(4);
    await reg.close();
    expect(closed.size).toBe(opened.length);
  });
});
