// Pixel operations on RGBA images through the WASM kernels: colour conversion
// (assembly/color.ts), resampling (resample.ts), composing tiles into a region
// (compose.ts), rotation/mirror (orient.ts), grey/bitonal (quality.ts).
// Every function is one kernel job: reset, copy in, run, copy out. Isomorphic.

import { ImageboxError } from '../errors.js';
import type { RGBA } from '../contracts/pixels.js';
import type { Kernels } from './kernels.js';

/** Largest image (pixels) any operation accepts: 64 Mpx = 256 MB of RGBA. */
export const MAX_PIXELS = 64 * 1024 * 1024;

interface OpsExports {
  ycbcr_planar_rgba(y: number, cb: number, cr: number, yStride: number, cStride: number, chromaShift: number, dst: number, w: number, h: number, simd: number): void;
  ycbcr_interleaved_rgba(src: number, dst: number, n: number, simd: number): void;
  samples_rgba(src: number, srcStride: number, spp: number, dst: number, w: number, rows: number): void;
  resample_area_scratch(sw: number, dw: number): number;
  resample_area(src: number, sw: number, sh: number, dst: number, dw: number, dh: number, scratch: number): void;
  resample_bilinear_scratch(sw: number, dw: number): number;
  resample_bilinear(src: number, sw: number, sh: number, dst: number, dw: number, dh: number, scratch: number): void;
  fill_u32(dst: number, n: number, value: number): void;
  compose_copy(src: number, srcW: number, validW: number, validH: number, dst: number, dstW: number, dstH: number, ox: number, oy: number): number;
  rotate_rgba(src: number, w: number, h: number, dst: number, quarter: number): void;
  mirror_rgba(src: number, w: number, h: number, dst: number): void;
  grey_rgba(src: number, dst: number, n: number): void;
  bitonal_rgba(src: number, dst: number, n: number, threshold: number): void;
}

const ops = (k: Kernels) => k.exports as unknown as OpsExports;

/** Throws unless w x h is a sane image size; returns the pixel count. */
export function checkSize(w: number, h: number, what = 'image'): number {
  if (!Number.isInteger(w) || !Number.isInteger(h) || w <= 0 || h <= 0) {
    throw new ImageboxError('E_BAD_REQUEST', `${what} size ${w}x${h} is not positive`);
  }
  if (w * h > MAX_PIXELS) throw new ImageboxError('E_TOO_LARGE', `${what} of ${w}x${h} pixels is over the ${MAX_PIXELS} limit`);
  return w * h;
}

function checkRgba(img: RGBA): number {
  const n = checkSize(img.width, img.height);
  if (img.data.length < n * 4) throw new ImageboxError('E_INTERNAL', `RGBA buffer of ${img.data.length} bytes for ${img.width}x${img.height}`);
  return n;
}

function out(k: Kernels, ptr: number, w: number, h: number): RGBA {
  return { width: w, height: h, data: k.u8().slice(ptr, ptr + w * h * 4) };
}

function put(k: Kernels, data: Uint8Array, len: number): number {
  return k.put(data.length === len ? data : data.subarray(0, len));
}

export interface PlanarYCbCr {
  y: Uint8Array;
  cb: Uint8Array;
  cr: Uint8Array;
  width: number;
  height: number;
  /** Chroma planes at half width (4:2:2; chroma of pixel x is at x >> 1). */
  chromaHalfWidth: boolean;
  /** Row strides in bytes (default: width, and ceil(width / 2) for half-width chroma). */
  yStride?: number;
  cStride?: number;
}

