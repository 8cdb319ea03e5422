// Reading ahead. For a stream: a batch of wanted tiles becomes one batch of
// reads, all started in the same tick, so the range scheduler sees them
// together: tiles near each other in the file and the offset-array blocks they
// need go out as one origin request (or one multi-range request). For plain
// IIIF clients (OpenSeadragon, Mirador) on remote slides: the neighbours of a
// tile they asked for are read into the span cache in the background, so the
// next request of their pan finds them there. Isomorphic.
import type { EncodedTile } from '../contracts/tile.js';
import type { ByteRange } from '../io/byte-source.js';
import type { Slide } from '../slide/slide.js';

/** The stored tiles of `batch`, read together (one coalesced batch). */
export function readTiles(slide: Slide, batch: readonly { level: number; col: number; row: number }[], signal?: AbortSignal): Promise<EncodedTile>[] {
  // every tile() call starts in this tick: their offset lookups share blocks, their reads share spans
  return batch.map((w) => slide.tile(w.level, w.col, w.row, signal));
}

/** A source that can read ranges into its cache in the background (RangeScheduler). */
interface PrefetchingSource {
  prefetch(ranges: ByteRange[]): void;
}

function canPrefetch(s: unknown): s is PrefetchingSource {
  return typeof (s as Partial<PrefetchingSource>).prefetch === 'function';
}

export interface NeighbourPrefetchOptions {
  /** Tiles around a requested one read ahead (default 1: its 8 neighbours). */
  radius?: number;
}

/**
 * After a tile of a remote slide was served, queue its neighbours' bytes as
 * low-priority reads (they never delay a foreground read). Only tiles whose
 * offsets are already known are read (the level's arrays load in the
 * background after its first tile); returns how many ranges were queued.
 */
export function prefetchNeighbours(slide: Slide, level: number, col: number, row: number, o: NeighbourPrefetchOptions = {}): number {
  const source = slide.source;
  if (!canPrefetch(source)) return 0;
  const l = slide.levels[level];
  if (!l) return 0;
  const r = o.radius ?? 1;
  const ranges: ByteRange[] = [];
  for (let dr = -r; dr <= r; dr++) {
    for (let dc = -r; dc <= r; dc++) {
      if (dc === 0 && dr === 0) continue;
      const c = col + dc;
      const w = row + dr;
      if (c < 0 || w < 0 || c >= l.cols || w >= l.rows) continue;
      const range = slide.tileByteRange(level, c, w);
      if (range) ranges.push(range);
    }
  }
  if (ranges.length > 0) source.prefetch(ranges);
  return ranges.length;
}
