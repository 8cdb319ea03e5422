// Baseline JPEG encoding of RGBA through the WASM kernel (assembly/jpeg-encode/).
// JFIF, IJG-scaled standard quantisation tables, standard Huffman tables.
// Alpha is ignored (flatten first if transparency matters). Isomorphic.

import { ImageboxError } from '../errors.js';
import type { RGBA } from '../contracts/pixels.js';
import type { Kernels } from './kernels.js';

export interface JpegEncodeOptions {
  /** 1..100, IJG scale (default 90). */
  quality?: number;
  /** Chroma subsampling (default '420'). Ignored for grey. */
  subsampling?: '420' | '444';
  /** One-component (luma) JPEG. */
  grey?: boolean;
  /** false: scalar forward DCT (identical output; for tests and benchmarks). */
  simd?: boolean;
}

interface EncodeExports {
  jpeg_encode(src: number, width: number, height: number, quality: number, mode: number, dst: number, cap: number, simd: number): number;
}

/** JPEG's own limit, and a sanity bound on pixels (64 Mpx). */
const MAX_SIDE = 65535;
const MAX_PIXELS = 64 * 1024 * 1024;

export function encodeJpeg(k: Kernels, img: RGBA, opts: JpegEncodeOptions = {}): Uint8Array {
  const { width, height } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ImageboxError('E_BAD_REQUEST', `cannot encode a ${width}x${height} JPEG`);
  }
  if (width > MAX_SIDE || height > MAX_SIDE || width * height > MAX_PIXELS) {
    throw new ImageboxError('E_TOO_LARGE', `JPEG of ${width}x${height} is too large`);
  }
  if (img.data.length < width * height * 4) throw new ImageboxError('E_INTERNAL', 'RGBA buffer too small');
  const quality = Math.max(1, Math.min(100, Math.round(opts.quality ?? 90)));
  const mode = opts.grey ? 0 : opts.subsampling === '444' ? 1 : 2;
  const x = k.exports as unknown as EncodeExports;
  // first try with a typical size; the kernel reports the exact size when it does not fit
  let cap = Math.ceil(width * height * (quality > 90 ? 2 : 1)) + 1024;
  for (let attempt = 0; attempt < 2; attempt++) {
    k.exports.reset();
    const src = k.put(img.data.length === width * height * 4 ? img.data : img.data.subarray(0, width * height * 4));
    const dst = k.alloc(cap);
    const n = k.run(() => x.jpeg_encode(src, width, height, quality, mode, dst, cap, opts.simd === false ? 0 : 1));
    if (n > 0) return k.u8().slice(dst, dst + n);
    cap = -n;
  }
  throw new ImageboxError('E_INTERNAL', 'JPEG encoder output bound not met');
}
