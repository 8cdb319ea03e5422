// A numeric tag array (TileOffsets, TileByteCounts, ...) that stays on the origin
// until a slice of it is needed. A 200,000-tile level has 1.6-3.2 MB of each:
// opening a slide must not download them, and one tile read must fetch only a
// block around its index. loadAll() brings the whole array in a few large reads
// (in the background once a level is in use), after which get() costs nothing.

import { ImageboxError } from '../../errors.js';
import type { ByteSource } from '../../io/byte-source.js';
import { EndianView } from './endian-view.js';
import { readOne } from './tag-values.js';
import { typeSize } from './tags.js';

/** Entries fetched around an index on a miss (a block of 4096 entries is 16-32 KiB). */
export const LAZY_BLOCK_ENTRIES = 4096;
/**
 * Most entries an offset array may have: 2^24 tiles is a 1,000,000 x 1,000,000 px
 * level in 256 px tiles. A hostile file (or an origin lying about its size) could
 * otherwise make us allocate gigabytes for the decoded values.
 */
export const MAX_ARRAY_ENTRIES = 1 << 24;

/** Whole-array loads go out in pieces of at most this many bytes. */
export const LAZY_LOAD_CHUNK_BYTES = 4 * 1024 * 1024;

export interface NumberArray {
  readonly length: number;
  /** The value at i (fetching its block if needed). */
  get(i: number, signal?: AbortSignal): Promise<number>;
  /** The value at i if resident, else undefined (no I/O). */
  peek(i: number): number | undefined;
  /** Fetch every entry (no-op when resident). */
  loadAll(signal?: AbortSignal): Promise<void>;
  readonly resident: boolean;
}

/** An array already in memory (small arrays, or inline values). */
export class ResidentArray implements NumberArray {
  readonly resident = true;
  constructor(private readonly values: ArrayLike<number>) {}
  get length(): number {
    return this.values.length;
  }
  async get(i: number): Promise<number> {
    return this.peek(i)!;
  }
  peek(i: number): number | undefined {
    return this.values[i];
  }
  async loadAll(): Promise<void> {}
}

export class LazyArray implements NumberArray {
  private readonly size: number;
  /** Decoded values; NaN = not fetched yet. Float64Array keeps 64-bit offsets exact. */
  private readonly values: Float64Array;
  private readonly have: Uint8Array; // one flag per block
  private readonly inflight = new Map<number, Promise<void>>();
  private all: Promise<void> | undefined;
  private residentBlocks = 0;

  constructor(
    private readonly source: ByteSource,
    /** File offset of entry 0. */
    readonly offset: number,
    readonly length: number,
    private readonly type: number,
    private readonly little: boolean,
  ) {
    const s = typeSize(type);
    if (s === undefined || ![2, 4, 8].includes(s)) {
      throw new ImageboxError('E_MALFORMED', `offset array of field type ${type}`);
    }
    if (!Number.isSafeInteger(length) || length < 0 || length > MAX_ARRAY_ENTRIES) {
      throw new ImageboxError('E_TOO_LARGE', `an offset array of ${length} entries (at most ${MAX_ARRAY_ENTRIES})`);
    }
    this.size = s;
    this.values = new Float64Array(length);
    this.have = new Uint8Array(Math.ceil(length / LAZY_BLOCK_ENTRIES));
  }

  get resident(): boolean {
    return this.residentBlocks === this.have.length;
  }

  /** Where the array's bytes lie in the file. */
  get byteRange(): { offset: number; length: number } {
    return { offset: this.offset, length: this.length * this.size };
  }

  peek(i: number): number | undefined {
    if (i < 0 || i >= this.length) return undefined;
    return this.have[Math.floor(i / LAZY_BLOCK_ENTRIES)] ? this.values[i] : undefined;
  }

  async get(i: number, signal?: AbortSignal): Promise<number> {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new ImageboxError('E_BAD_REQUEST', `index ${i} outside array of ${this.length}`);
    }
    const block = Math.floor(i / LAZY_BLOCK_ENTRIES);
    if (!this.have[block]) await this.fetchBlocks(block, block + 1, signal);
    return this.values[i]!;
  }

  loadAll(signal?: AbortSignal): Promise<void> {
    if (this.resident) return Promise.resolve();
    if (!this.all) {
      const blocksPerChunk = Math.max(1, Math.floor(LAZY_LOAD_CHUNK_BYTES / (LAZY_BLOCK_ENTRIES * this.size)));
      const jobs: Promise<void>[] = [];
      for (let b = 0; b < this.have.length; b += blocksPerChunk) {
        jobs.push(this.fetchBlocks(b, Math.min(this.have.length, b + blocksPerChunk), signal));
      }
      this.all = Promise.all(jobs).then(
        () => undefined,
        (e) => {
          this.all = undefined;
          throw e;
        },
      );
    }
    return this.all;
  }

  /** Fetch blocks [from, to) that are not resident, as one read (the scheduler merges neighbours). */
  private fetchBlocks(from: number, to: number, signal?: AbortSignal): Promise<void> {
    // Only fetch the span of missing blocks; wait for blocks already in flight.
    while (from < to && this.have[from]) from++;
    while (to > from && this.have[to - 1]) to--;
    if (from >= to) return Promise.resolve();
    const key = from * 0x100000 + to;
    const pending = this.inflight.get(key);
    if (pending) return pending;
    const first = from * LAZY_BLOCK_ENTRIES;
    const last = Math.min(this.length, to * LAZY_BLOCK_ENTRIES);
    const p = this.source
      .read([{ offset: this.offset + first * this.size, length: (last - first) * this.size }], signal)
      .then(([bytes]) => {
        const v = new EndianView(bytes!, this.little);
        for (let i = first; i < last; i++) this.values[i] = readOne(v, this.type, i - first);
        for (let b = from; b < to; b++) {
          if (!this.have[b]) {
            this.have[b] = 1;
            this.residentBlocks++;
          }
        }
      })
      .finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }
}
