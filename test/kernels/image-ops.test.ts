// Colour conversion, resampling, compose, rotation/mirror, grey/bitonal kernels:
// exact results on small hand-checked images, a straightforward JS reference on
// random images, and SIMD == scalar.
import { beforeAll, describe, expect, it } from 'vitest';
import { kernels } from '../../src/codecs/kernels-node.js';
import type { Kernels } from '../../src/codecs/kernels.js';
import {
  composeRegion, mirror, resize, resizeArea, resizeBilinear, rotate, samplesToRgba, toBitonal, toGrey,
  ycbcrInterleavedToRgba, ycbcrPlanarToRgba,
} from '../../src/codecs/image-ops.js';
import type { RGBA } from '../../src/contracts/pixels.js';
import { AreaResampler } from '../../src/codecs/area-resampler.js';
import { areaRef } from '../helpers/pixels.js';

let k: Kernels;
beforeAll(async () => {
  k = await kernels();
});

function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const bytes = (n: number, r: () => number) => Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
const img = (w: number, h: number, px: number[][]): RGBA => ({ width: w, height: h, data: Uint8Array.from(px.flat()) });
const pixels = (i: RGBA) => Array.from({ length: i.width * i.height }, (_, p) => Array.from(i.data.subarray(p * 4, p * 4 + 4)));
const maxDiff = (a: Uint8Array, b: Uint8Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

/** The documented Q15 JFIF conversion, in JS. */
function yccRef(y: number, cb: number, cr: number): number[] {
  const q = (a: number, c: number) => (a * c + 16384) >> 15;
  const c = (v: number) => Math.max(0, Math.min(255, v));
  const b = cb - 128, r = cr - 128;
  return [c(y + r + q(r, 13173)), c(y + q(b, -11277) + q(r, -23401)), c(y + b + q(b, 25297)), 255];
}
/** Ideal floating-point JFIF. */
function yccFloat(y: number, cb: number, cr: number): number[] {
  const c = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
  return [c(y + 1.402 * (cr - 128)), c(y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128)), c(y + 1.772 * (cb - 128)), 255];
}

describe('YCbCr -> RGBA', () => {
  it('hand-checked pixels (grey, white, black, saturated red)', () => {
    const src = Uint8Array.from([128, 128, 128, 255, 128, 128, 0, 128, 128, 76, 85, 255]);
    for (const simd of [false, true]) {
      expect(pixels(ycbcrInterleavedToRgba(k, src, 4, 1, simd))).toEqual([[128, 128, 128, 255], [255, 255, 255, 255], [0, 0, 0, 255], [254, 0, 0, 255]]);
    }
  });
  it('every (Y, Cb, Cr) on a grid matches the Q15 reference exactly and ideal JFIF within 1', () => {
    const vals: number[] = [];
    for (let y = 0; y < 256; y += 5) for (let cb = 0; cb < 256; cb += 3) for (let cr = 0; cr < 256; cr += 7) vals.push(y, cb, cr);
    const n = vals.length / 3;
    const src = Uint8Array.from(vals);
    const want = new Uint8Array(n * 4);
    const ideal = new Uint8Array(n * 4);
    for (let i = 0; i < n; i++) {
      want.set(yccRef(vals[3 * i]!, vals[3 * i + 1]!, vals[3 * i + 2]!), i * 4);
      ideal.set(yccFloat(vals[3 * i]!, vals[3 * i + 1]!, vals[3 * i + 2]!), i * 4);
    }
    for (const simd of [false, true]) {
      const got = ycbcrInterleavedToRgba(k, src, n, 1, simd).data;
      expect(maxDiff(got, want)).toBe(0);
      expect(maxDiff(got, ideal)).toBeLessThanOrEqual(1);
    }
  });
  it('planar 4:2:2 (chroma x >> 1) and 4:4:4: SIMD == scalar == reference for widths 1..37', () => {
    const r = rng(5);
    for (let w = 1; w <= 37; w++) {
      const h = 3;
      for (const half of [true, false]) {
        const cw = half ? (w + 1) >> 1 : w;
        const cs = cw + 2; // padded chroma rows
        const y = bytes(w * h, r), cb = bytes(cs * h, r), cr = bytes(cs * h, r);
        const want = new Uint8Array(w * h * 4);
        for (let j = 0; j < h; j++) for (let x = 0; x < w; x++) {
          const c = j * cs + (half ? x >> 1 : x);
          want.set(yccRef(y[j * w + x]!, cb[c]!, cr[c]!), (j * w + x) * 4);
        }
        const p = { y, cb, cr, width: w, height: h, chromaHalfWidth: half, cStride: cs };
        const s = ycbcrPlanarToRgba(k, p, false);
        const v = ycbcrPlanarToRgba(k, p, true);
        expect(maxDiff(s.data, want)).toBe(0);
        expect(maxDiff(v.data, want)).toBe(0);
      }
    }
  });
  it('interleaved: SIMD == scalar on random data of odd lengths', () => {
    const r = rng(6);
    for (const n of [1, 7, 8, 9, 63, 1000]) {
      const src = bytes(n * 3, r);
      expect(maxDiff(ycbcrInterleavedToRgba(k, src, n, 1, true).data, ycbcrInterleavedToRgba(k, src, n, 1, false).data)).toBe(0);
    }
  });
});

