// A level's tile offsets or byte counts (one entry per grid cell) over the
// frame tables of the instances that fill it, for levels where some frames are
// found on demand by a fragment walk (frames.ts): the Slide reads it like a
// TIFF's lazy TileOffsets (peek without I/O, get walks to the frame, loadAll
// walks to the end), so a tile costs the walk up to its frame, not the open.
// Cells no frame covers are 0 (a missing tile). Isomorphic.
import type { NumberArray } from '../tiff/lazy-array.js';
import type { FrameTable } from './frames.js';

export interface CellSource {
  table: FrameTable;
  /** Where the instance's file starts in the joined address space. */
  base: number;
}

export class CellArray implements NumberArray {
  constructor(
    private readonly sources: readonly CellSource[],
    /** Per cell: index into sources, or -1 for a cell no frame covers. */
    private readonly cellSource: Int32Array,
    /** Per cell: the frame of that source. */
    private readonly cellFrame: Int32Array,
    private readonly what: 'offsets' | 'lengths',
  ) {}

  get length(): number {
    return this.cellSource.length;
  }

  get resident(): boolean {
    return this.sources.every((s) => s.table.walker === undefined || s.table.walker.done);
  }

  peek(i: number): number | undefined {
    const k = this.cellSource[i];
    if (k === undefined) return undefined;
    if (k < 0) return 0;
    const s = this.sources[k]!;
    const v = (this.what === 'offsets' ? s.table.offsets : s.table.lengths)[this.cellFrame[i]!]!;
    if (Number.isNaN(v)) return undefined;
    return this.what === 'offsets' ? s.base + v : v;
  }

  async get(i: number): Promise<number> {
    const v = this.peek(i);
    if (v !== undefined) return v;
    const s = this.sources[this.cellSource[i]!]!;
    await s.table.walker?.upTo(this.cellFrame[i]!);
    return this.peek(i)!;
  }

  async loadAll(): Promise<void> {
    await Promise.all(this.sources.map((s) => s.table.walker?.upTo(s.table.offsets.length - 1)));
  }
}
