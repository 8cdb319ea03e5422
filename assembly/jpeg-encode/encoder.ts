// Baseline JPEG encoder: RGBA in, JFIF out. Colour RGB -> YCbCr (JFIF, fixed
// point), 4:2:0 (chroma = 2x2 average) or 4:4:4 or grey, edge blocks padded by
// replicating the last column/row (as libjpeg), islow forward DCT, IJG
// quantisation, standard Huffman tables.

import { bwOverflow, bwPos, bwStart, flushBits, putBits } from './bit-writer';
import { fdct8x8 } from './fdct';
import { fdct8x8_simd } from './fdct-simd';
import { AC_CHROMA, AC_LUMA, buildCodes, DC_CHROMA, DC_LUMA } from './huffman-codes';
import { writeEoi, writeHeaders } from './markers';
import {
  AC_CHROMA_BITS, AC_CHROMA_VALS, AC_LUMA_BITS, AC_LUMA_VALS, DC_CHROMA_BITS, DC_CHROMA_VALS,
  DC_LUMA_BITS, DC_LUMA_VALS, NATURAL_ORDER, RECIP, setQuality,
} from './tables';

export const JPEG_GREY: i32 = 0;
export const JPEG_444: i32 = 1;
export const JPEG_420: i32 = 2;

const MCU_Y = memory.data(16 * 16 * 4, 16); // i32 Y of one MCU (up to 16x16)
const MCU_CB = memory.data(16 * 16 * 4, 16);
const MCU_CR = memory.data(16 * 16 * 4, 16);
const BLOCK = memory.data(64 * 4, 16); // i32 working block (transposed when SIMD is on)
const COEF = memory.data(64 * 4, 16); // i32 DCT output of the SIMD path
const QCOEF = memory.data(64 * 4, 16); // i32 quantised coefficients, natural order

let simdOn = true;

let built = false;
let predY: i32 = 0;
let predCb: i32 = 0;
let predCr: i32 = 0;

// @ts-ignore: decorator
@inline function bitLength(v: i32): i32 {
  return v == 0 ? 0 : 32 - clz<i32>(v);
}

/** Quantise BLOCK (DCT output, scaled by 8) with reciprocal table `q` and entropy-code it; returns the new DC predictor. */
function codeBlock(q: usize, pred: i32, dc: usize, ac: usize): i32 {
  let co = BLOCK;
  if (simdOn) {
    fdct8x8_simd(BLOCK, COEF);
    co = COEF;
  } else {
    fdct8x8(BLOCK);
  }
  // quantise all 64 (natural order): coef / (8 Q) rounded half away from zero
  const half = f32x4.splat(0.5);
  const sign = i32x4.splat(0x80000000);
  for (let i: usize = 0; i < 256; i += 16) {
    const v = f32x4.mul(f32x4.convert_i32x4_s(v128.load(co + i)), v128.load(q + i));
    const r = f32x4.add(v, v128.or(half, v128.and(v, sign))); // + copysign(0.5, v)
    v128.store(QCOEF + i, i32x4.trunc_sat_f32x4_s(r));
  }
  // DC
  const v = load<i32>(QCOEF);
  const diff = v - pred;
  const n = bitLength(diff < 0 ? -diff : diff);
  const hc = load<u32>(dc + (<usize>n << 2));
  putBits(hc & 0xffff, <i32>(hc >> 16));
  if (n) putBits(<u32>(diff < 0 ? diff - 1 : diff), n);
  // AC in zigzag order
  let run = 0;
  for (let i = 1; i < 64; i++) {
    const c = load<i32>(QCOEF + (<usize>load<u8>(NATURAL_ORDER + <usize>i) << 2));
    if (c == 0) {
      run++;
      continue;
    }
    while (run > 15) {
      const z = load<u32>(ac + (0xf0 << 2));
      putBits(z & 0xffff, <i32>(z >> 16));
      run -= 16;
    }
    const m = bitLength(c < 0 ? -c : c);
    const h = load<u32>(ac + (<usize>((run << 4) | m) << 2));
    putBits(h & 0xffff, <i32>(h >> 16));
    putBits(<u32>(c < 0 ? c - 1 : c), m);
    run = 0;
  }
  if (run > 0) {
    const e = load<u32>(ac);
    putBits(e & 0xffff, <i32>(e >> 16));
  }
  return v;
}