describe('samples -> RGBA', () => {
  it('grey, grey+alpha, RGB, RGBA with a valid crop', () => {
    expect(pixels(samplesToRgba(k, Uint8Array.from([10, 20, 30, 40]), 2, 2, 1, 1, 2))).toEqual([[10, 10, 10, 255], [30, 30, 30, 255]]);
    expect(pixels(samplesToRgba(k, Uint8Array.from([10, 99, 20, 0]), 2, 1, 2))).toEqual([[10, 10, 10, 99], [20, 20, 20, 0]]);
    expect(pixels(samplesToRgba(k, Uint8Array.from([1, 2, 3, 4, 5, 6]), 2, 1, 3))).toEqual([[1, 2, 3, 255], [4, 5, 6, 255]]);
    expect(pixels(samplesToRgba(k, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), 2, 1, 4))).toEqual([[1, 2, 3, 4], [5, 6, 7, 8]]);
  });
  it('RGB random tiles (SIMD path + tail) equal a JS reference', () => {
    const r = rng(7);
    for (const [w, h, vw, vh] of [[17, 5, 17, 5], [256, 4, 201, 3], [6, 1, 6, 1], [7, 2, 5, 2]] as const) {
      const s = bytes(w * h * 3, r);
      const got = samplesToRgba(k, s, w, h, 3, vw, vh);
      const want = new Uint8Array(vw * vh * 4);
      for (let y = 0; y < vh; y++) for (let x = 0; x < vw; x++) want.set([...s.subarray((y * w + x) * 3, (y * w + x) * 3 + 3), 255], (y * vw + x) * 4);
      expect(maxDiff(got.data, want)).toBe(0);
    }
  });
});

/** Alpha-weighted area average, straightforward f64 JS. */
describe('area-average downscale', () => {
  it('2x2 boxes average exactly', () => {
    const a = img(4, 2, [[0, 0, 0, 255], [4, 8, 12, 255], [100, 0, 0, 255], [100, 0, 0, 255], [8, 4, 0, 255], [0, 0, 0, 255], [100, 0, 0, 255], [104, 4, 8, 255]]);
    expect(pixels(resizeArea(k, a, 2, 1))).toEqual([[3, 3, 3, 255], [101, 1, 2, 255]]);
  });
  it('a non-integer factor weights the straddled pixel by its covered fraction', () => {
    // 3 -> 2: out0 = (30*1 + 60*0.5)/1.5 = 40, out1 = (60*0.5 + 90*1)/1.5 = 80
    const a = img(3, 1, [[30, 30, 30, 255], [60, 60, 60, 255], [90, 90, 90, 255]]);
    expect(pixels(resizeArea(k, a, 2, 1))).toEqual([[40, 40, 40, 255], [80, 80, 80, 255]]);
  });
  it('transparent pixels do not darken colour; alpha is the covered fraction', () => {
    const a = img(3, 1, [[0, 0, 0, 0], [200, 100, 50, 255], [0, 0, 0, 0]]);
    expect(pixels(resizeArea(k, a, 1, 1))).toEqual([[200, 100, 50, 85]]);
  });
  it('random images at many real factors match the JS reference within 1', () => {
    const r = rng(8);
    for (const [sw, sh, dw, dh] of [[64, 48, 16, 12], [100, 77, 33, 20], [256, 256, 100, 100], [17, 9, 5, 4], [10, 10, 10, 10], [9, 13, 1, 1]] as const) {
      const d = bytes(sw * sh * 4, r);
      for (let i = 3; i < d.length; i += 4) d[i] = r() < 0.2 ? 0 : 255;
      const a: RGBA = { width: sw, height: sh, data: d };
      expect(maxDiff(resizeArea(k, a, dw, dh).data, areaRef(a, dw, dh))).toBeLessThanOrEqual(1);
    }
  });
  it('fed in bands of any height, the band resampler gives the same bytes as the whole-image kernel', () => {
    const r = rng(9);
    for (const [sw, sh, dw, dh, bands] of [
      [300, 700, 97, 211, [256, 256, 188]],
      [300, 700, 97, 211, [1, 1, 698]],
      [64, 64, 16, 16, [7, 13, 30, 14]],
      [50, 1000, 3, 7, Array(10).fill(100)],
      [257, 255, 256, 254, [128, 127]],
      [40, 40, 40, 40, [20, 20]],
    ] as const) {
      const d = bytes(sw * sh * 4, r);
      for (let i = 3; i < d.length; i += 4) d[i] = r() < 0.2 ? 0 : 255;
      const whole = resizeArea(k, { width: sw, height: sh, data: d }, dw, dh);
      const br = new AreaResampler(k, sw, sh, dw, dh);
      let y = 0;
      for (const n of bands) {
        br.push({ width: sw, height: n, data: d.subarray(y * sw * 4, (y + n) * sw * 4) });
        y += n;
      }
      expect(y).toBe(sh);
      const got = br.finish();
      expect([got.width, got.height]).toEqual([dw, dh]);
      expect(Buffer.from(got.data).equals(Buffer.from(whole.data)), `${sw}x${sh} -> ${dw}x${dh} in ${bands.length} bands`).toBe(true);
    }
  });
  it('the band resampler refuses an incomplete image', () => {
    const br = new AreaResampler(k, 10, 10, 5, 5);
    br.push({ width: 10, height: 4, data: new Uint8Array(160) });
    expect(() => br.finish()).toThrowError(expect.objectContaining({ code: 'E_INTERNAL' }));
  });
});

