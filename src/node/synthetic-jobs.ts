// The per-tile work of the synthetic slide writer, the same on a worker thread
// (synthetic-slide-worker.ts) and in the calling thread: render a level-0 tile
// (or take the pixels of a lower level's tile), encode it as JPEG, split the
// stream into JPEGTables + abbreviated tile, and area-reduce the pixels by 4
// for the next level down.

import { encodeJpeg } from '../codecs/jpeg-encode.js';
import { splitJpegTables } from '../codecs/jpeg-tables.js';
import type { Kernels } from '../codecs/kernels.js';
import { reduce4, TissueField } from './synthetic-tissue.js';

export interface JobInit {
  seed: number;
  slideWidth: number;
  slideHeight: number;
  tile: number;
  quality: number;
}

export type TileJob =
  /** Render the level-0 tile whose top-left pixel is (x, y). */
  | { kind: 'render'; x: number; y: number; reduce: boolean }
  /** Encode given tile pixels (tile x tile RGBA). */
  | { kind: 'encode'; rgba: Uint8Array; reduce: boolean };

export interface TileResult {
  /** Abbreviated JPEG stream (no tables). */
  stream: Uint8Array;
  /** The JPEGTables it needs. */
  tables: Uint8Array;
  /** The pixels reduced 4x (tile/4 square RGBA), when asked. */
  reduced: Uint8Array | undefined;
  glass: boolean;
}

export function jobRunner(k: Kernels, init: JobInit): (job: TileJob) => TileResult {
  const field = new TissueField({ seed: init.seed, slideWidth: init.slideWidth, slideHeight: init.slideHeight });
  const size = init.tile;
  return (job) => {
    let rgba: Uint8Array;
    let glass = false;
    if (job.kind === 'render') {
      const r = field.render(job.x, job.y, size, size);
      rgba = r.data;
      glass = r.glass;
    } else {
      rgba = job.rgba;
    }
    const jpeg = encodeJpeg(k, { width: size, height: size, data: rgba }, { quality: init.quality, subsampling: '420' });
    const { tables, stream } = splitJpegTables(jpeg);
    return { stream, tables, reduced: job.reduce ? reduce4(rgba, size, size).data : undefined, glass };
  };
}
