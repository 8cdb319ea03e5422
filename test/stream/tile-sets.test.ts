// Which tiles a view wants, in which order: pure geometry.
import { describe, expect, it } from 'vitest';
import { keyParts, prefetchTiles, Tier, tileKey, visibleTiles, type LevelGrid } from '../../src/stream/tile-sets.js';

const grid = (w: number, h: number, t = 256, downsample = 1): LevelGrid => ({ width: w, height: h, tileWidth: t, tileHeight: t, cols: Math.ceil(w / t), rows: Math.ceil(h / t), downsample });
const levels = [grid(8000, 6000), grid(2000, 1500, 256, 4), grid(500, 375, 256, 16)];

describe('tile sets', () => {
  it('keys round-trip for large grids', () => {
    for (const [l, c, r] of [[0, 0, 0], [3, 16_000_000, 9], [31, 1, 16_777_215]]) expect(keyParts(tileKey(l!, c!, r!))).toEqual({ level: l, col: c, row: r });
  });
  it('visible tiles: all that intersect, clipped to the level, centre first', () => {
    const v = visibleTiles(levels[0]!, 0, { x: 1000, y: 1000, width: 1920, height: 1080 });
    expect(v.length).toBe(9 * 6); // cols 3-11, rows 3-8
    expect(v.every((w) => w.tier === Tier.Visible)).toBe(true);
    const centre = v[0]!;
    expect([centre.col, centre.row]).toEqual([7, 6]);
    const d = (w: { col: number; row: number }) => Math.hypot((w.col + 0.5) * 256 - 1960, (w.row + 0.5) * 256 - 1540);
    for (let i = 1; i < v.length; i++) expect(d(v[i]!)).toBeGreaterThanOrEqual(d(v[i - 1]!) - 1e-9);
    expect(visibleTiles(levels[0]!, 0, { x: -500, y: -500, width: 600, height: 600 }).map((w) => [w.col, w.row])).toEqual([[0, 0]]);
    expect(visibleTiles(levels[0]!, 0, { x: 9000, y: 0, width: 100, height: 100 })).toEqual([]);
  });
  it('prefetch: the ring reaches further along the motion, ahead first; then finer and coarser', () => {
    const view = { x: 2560, y: 2560, width: 1280, height: 768 }; // cols 10-14, rows 10-12
    const still = prefetchTiles(levels, 1, { x: 640, y: 640, width: 640, height: 512 }, 0, 0);
    const moving = prefetchTiles(levels, 0, view, 1200, 0);
    const ring = moving.filter((w) => w.tier === Tier.Ring);
    expect(Math.max(...ring.map((w) => w.col))).toBe(14 + 1 + 3); // 1 ring + 3 ahead (1200 px/s x 0.5 s)
    expect(Math.min(...ring.map((w) => w.col))).toBe(9); // 1 behind
    expect(ring[0]!.col).toBeGreaterThan(14); // the first is ahead of the motion
    expect(moving.filter((w) => w.tier === Tier.Finer)).toEqual([]); // level 0 has no finer level
    expect(moving.filter((w) => w.tier === Tier.Coarser).every((w) => w.level === 1)).toBe(true);
    const finer = still.filter((w) => w.tier === Tier.Finer);
    expect(finer.length).toBeGreaterThan(0);
    expect(finer.every((w) => w.level === 0)).toBe(true);
    // the finer tiles sit under the view's centre (level 1 centre 960,896 -> level 0 3840,3584)
    for (const w of finer) expect(Math.abs((w.col + 0.5) * 256 - 3840)).toBeLessThan(1400);
    expect(still.filter((w) => w.tier === Tier.Coarser).every((w) => w.level === 2)).toBe(true);
  });
  it('prefetch: a fast pan of a large view reaches half the view ahead (a reader pans about half a view), and the ring may hold as many tiles as the view', () => {
    const view = { x: 2560, y: 2560, width: 3200, height: 1800 }; // cols 10-22, rows 10-17: 13 x 8 = 104 visible
    const ring = prefetchTiles(levels, 0, view, 100_000, 0).filter((w) => w.tier === Tier.Ring);
    expect(Math.max(...ring.map((w) => w.col))).toBe(22 + 1 + Math.ceil(1600 / 256)); // half the view (7 tiles) beyond the 1-tile ring
    // every tile of the next half-view pan to the right is in the ring
    const next = visibleTiles(levels[0]!, 0, { ...view, x: view.x + 1600 }).filter((w) => w.col > 22);
    const have = new Set(ring.map((w) => w.key));
    expect(next.every((w) => have.has(w.key))).toBe(true);
    expect(ring.length).toBeGreaterThan(64);
    expect(ring.length).toBeLessThanOrEqual(104);
    // slow motion still reaches only what half a second of it covers
    const slow = prefetchTiles(levels, 0, view, 600, 0).filter((w) => w.tier === Tier.Ring);
    expect(Math.max(...slow.map((w) => w.col))).toBe(22 + 1 + 2);
  });
});