describe('bilinear upscale', () => {
  it('hand-checked 2 -> 4', () => {
    const a = img(2, 1, [[0, 0, 0, 255], [200, 100, 40, 255]]);
    expect(pixels(resizeBilinear(k, a, 4, 1))).toEqual([[0, 0, 0, 255], [50, 25, 10, 255], [150, 75, 30, 255], [200, 100, 40, 255]]);
  });
  it('a constant image stays constant; resize() picks the filter', () => {
    const a: RGBA = { width: 3, height: 5, data: new Uint8Array(60).fill(77) };
    expect(resize(k, a, 11, 7).data.every((v) => v === 77)).toBe(true);
    expect(resize(k, a, 1, 2).data.every((v) => v === 77)).toBe(true);
  });
});

describe('compose', () => {
  const tile = (w: number, h: number, base: number): RGBA => ({ width: w, height: h, data: Uint8Array.from({ length: w * h * 4 }, (_, i) => (base + i) & 0xff) });
  function composeRef(width: number, height: number, ts: { tile: RGBA; x: number; y: number; validWidth?: number; validHeight?: number }[]): Uint8Array {
    const o = new Uint8Array(width * height * 4);
    for (const t of ts) {
      const vw = t.validWidth ?? t.tile.width, vh = t.validHeight ?? t.tile.height;
      for (let y = 0; y < vh; y++) for (let x = 0; x < vw; x++) {
        const X = x + t.x, Y = y + t.y;
        if (X < 0 || Y < 0 || X >= width || Y >= height) continue;
        o.set(t.tile.data.subarray((y * t.tile.width + x) * 4, (y * t.tile.width + x) * 4 + 4), (Y * width + X) * 4);
      }
    }
    return o;
  }
  it('hand-checked: negative offset, clipping, valid part, transparent elsewhere', () => {
    const t = img(2, 2, [[1, 1, 1, 255], [2, 2, 2, 255], [3, 3, 3, 255], [4, 4, 4, 255]]);
    const r = composeRegion(k, 3, 2, [{ tile: t, x: -1, y: 0 }, { tile: t, x: 2, y: 1, validWidth: 1, validHeight: 1 }]);
    expect(pixels(r)).toEqual([[2, 2, 2, 255], [0, 0, 0, 0], [0, 0, 0, 0], [4, 4, 4, 255], [0, 0, 0, 0], [1, 1, 1, 255]]);
  });
  it('random placements equal the JS reference', () => {
    const r = rng(9);
    for (let n = 0; n < 20; n++) {
      const W = 1 + Math.floor(r() * 60), H = 1 + Math.floor(r() * 60);
      const ts = Array.from({ length: 1 + Math.floor(r() * 5) }, () => {
        const t = tile(1 + Math.floor(r() * 40), 1 + Math.floor(r() * 40), Math.floor(r() * 256));
        return { tile: t, x: Math.floor(r() * 100) - 40, y: Math.floor(r() * 100) - 40, validWidth: 1 + Math.floor(r() * t.width), validHeight: 1 + Math.floor(r() * t.height) };
      });
      expect(maxDiff(composeRegion(k, W, H, ts).data, composeRef(W, H, ts))).toBe(0);
    }
  });
});