/** Copy an 8x8 block out of a 16-wide i32 MCU plane at (bx, by), level-shifted (transposed for SIMD). */
function loadBlock(plane: usize, bx: i32, by: i32): void {
  const dx: usize = simdOn ? 32 : 4;
  const dy: usize = simdOn ? 4 : 32;
  const off = i32x4.splat(128);
  for (let y = 0; y < 8; y++) {
    const s = plane + (<usize>((by + y) * 16 + bx) << 2);
    const d = BLOCK + <usize>y * dy;
    if (!simdOn) {
      v128.store(d, i32x4.sub(v128.load(s), off));
      v128.store(d, i32x4.sub(v128.load(s, 16), off), 16);
      continue;
    }
    for (let x = 0; x < 8; x++) store<i32>(d + <usize>x * dx, load<i32>(s + (<usize>x << 2)) - 128);
  }
}

/** Convert the size x size pixels of the MCU at (mx, my) into MCU_Y/CB/CR, edges replicated. */
function loadMcu(src: usize, width: i32, height: i32, mx: i32, my: i32, size: i32, colour: bool): void {
  if (mx + size <= width && my + size <= height) {
    // interior: 4 pixels per step in i32x4 lanes, same integer formulas as below
    const m8 = i32x4.splat(0xff);
    for (let y = 0; y < size; y++) {
      const row = src + ((<usize>(my + y) * <usize>width + <usize>mx) << 2);
      const o = <usize>(y * 16) << 2;
      for (let x = 0; x < size; x += 4) {
        const px = v128.load(row + (<usize>x << 2));
        const r = v128.and(px, m8);
        const g = v128.and(i32x4.shr_u(px, 8), m8);
        const b = v128.and(i32x4.shr_u(px, 16), m8);
        const yv = i32x4.add(i32x4.add(i32x4.mul(r, i32x4.splat(19595)), i32x4.mul(g, i32x4.splat(38470))), i32x4.add(i32x4.mul(b, i32x4.splat(7471)), i32x4.splat(32768)));
        v128.store(MCU_Y + o + (<usize>x << 2), i32x4.shr_s(yv, 16));
        if (colour) {
          const cb = i32x4.add(i32x4.sub(i32x4.mul(b, i32x4.splat(32768)), i32x4.add(i32x4.mul(r, i32x4.splat(11059)), i32x4.mul(g, i32x4.splat(21709)))), i32x4.splat((128 << 16) + 32767));
          const cr = i32x4.add(i32x4.sub(i32x4.mul(r, i32x4.splat(32768)), i32x4.add(i32x4.mul(g, i32x4.splat(27439)), i32x4.mul(b, i32x4.splat(5329)))), i32x4.splat((128 << 16) + 32767));
          v128.store(MCU_CB + o + (<usize>x << 2), i32x4.shr_s(cb, 16));
          v128.store(MCU_CR + o + (<usize>x << 2), i32x4.shr_s(cr, 16));
        }
      }
    }
    return;
  }
  for (let y = 0; y < size; y++) {
    const sy = min(my + y, height - 1);
    const row = src + (<usize>sy * <usize>width << 2);
    for (let x = 0; x < size; x++) {
      const sx = min(mx + x, width - 1);
      const px = load<u32>(row + (<usize>sx << 2));
      const r = <i32>(px & 0xff), g = <i32>((px >> 8) & 0xff), b = <i32>((px >> 16) & 0xff);
      const o = <usize>(y * 16 + x) << 2;
      // JFIF: Y = .299R + .587G + .114B; Cb = -.168736R - .331264G + .5B + 128; Cr = .5R - .418688G - .081312B + 128
      store<i32>(MCU_Y + o, (19595 * r + 38470 * g + 7471 * b + 32768) >> 16);
      if (colour) {
        store<i32>(MCU_CB + o, (-11059 * r - 21709 * g + 32768 * b + (128 << 16) + 32767) >> 16);
        store<i32>(MCU_CR + o, (32768 * r - 27439 * g - 5329 * b + (128 << 16) + 32767) >> 16);
      }
    }
  }
}

