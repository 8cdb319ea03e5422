// Deflate (TIFF Compression 8 / 32946) through the platform's DecompressionStream
// (Node >= 18, every current browser): zlib-wrapped or raw, output bounded.
// Isomorphic.

import { ImageboxError } from '../errors.js';
import type { Kernels } from './kernels.js';
import { undoHorizontalPredictor, type PredictorLayout } from './predictor.js';
import { layoutBytes } from './lzw.js';

export interface InflateResult {
  /** At most `maxOut` bytes. */
  data: Uint8Array;
  /** The stream had more than `maxOut` bytes (data is cut at maxOut). */
  overflow: boolean;
}

/** Largest decoded tile we accept (bytes). */
export const INFLATE_MAX_OUTPUT = 256 * 1024 * 1024;

/** A zlib header: CM = 8, window <= 32K, (CMF*256 + FLG) % 31 == 0. */
export function isZlibWrapped(b: Uint8Array): boolean {
  return b.length >= 2 && (b[0]! & 0x0f) === 8 && b[0]! >> 4 <= 7 && ((b[0]! << 8) | b[1]!) % 31 === 0;
}

/**
 * Inflate `src` (zlib-wrapped or raw, detected from the header unless `raw`
 * says) into at most `maxOut` bytes. A damaged stream is E_CORRUPT_TILE.
 */
export async function inflate(src: Uint8Array, maxOut: number, raw?: boolean): Promise<InflateResult> {
  if (!Number.isInteger(maxOut) || maxOut < 0 || maxOut > INFLATE_MAX_OUTPUT) {
    throw new ImageboxError('E_TOO_LARGE', `inflate output bound ${maxOut} out of range`);
  }
  const format = (raw ?? !isZlibWrapped(src)) ? 'deflate-raw' : 'deflate';
  const ds = new DecompressionStream(format as CompressionFormat);
  const writer = ds.writable.getWriter();
  writer.write(src as Uint8Array<ArrayBuffer>).catch(() => {});
  writer.close().catch(() => {});
  const reader = ds.readable.getReader();
  const out = new Uint8Array(maxOut);
  let n = 0;
  let overflow = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const take = Math.min(value.length, maxOut - n);
      out.set(take === value.length ? value : value.subarray(0, take), n);
      n += take;
      if (take < value.length) {
        overflow = true;
        await reader.cancel().catch(() => {});
        break;
      }
    }
  } catch (e) {
    throw new ImageboxError('E_CORRUPT_TILE', `deflate: ${(e as Error).message ?? e}`, undefined, e);
  }
  return { data: n === maxOut ? out : out.slice(0, n), overflow };
}

/**
 * Inflate one Deflate tile or strip to its samples and undo the predictor. A
 * stream that decodes to fewer bytes than the layout needs is E_CORRUPT_TILE.
 */
export async function decodeDeflateTile(k: Kernels, src: Uint8Array, layout: PredictorLayout & { predictor: number }): Promise<Uint8Array> {
  const size = layoutBytes(layout);
  const { data } = await inflate(src, size);
  if (data.length < size) throw new ImageboxError('E_CORRUPT_TILE', `deflate tile decoded to ${data.length} of ${size} bytes`);
  if (layout.predictor === 2) undoHorizontalPredictor(k, data, layout);
  else if (layout.predictor !== 1) throw new ImageboxError('E_UNSUPPORTED_CODEC', `TIFF predictor ${layout.predictor}`);
  return data;
}
