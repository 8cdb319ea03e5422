// Which tiles count as missing. A zero byte count always does. For Aperio,
// OpenSlide also marks missing every tile of the next (lower-resolution) level
// that "concatenates" a missing tile, level by level ("tiles concatenating a
// missing tile are sometimes corrupt"), and re-renders all of them from the
// level above. The next-level tile of (col, row) is (col / cx, row / cy) with
// cx = round(tilesAcross / nextTilesAcross), cy likewise.
//
// That needs the byte counts of the levels above the one being read: they are
// loaded (once, lazily) only when a level > 0 of an Aperio slide is read.

import type { NumberArray } from '../formats/tiff/lazy-array.js';

export interface GridInfo {
  cols: number;
  rows: number;
  byteCounts: NumberArray;
}

export class AperioMissingTiles {
  /** Per level: tile indices that count as missing (own zeros + propagated). */
  private readonly sets: Promise<Set<number>>[] = [];

  constructor(private readonly grids: readonly GridInfo[]) {}

  async isMissing(level: number, col: number, row: number, byteCount: number): Promise<boolean> {
    if (byteCount === 0) return true;
    if (level === 0) return false;
    const set = await this.missingSet(level);
    return set.has(row * this.grids[level]!.cols + col);
  }

  private missingSet(level: number): Promise<Set<number>> {
    let p = this.sets[level];
    if (!p) {
      p = this.compute(level);
      this.sets[level] = p;
      p.catch(() => {
        if (this.sets[level] === p) delete this.sets[level];
      });
    }
    return p;
  }

  private async compute(level: number): Promise<Set<number>> {
    const g = this.grids[level]!;
    const own = zeros(g);
    if (level === 0) return own;
    const [ownSet, prevSet] = await Promise.all([own, this.missingSet(level - 1)]);
    const prev = this.grids[level - 1]!;
    const cx = Math.round(prev.cols / g.cols);
    const cy = Math.round(prev.rows / g.rows);
    const set = new Set(ownSet);
    for (const i of prevSet) {
      const col = Math.floor((i % prev.cols) / cx);
      const row = Math.floor(Math.floor(i / prev.cols) / cy);
      set.add(row * g.cols + col);
    }
    return set;
  }
}

async function zeros(g: GridInfo): Promise<Set<number>> {
  await g.byteCounts.loadAll();
  const set = new Set<number>();
  const n = Math.min(g.byteCounts.length, g.cols * g.rows);
  for (let i = 0; i < n; i++) if (g.byteCounts.peek(i) === 0) set.add(i);
  return set;
}