/** Average 2x2 of a 16x16 i32 plane into BLOCK (level-shifted), alternating rounding bias like libjpeg. */
function downsampleBlock(plane: usize): void {
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) {
      const p = plane + (<usize>(y * 32 + x * 2) << 2);
      const s = load<i32>(p) + load<i32>(p, 4) + load<i32>(p, 64) + load<i32>(p, 68);
      store<i32>(BLOCK + (<usize>(simdOn ? x * 8 + y : y * 8 + x) << 2), ((s + 1 + (x & 1)) >> 2) - 128);
    }
  }
}

/**
 * Encode `width` x `height` RGBA at `src` (alpha ignored) into at most `cap` bytes
 * at `dst`. `mode`: JPEG_GREY, JPEG_444 or JPEG_420. Returns the JPEG's length, or
 * -(bytes needed) when `cap` was too small (nothing past dst + cap is written).
 * `simd` 0 runs the scalar DCT (same output, for tests and benchmarks).
 */
export function jpeg_encode(src: usize, width: i32, height: i32, quality: i32, mode: i32, dst: usize, cap: i32, simd: i32): i32 {
  simdOn = simd != 0;
  if (!built) {
    buildCodes(DC_LUMA_BITS, DC_LUMA_VALS, DC_LUMA);
    buildCodes(AC_LUMA_BITS, AC_LUMA_VALS, AC_LUMA);
    buildCodes(DC_CHROMA_BITS, DC_CHROMA_VALS, DC_CHROMA);
    buildCodes(AC_CHROMA_BITS, AC_CHROMA_VALS, AC_CHROMA);
    built = true;
  }
  setQuality(quality);
  bwStart(dst, cap);
  const colour = mode != JPEG_GREY;
  const sub = mode == JPEG_420 ? 2 : 1;
  writeHeaders(width, height, colour ? 3 : 1, sub);
  predY = 0;
  predCb = 0;
  predCr = 0;
  const mcu = 8 * sub;
  const qY = RECIP;
  const qC = RECIP + 256;
  for (let my = 0; my < height; my += mcu) {
    for (let mx = 0; mx < width; mx += mcu) {
      loadMcu(src, width, height, mx, my, mcu, colour);
      if (sub == 2) {
        loadBlock(MCU_Y, 0, 0);
        predY = codeBlock(qY, predY, DC_LUMA, AC_LUMA);
        loadBlock(MCU_Y, 8, 0);
        predY = codeBlock(qY, predY, DC_LUMA, AC_LUMA);
        loadBlock(MCU_Y, 0, 8);
        predY = codeBlock(qY, predY, DC_LUMA, AC_LUMA);
        loadBlock(MCU_Y, 8, 8);
        predY = codeBlock(qY, predY, DC_LUMA, AC_LUMA);
        downsampleBlock(MCU_CB);
        predCb = codeBlock(qC, predCb, DC_CHROMA, AC_CHROMA);
        downsampleBlock(MCU_CR);
        predCr = codeBlock(qC, predCr, DC_CHROMA, AC_CHROMA);
      } else {
        loadBlock(MCU_Y, 0, 0);
        predY = codeBlock(qY, predY, DC_LUMA, AC_LUMA);
        if (colour) {
          loadBlock(MCU_CB, 0, 0);
          predCb = codeBlock(qC, predCb, DC_CHROMA, AC_CHROMA);
          loadBlock(MCU_CR, 0, 0);
          predCr = codeBlock(qC, predCr, DC_CHROMA, AC_CHROMA);
        }
      }
    }
  }
  flushBits();
  writeEoi();
  return bwOverflow() ? -bwPos() : bwPos();
}