/** Planar Y, Cb, Cr (full-range JFIF) -> RGBA. `simd` false forces the scalar kernel. */
export function ycbcrPlanarToRgba(k: Kernels, p: PlanarYCbCr, simd = true): RGBA {
  const n = checkSize(p.width, p.height);
  const shift = p.chromaHalfWidth ? 1 : 0;
  const ys = p.yStride ?? p.width;
  const cs = p.cStride ?? (p.width + shift) >> shift;
  const cw = (p.width + shift) >> shift;
  if (ys < p.width || cs < cw || p.y.length < ys * (p.height - 1) + p.width || Math.min(p.cb.length, p.cr.length) < cs * (p.height - 1) + cw) {
    throw new ImageboxError('E_CORRUPT_TILE', `YCbCr planes too small for ${p.width}x${p.height}`);
  }
  k.exports.reset();
  const y = k.put(p.y);
  const cb = k.put(p.cb);
  const cr = k.put(p.cr);
  const d = k.alloc(n * 4);
  k.run(() => ops(k).ycbcr_planar_rgba(y, cb, cr, ys, cs, shift, d, p.width, p.height, simd ? 1 : 0));
  return out(k, d, p.width, p.height);
}

/** Interleaved YCbCr (3 bytes per pixel, no subsampling) -> RGBA. */
export function ycbcrInterleavedToRgba(k: Kernels, src: Uint8Array, width: number, height: number, simd = true): RGBA {
  const n = checkSize(width, height);
  if (src.length < n * 3) throw new ImageboxError('E_CORRUPT_TILE', `YCbCr buffer too small for ${width}x${height}`);
  k.exports.reset();
  const s = put(k, src, n * 3);
  const d = k.alloc(n * 4);
  k.run(() => ops(k).ycbcr_interleaved_rgba(s, d, n, simd ? 1 : 0));
  return out(k, d, width, height);
}

/**
 * Chunky 8-bit samples (spp 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA, more: first 4)
 * of a stored tile `width` x `height` -> RGBA of its valid top-left part.
 */
export function samplesToRgba(
  k: Kernels, samples: Uint8Array, width: number, height: number, samplesPerPixel: number,
  validWidth = width, validHeight = height,
): RGBA {
  checkSize(width, height);
  const n = checkSize(validWidth, validHeight, 'valid area');
  if (validWidth > width || validHeight > height || samplesPerPixel < 1 || samplesPerPixel > 16) {
    throw new ImageboxError('E_CORRUPT_TILE', `bad sample layout ${width}x${height}x${samplesPerPixel} valid ${validWidth}x${validHeight}`);
  }
  const stride = width * samplesPerPixel;
  const need = stride * (validHeight - 1) + validWidth * samplesPerPixel;
  if (samples.length < need) throw new ImageboxError('E_CORRUPT_TILE', `${samples.length} sample bytes, need ${need}`);
  k.exports.reset();
  const s = k.put(samples.length > need + 16 ? samples.subarray(0, need + 16) : samples);
  k.alloc(16); // the SIMD RGB path may read up to 4 bytes past the last pixel
  const d = k.alloc(n * 4);
  k.run(() => ops(k).samples_rgba(s, stride, samplesPerPixel, d, validWidth, validHeight));
  return out(k, d, validWidth, validHeight);
}

/** One resampling job: source in, scratch sized by the kernel for (source width, output width), output out. */
function resample(
  k: Kernels,
  img: RGBA,
  w: number,
  h: number,
  scratchBytes: (sw: number, dw: number) => number,
  kernel: (src: number, sw: number, sh: number, dst: number, dw: number, dh: number, scratch: number) => void,
): RGBA {
  const n = checkRgba(img);
  checkSize(w, h, 'output');
  k.exports.reset();
  const s = put(k, img.data, n * 4);
  const d = k.alloc(w * h * 4);
  const scratch = k.alloc(scratchBytes(img.width, w));
  k.run(() => kernel(s, img.width, img.height, d, w, h, scratch));
  return out(k, d, w, h);
}

/** Area-average (box filter, exact coverage) resampling to w x h; alpha-weighted. */
export function resizeArea(k: Kernels, img: RGBA, w: number, h: number): RGBA {
  const x = ops(k);
  return resample(k, img, w, h, (sw, dw) => x.resample_area_scratch(sw, dw), (...a) => x.resample_area(...a));
}

/** Bilinear resampling to w x h (pixel centres aligned); alpha-weighted. */
export function resizeBilinear(k: Kernels, img: RGBA, w: number, h: number): RGBA {
  const x = ops(k);
  return resample(k, img, w, h, (sw, dw) => x.resample_bilinear_scratch(sw, dw), (...a) => x.resample_bilinear(...a));
}