describe('rotation and mirror', () => {
  // 3x2:  a b c
  //       d e f
  const px = (v: number) => [v, v, v, 255];
  const a = img(3, 2, [1, 2, 3, 4, 5, 6].map(px));
  const vals = (i: RGBA) => pixels(i).map((p) => p[0]);
  it('90 / 180 / 270 clockwise and mirror, hand-checked', () => {
    const r90 = rotate(k, a, 90);
    expect([r90.width, r90.height]).toEqual([2, 3]);
    expect(vals(r90)).toEqual([4, 1, 5, 2, 6, 3]);
    expect(vals(rotate(k, a, 180))).toEqual([6, 5, 4, 3, 2, 1]);
    const r270 = rotate(k, a, 270);
    expect([r270.width, r270.height]).toEqual([2, 3]);
    expect(vals(r270)).toEqual([3, 6, 2, 5, 1, 4]);
    expect(vals(rotate(k, a, 0))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(vals(mirror(k, a))).toEqual([3, 2, 1, 6, 5, 4]);
    expect(() => rotate(k, a, 45)).toThrowError(expect.objectContaining({ code: 'E_BAD_REQUEST' }));
  });
  it('random images: four quarter turns are the identity, 90+270 too, mirror twice too; 90 equals a JS reference', () => {
    const r = rng(10);
    for (const [w, h] of [[1, 1], [33, 70], [100, 37]] as const) {
      const m: RGBA = { width: w, height: h, data: bytes(w * h * 4, r) };
      let t = m;
      for (let i = 0; i < 4; i++) t = rotate(k, t, 90);
      expect(maxDiff(t.data, m.data)).toBe(0);
      expect(maxDiff(rotate(k, rotate(k, m, 90), 270).data, m.data)).toBe(0);
      expect(maxDiff(mirror(k, mirror(k, m)).data, m.data)).toBe(0);
      const want = new Uint8Array(w * h * 4);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) want.set(m.data.subarray((y * w + x) * 4, (y * w + x) * 4 + 4), (x * h + (h - 1 - y)) * 4);
      expect(maxDiff(rotate(k, m, 90).data, want)).toBe(0);
    }
  });
});

describe('grey and bitonal', () => {
  it('ITU-R 601 luma, hand-checked; alpha kept', () => {
    const a = img(4, 1, [[255, 0, 0, 255], [0, 255, 0, 200], [0, 0, 255, 255], [255, 255, 255, 0]]);
    expect(pixels(toGrey(k, a))).toEqual([[76, 76, 76, 255], [150, 150, 150, 200], [29, 29, 29, 255], [255, 255, 255, 0]]);
    expect(pixels(toBitonal(k, a))).toEqual([[0, 0, 0, 255], [255, 255, 255, 200], [0, 0, 0, 255], [255, 255, 255, 0]]);
    expect(pixels(toBitonal(k, a, 70))).toEqual([[255, 255, 255, 255], [255, 255, 255, 200], [0, 0, 0, 255], [255, 255, 255, 0]]);
  });
  it('random pixels equal the JS reference', () => {
    const r = rng(11);
    const m: RGBA = { width: 50, height: 20, data: bytes(4000, r) };
    const g = toGrey(k, m).data;
    for (let i = 0; i < 1000; i++) {
      const y = (m.data[i * 4]! * 19595 + m.data[i * 4 + 1]! * 38470 + m.data[i * 4 + 2]! * 7471 + 32768) >> 16;
      expect([g[i * 4], g[i * 4 + 1], g[i * 4 + 2], g[i * 4 + 3]]).toEqual([y, y, y, m.data[i * 4 + 3]]);
    }
  });
});

describe('bounds', () => {
  it('refuses empty and oversized images', () => {
    const a: RGBA = { width: 1, height: 1, data: new Uint8Array(4) };
    expect(() => resizeArea(k, a, 0, 5)).toThrowError(expect.objectContaining({ code: 'E_BAD_REQUEST' }));
    expect(() => resizeArea(k, a, 100_000, 100_000)).toThrowError(expect.objectContaining({ code: 'E_TOO_LARGE' }));
    expect(() => composeRegion(k, 1e6, 1e6, [])).toThrowError(expect.objectContaining({ code: 'E_TOO_LARGE' }));
  });
});
