// TIFF LZW (Compression 5) through the WASM kernel (assembly/lzw.ts).
// Isomorphic: imports nothing from Node.

import { ImageboxError } from '../errors.js';
import type { Kernels } from './kernels.js';
import { undoPredictorInKernel, type PredictorLayout } from './predictor.js';

/** Largest decoded tile or strip we accept (bytes). */
export const LZW_MAX_OUTPUT = 256 * 1024 * 1024;

export interface LzwResult {
  /** The decoded bytes (a copy out of kernel memory), at most `maxOut` long. */
  data: Uint8Array;
  /** The stream ended with EndOfInformation (false: input ran out first). */
  complete: boolean;
  /** The stream had more to say when `maxOut` bytes were written (output truncated). */
  overflow: boolean;
}

const LZW_OK = 0;
const LZW_FULL = 2;
const LZW_BAD_CODE = -1;
const LZW_OLD_STYLE = -2;

interface LzwExports {
  lzw_decode(src: number, srcLen: number, dst: number, cap: number): number;
  lzw_status(): number;
}

function checkCap(maxOut: number): void {
  if (!Number.isInteger(maxOut) || maxOut < 0 || maxOut > LZW_MAX_OUTPUT) {
    throw new ImageboxError('E_TOO_LARGE', `LZW output bound ${maxOut} out of range`);
  }
}

/** Decode in kernel memory; returns [pointer, length, status]. Caller has reset(). */
function decodeInKernel(k: Kernels, src: Uint8Array, maxOut: number): [number, number, number] {
  const s = k.put(src);
  const d = k.alloc(maxOut);
  const x = k.exports as unknown as LzwExports;
  const n = k.run(() => x.lzw_decode(s, src.length, d, maxOut));
  const status = x.lzw_status();
  if (status === LZW_OLD_STYLE) {
    throw new ImageboxError('E_UNSUPPORTED_CODEC', 'old-style (LSB-first) LZW is not supported');
  }
  if (status === LZW_BAD_CODE) {
    throw new ImageboxError('E_CORRUPT_TILE', `LZW: invalid code after ${n} bytes`);
  }
  return [d, n, status];
}

/** Decode a TIFF LZW stream into at most `maxOut` bytes. */
export function decodeLzw(k: Kernels, src: Uint8Array, maxOut: number): LzwResult {
  checkCap(maxOut);
  k.exports.reset();
  const [d, n, status] = decodeInKernel(k, src, maxOut);
  return { data: k.u8().slice(d, d + n), complete: status === LZW_OK, overflow: status === LZW_FULL };
}

/**
 * Decode one LZW tile or strip to its samples, undoing the predictor, in one
 * kernel job. The result is exactly rowBytes * height bytes; a stream that
 * decodes to fewer bytes is E_CORRUPT_TILE, one that has more is cut (as libtiff does).
 */
export function decodeLzwTile(k: Kernels, src: Uint8Array, layout: PredictorLayout & { predictor: number }): Uint8Array {
  const size = layoutBytes(layout);
  checkCap(size);
  k.exports.reset();
  const [d, n] = decodeInKernel(k, src, size);
  if (n < size) throw new ImageboxError('E_CORRUPT_TILE', `LZW tile decoded to ${n} of ${size} bytes`);
  if (layout.predictor === 2) undoPredictorInKernel(k, d, layout);
  else if (layout.predictor !== 1) throw new ImageboxError('E_UNSUPPORTED_CODEC', `TIFF predictor ${layout.predictor}`);
  return k.u8().slice(d, d + size);
}

/** Bytes of a chunky tile/strip with this layout. */
export function layoutBytes(l: PredictorLayout): number {
  return l.width * l.samplesPerPixel * (l.bitsPerSample >> 3) * l.height;
}