/** Resize: area average when shrinking (both sides not larger), bilinear otherwise. */
export function resize(k: Kernels, img: RGBA, w: number, h: number): RGBA {
  if (w === img.width && h === img.height) return { width: w, height: h, data: img.data.slice(0, w * h * 4) };
  return w <= img.width && h <= img.height ? resizeArea(k, img, w, h) : resizeBilinear(k, img, w, h);
}

export interface TilePlacement {
  /** A decoded tile (its full stored size). */
  tile: RGBA;
  /** Where the tile's top-left goes in the region (may be negative). */
  x: number;
  y: number;
  /** The part of the tile to copy (top-left; default the whole tile). */
  validWidth?: number;
  validHeight?: number;
}

/**
 * A width x height region, transparent (0,0,0,0) where no tile lands, with each
 * tile's valid part copied at its offset, clipped to the region. Later tiles win.
 */
export function composeRegion(k: Kernels, width: number, height: number, tiles: readonly TilePlacement[]): RGBA {
  const n = checkSize(width, height, 'region');
  k.exports.reset();
  const d = k.alloc(n * 4);
  k.run(() => ops(k).fill_u32(d, n, 0));
  let most = 0;
  for (const t of tiles) most = Math.max(most, checkRgba(t.tile));
  const s = most > 0 ? k.alloc(most * 4) : 0; // one staging buffer, reused per tile
  for (const t of tiles) {
    const tn = checkRgba(t.tile);
    const vw = Math.min(t.validWidth ?? t.tile.width, t.tile.width);
    const vh = Math.min(t.validHeight ?? t.tile.height, t.tile.height);
    if (!Number.isInteger(t.x) || !Number.isInteger(t.y) || vw <= 0 || vh <= 0) continue;
    if (t.x >= width || t.y >= height || t.x + vw <= 0 || t.y + vh <= 0) continue;
    k.u8().set(t.tile.data.length === tn * 4 ? t.tile.data : t.tile.data.subarray(0, tn * 4), s);
    k.run(() => ops(k).compose_copy(s, t.tile.width, vw, vh, d, width, height, t.x, t.y));
  }
  return out(k, d, width, height);
}

/** Rotate clockwise by 0, 90, 180 or 270 degrees. */
export function rotate(k: Kernels, img: RGBA, degrees: number): RGBA {
  const n = checkRgba(img);
  const q = (((degrees / 90) % 4) + 4) % 4;
  if (!Number.isInteger(q)) throw new ImageboxError('E_BAD_REQUEST', `rotation ${degrees} is not a quarter turn`);
  k.exports.reset();
  const s = put(k, img.data, n * 4);
  const d = k.alloc(n * 4);
  k.run(() => ops(k).rotate_rgba(s, img.width, img.height, d, q));
  return q & 1 ? out(k, d, img.height, img.width) : out(k, d, img.width, img.height);
}

/** Mirror left-right. */
export function mirror(k: Kernels, img: RGBA): RGBA {
  const n = checkRgba(img);
  k.exports.reset();
  const s = put(k, img.data, n * 4);
  k.run(() => ops(k).mirror_rgba(s, img.width, img.height, s));
  return out(k, s, img.width, img.height);
}

/** IIIF "gray": R = G = B = ITU-R 601 luma, alpha kept. */
export function toGrey(k: Kernels, img: RGBA): RGBA {
  const n = checkRgba(img);
  k.exports.reset();
  const s = put(k, img.data, n * 4);
  k.run(() => ops(k).grey_rgba(s, s, n));
  return out(k, s, img.width, img.height);
}

/** IIIF "bitonal": white where luma >= threshold, else black, alpha kept. */
export function toBitonal(k: Kernels, img: RGBA, threshold = 128): RGBA {
  const n = checkRgba(img);
  k.exports.reset();
  const s = put(k, img.data, n * 4);
  k.run(() => ops(k).bitonal_rgba(s, s, n, threshold >>> 0));
  return out(k, s, img.width, img.height);
}
