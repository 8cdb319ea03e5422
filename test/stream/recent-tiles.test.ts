import { describe, expect, it } from 'vitest';
import { RecentTiles } from '../../src/stream/recent-tiles.js';

describe('RecentTiles: a viewer\'s view from random access', () => {
  it('a tile with two neighbours asked for recently has company; one neighbour or other levels do not count', () => {
    let now = 0;
    const r = new RecentTiles({ now: () => now });
    expect(r.visit(0, 10, 10)).toBe(false);
    expect(r.visit(0, 11, 10)).toBe(false); // one neighbour
    expect(r.visit(1, 12, 10)).toBe(false); // another level
    expect(r.visit(0, 12, 11)).toBe(false); // (11,10) is adjacent, (10,10) is not
    expect(r.visit(0, 11, 11)).toBe(true); // (10,10), (11,10) and (12,11)
  });

  it('counts only neighbours within the window and forgets beyond its capacity', () => {
    let now = 0;
    const r = new RecentTiles({ now: () => now, windowMs: 100, capacity: 3 });
    r.visit(0, 0, 0);
    r.visit(0, 1, 0);
    now = 50;
    expect(r.visit(0, 1, 1)).toBe(true); // (0,0) and (1,0) are neighbours, both recent
    now = 500;
    expect(r.visit(0, 0, 1)).toBe(false); // its neighbours are too old
    for (let i = 0; i < 3; i++) r.visit(0, 50 + 10 * i, 50);
    expect(r.visit(0, 1, 2)).toBe(false); // (0,1) and (1,1) were forgotten (capacity 3)
  });

  it('random tiles over a large level rarely have company (the paper workload gets no read-ahead)', () => {
    let now = 0;
    const r = new RecentTiles({ now: () => now });
    let x = 12345;
    const rnd = (n: number): number => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x % n;
    };
    let company = 0;
    for (let i = 0; i < 5000; i++) {
      now += 3; // ~330 tiles/s
      if (r.visit(0, rnd(391), rnd(235))) company++;
    }
    expect(company / 5000).toBeLessThan(0.005);
  });
});
