// TIFF Predictor 2 (horizontal differencing) through the WASM kernel
// (assembly/predictor.ts). Works per row; 8- and 16-bit samples, any number of
// samples per pixel, chunky layout. Isomorphic.

import { ImageboxError } from '../errors.js';
import type { Kernels } from './kernels.js';

export interface PredictorLayout {
  /** Pixels per row (the stored tile width, not the valid part). */
  width: number;
  /** Rows. */
  height: number;
  samplesPerPixel: number;
  /** 8 or 16. */
  bitsPerSample: number;
  /** Byte order of 16-bit samples as stored ("II" = true). */
  littleEndian: boolean;
}

interface PredictorExports {
  predictor2_u8(buf: number, width: number, rows: number, spp: number, rowStride: number): void;
  predictor2_u16(buf: number, width: number, rows: number, spp: number, rowStride: number, bigEndian: number): void;
}

function check(l: PredictorLayout, have: number): number {
  const { width, height, samplesPerPixel: spp, bitsPerSample: bps } = l;
  if (bps !== 8 && bps !== 16) throw new ImageboxError('E_UNSUPPORTED_CODEC', `predictor 2 with ${bps}-bit samples`);
  if (!(width > 0 && height > 0 && spp > 0 && spp <= 16 && Number.isInteger(width) && Number.isInteger(height))) {
    throw new ImageboxError('E_CORRUPT_TILE', `bad predictor layout ${width}x${height}x${spp}`);
  }
  const need = width * height * spp * (bps >> 3);
  if (need > have) throw new ImageboxError('E_CORRUPT_TILE', `predictor needs ${need} bytes, have ${have}`);
  return width * spp * (bps >> 3);
}

/** Undo Predictor 2 on data already in kernel memory at `ptr`. */
export function undoPredictorInKernel(k: Kernels, ptr: number, l: PredictorLayout): void {
  const stride = check(l, Number.MAX_SAFE_INTEGER);
  const x = k.exports as unknown as PredictorExports;
  k.run(() => {
    if (l.bitsPerSample === 8) x.predictor2_u8(ptr, l.width, l.height, l.samplesPerPixel, stride);
    else x.predictor2_u16(ptr, l.width, l.height, l.samplesPerPixel, stride, l.littleEndian ? 0 : 1);
  });
}

/** Undo Predictor 2 in place on `data` (copied through kernel memory). */
export function undoHorizontalPredictor(k: Kernels, data: Uint8Array, l: PredictorLayout): Uint8Array {
  check(l, data.length);
  k.exports.reset();
  const p = k.put(data);
  undoPredictorInKernel(k, p, l);
  data.set(k.u8().subarray(p, p + data.length));
  return data;
}
