// Upsampling (libjpeg-turbo's "fancy" triangle filters for h2v1, h2v2, h1v2;
// replication for other integral ratios; nearest sample for non-integral ones)
// and colour conversion to RGBA / RGB: YCbCr -> RGB with libjpeg's 16-bit fixed
// point constants (bit-exact with jdcolor.c), RGB copy, grey replication.
// Rows are produced one output line at a time straight into the caller's buffer;
// full-size 4:2:0 YCbCr to RGBA (the common WSI tile) takes h2v2YccRgba, which
// upsamples and converts in one pass without row buffers.

import {
  ncomp, hmax, vmax, cget, F_HE, F_VE, F_PLANE, F_STRIDE, F_CW, F_CH, F_ROW,
} from "./state";

// The fancy upsamplers run 8 input columns per step with i16x8 arithmetic
// (identical rounding); the first and last columns keep libjpeg's edge cases.

/** h2v1 fancy: out[0..2*cw) from in[0..cw) (jdsample.c h2v1_fancy_upsample). cw >= 3. */
function h2v1Fancy(inp: usize, out: usize, cw: i32): void {
  let v = <i32>load<u8>(inp);
  store<u8>(out, <u8>v);
  store<u8>(out + 1, <u8>((v * 3 + <i32>load<u8>(inp + 1) + 2) >> 2));
  let x = 1;
  const one = i16x8.splat(1);
  const two = i16x8.splat(2);
  for (; x + 8 <= cw - 1; x += 8) {
    const p = inp + <usize>x;
    const c = v128.load8x8_u(p);
    const c3 = i16x8.add(i16x8.shl(c, 1), c);
    const even = i16x8.shr_u(i16x8.add(i16x8.add(c3, v128.load8x8_u(p - 1)), one), 2);
    const odd = i16x8.shr_u(i16x8.add(i16x8.add(c3, v128.load8x8_u(p + 1)), two), 2);
    const eo = i8x16.narrow_i16x8_u(even, odd);
    v128.store(out + (<usize>x << 1), i8x16.shuffle(eo, eo, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15));
  }
  for (; x < cw - 1; x++) {
    const p = inp + <usize>x;
    const o = out + (<usize>x << 1);
    const c = <i32>load<u8>(p) * 3;
    store<u8>(o, <u8>((c + <i32>load<u8>(p - 1) + 1) >> 2));
    store<u8>(o + 1, <u8>((c + <i32>load<u8>(p + 1) + 2) >> 2));
  }
  const p = inp + <usize>(cw - 1);
  const o = out + (<usize>(cw - 1) << 1);
  v = <i32>load<u8>(p);
  store<u8>(o, <u8>((v * 3 + <i32>load<u8>(p - 1) + 1) >> 2));
  store<u8>(o + 1, <u8>v);
}

@inline function colsum(near: usize, far: usize, x: i32): i32 {
  return <i32>load<u8>(near + <usize>x) * 3 + <i32>load<u8>(far + <usize>x);
}

/** h2v2 fancy: one output row from the nearest input row `near` and the next nearest `far`. cw >= 3. */
function h2v2Fancy(near: usize, far: usize, out: usize, cw: i32): void {
  let thiscol = colsum(near, far, 0);
  const nextcol0 = colsum(near, far, 1);
  store<u8>(out, <u8>((thiscol * 4 + 8) >> 4));
  store<u8>(out + 1, <u8>((thiscol * 3 + nextcol0 + 7) >> 4));
  let x = 1;
  const c8 = i16x8.splat(8);
  const c7 = i16x8.splat(7);
  for (; x + 8 <= cw - 1; x += 8) {
    const px = <usize>x;
    const n = v128.load8x8_u(near + px);
    const t = i16x8.add(i16x8.add(i16x8.shl(n, 1), n), v128.load8x8_u(far + px));
    const nl = v128.load8x8_u(near + px - 1);
    const l = i16x8.add(i16x8.add(i16x8.shl(nl, 1), nl), v128.load8x8_u(far + px - 1));
    const nr = v128.load8x8_u(near + px + 1);
    const r = i16x8.add(i16x8.add(i16x8.shl(nr, 1), nr), v128.load8x8_u(far + px + 1));
    const t3 = i16x8.add(i16x8.shl(t, 1), t);
    const even = i16x8.shr_u(i16x8.add(i16x8.add(t3, l), c8), 4);
    const odd = i16x8.shr_u(i16x8.add(i16x8.add(t3, r), c7), 4);
    const eo = i8x16.narrow_i16x8_u(even, odd);
    v128.store(out + (px << 1), i8x16.shuffle(eo, eo, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15));
  }
  for (; x < cw - 1; x++) {
    const o = out + (<usize>x << 1);
    const t = colsum(near, far, x);
    store<u8>(o, <u8>((t * 3 + colsum(near, far, x - 1) + 8) >> 4));
    store<u8>(o + 1, <u8>((t * 3 + colsum(near, far, x + 1) + 7) >> 4));
  }
  thiscol = colsum(near, far, cw - 1);
  const lastcol = colsum(near, far, cw - 2);
  const o = out + (<usize>(cw - 1) << 1);
  store<u8>(o, <u8>((thiscol * 3 + lastcol + 8) >> 4));
  store<u8>(o + 1, <u8>((thiscol * 4 + 7) >> 4));
}

/** h1v2 fancy (jdsample.c h1v2_fancy_upsample). */
function h1v2Fancy(near: usize, far: usize, out: usize, cw: i32, bias: i32): void {
  for (let x = 0; x < cw; x++) {
    const p = <usize>x;
    store<u8>(out + p, <u8>((<i32>load<u8>(near + p) * 3 + <i32>load<u8>(far + p) + bias) >> 2));
  }
}

/** Samples of component c for output row y, full output width. */
function componentRow(c: i32, y: i32, outW: i32, fancy: bool): usize {
  const h = cget(c, F_HE);
  const v = cget(c, F_VE);
  const plane = <usize>cget(c, F_PLANE);
  const stride = <usize>cget(c, F_STRIDE);
  if (h == hmax && v == vmax) return plane + <usize>y * stride;
  const row = <usize>cget(c, F_ROW);
  const cw = cget(c, F_CW);
  const ch = cget(c, F_CH);
  if (fancy && hmax == 2 * h && vmax == v && cw > 2) {
    h2v1Fancy(plane + <usize>y * stride, row, cw);
    return row;
  }
  if (fancy && hmax == 2 * h && vmax == 2 * v && cw > 2) {
    const iy = y >> 1;
    let ny = (y & 1) ? iy + 1 : iy - 1;
    if (ny < 0) ny = 0;
    if (ny > ch - 1) ny = ch - 1;
    h2v2Fancy(plane + <usize>iy * stride, plane + <usize>ny * stride, row, cw);
    return row;
  }
  if (fancy && hmax == h && vmax == 2 * v) {
    const iy = y >> 1;
    let ny = (y & 1) ? iy + 1 : iy - 1;
    if (ny < 0) ny = 0;
    if (ny > ch - 1) ny = ch - 1;
    h1v2Fancy(plane + <usize>iy * stride, plane + <usize>ny * stride, row, cw, (y & 1) ? 2 : 1);
    return row;
  }
  // Replication (int_upsample) or nearest sample for non-integral ratios.
  const src = plane + <usize>((y * v) / vmax) * stride;
  if (hmax % h == 0) {
    const rh = hmax / h;
    if (rh == 1) return src;
    let o = row;
    for (let x = 0; x < cw; x++) {
      const s = load<u8>(src + <usize>x);
      for (let j = 0; j < rh; j++) store<u8>(o + <usize>j, s);
      o += <usize>rh;
    }
  } else {
    for (let x = 0; x < outW; x++) store<u8>(row + <usize>x, load<u8>(src + <usize>((x * h) / hmax)));
  }
  return row;
}

// libjpeg jdcolor.c constants (SCALEBITS 16)
const K_CR_R = 91881; // FIX(1.40200)
const K_CB_B = 116130; // FIX(1.77200)
const K_CB_G = -22554; // -FIX(0.34414)
const K_CR_G = -46802; // -FIX(0.71414)
const HALF = 32768;

@inline function clamp255(v: i32): u8 {
  return <u8>(v < 0 ? 0 : v > 255 ? 255 : v);
}

// YCbCr -> RGB in 16-bit lanes, bit-exact with jdcolor.c. The constants
// split into a multiple of 65536 (exact after the shift) plus a rest:
//   R = y + cr + ((26345 cr + 32768) >> 16)
//   G = y - cr + ((-22554 cb + 18734 cr + 32768) >> 16)
//   B = y + 2 cb + ((-14942 cb + 32768) >> 16)
// (91881 = 65536 + 26345, -46802 = -65536 + 18734, 116130 = 131072 - 14942).
// The R and B rests are one i16x8.q15mulr_sat_s each (pmulhrsw: (a b + 2^14)
// >> 15): q15mulr(cr, 13172) == (26345 cr + 32768) >> 16 and q15mulr(cb,
// -7471) == (-14942 cb + 32768) >> 16 for every cr, cb in -128..127 (checked
// exhaustively; no saturation at these magnitudes). G's two products must be
// summed before the rounding: i32x4.dot_i16x8_s (pmaddwd) on (cb, cr) pairs.
const QR: i32 = 13172;
const QB: i32 = -7471;
// an i32 whose two i16 halves both hold the constant
const QR2: i32 = (QR << 16) | (QR & 0xffff);
const QB2: i32 = (QB << 16) | (QB & 0xffff);
const EVEN2: i32 = (-2040 << 16) | (-2040 & 0xffff); // 8 - 128 * 16
const ODD2: i32 = (-2041 << 16) | (-2041 & 0xffff); // 7 - 128 * 16
const KG: i32 = (18734 << 16) | (-22554 & 0xffff);

// The loop constants as memory (one load each; V8 builds a splat of an
// immediate in three instructions, inside the loop).
const CT: usize = memory.data<i32>([
  QR2, QR2, QR2, QR2,
  QB2, QB2, QB2, QB2,
  KG, KG, KG, KG,
  HALF, HALF, HALF, HALF,
  EVEN2, EVEN2, EVEN2, EVEN2,
  ODD2, ODD2, ODD2, ODD2,
], 16);
const C_QR = 0, C_QB = 16, C_KG = 32, C_HALF = 48, C_EVEN = 64, C_ODD = 80;

@inline function hi16(a: v128, b: v128): v128 {
  return i16x8.narrow_i32x4_s(i32x4.shr_s(a, 16), i32x4.shr_s(b, 16));
}

/**
 * 16 pixels: y (16 u8), cb/cr as i16x8 minus 128 for pixels 0-7 (lo) and 8-15
 * (hi); writes 64 bytes of RGBA at o.
 */
@inline function ycc16(y: v128, cbl: v128, cbh: v128, crl: v128, crh: v128, o: usize): void {
  const qR = v128.load(CT, C_QR);
  const qB = v128.load(CT, C_QB);
  const kG = v128.load(CT, C_KG);
  const half = v128.load(CT, C_HALF);
  const yl = i16x8.extend_low_i8x16_u(y);
  const yh = i16x8.extend_high_i8x16_u(y);
  const gl = hi16(
    i32x4.add(i32x4.dot_i16x8_s(i16x8.shuffle(cbl, crl, 0, 8, 1, 9, 2, 10, 3, 11), kG), half),
    i32x4.add(i32x4.dot_i16x8_s(i16x8.shuffle(cbl, crl, 4, 12, 5, 13, 6, 14, 7, 15), kG), half));
  const gh = hi16(
    i32x4.add(i32x4.dot_i16x8_s(i16x8.shuffle(cbh, crh, 0, 8, 1, 9, 2, 10, 3, 11), kG), half),
    i32x4.add(i32x4.dot_i16x8_s(i16x8.shuffle(cbh, crh, 4, 12, 5, 13, 6, 14, 7, 15), kG), half));
  const r = i8x16.narrow_i16x8_u(
    i16x8.add(i16x8.add(yl, crl), i16x8.q15mulr_sat_s(crl, qR)),
    i16x8.add(i16x8.add(yh, crh), i16x8.q15mulr_sat_s(crh, qR)));
  const g = i8x16.narrow_i16x8_u(i16x8.add(i16x8.sub(yl, crl), gl), i16x8.add(i16x8.sub(yh, crh), gh));
  const b = i8x16.narrow_i16x8_u(
    i16x8.add(i16x8.add(yl, i16x8.add(cbl, cbl)), i16x8.q15mulr_sat_s(cbl, qB)),
    i16x8.add(i16x8.add(yh, i16x8.add(cbh, cbh)), i16x8.q15mulr_sat_s(cbh, qB)));
  rgba16(r, g, b, o);
}

/** Interleave 16 R, G, B bytes (+ alpha 255) into 64 bytes at o with unpacks only. */
@inline function rgba16(r: v128, g: v128, b: v128, o: usize): void {
  const a = i8x16.splat(-1);
  const rgl = i8x16.shuffle(r, g, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const rgh = i8x16.shuffle(r, g, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const bal = i8x16.shuffle(b, a, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const bah = i8x16.shuffle(b, a, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  v128.store(o, i16x8.shuffle(rgl, bal, 0, 8, 1, 9, 2, 10, 3, 11));
  v128.store(o, i16x8.shuffle(rgl, bal, 4, 12, 5, 13, 6, 14, 7, 15), 16);
  v128.store(o, i16x8.shuffle(rgh, bah, 0, 8, 1, 9, 2, 10, 3, 11), 32);
  v128.store(o, i16x8.shuffle(rgh, bah, 4, 12, 5, 13, 6, 14, 7, 15), 48);
}

function yccRow(yp: usize, cbp: usize, crp: usize, out: usize, w: i32, channels: i32): void {
  let x = 0;
  if (channels == 4) {
    const c128 = i16x8.splat(128);
    for (; x + 16 <= w; x += 16) {
      const px = <usize>x;
      const cb = v128.load(cbp + px);
      const cr = v128.load(crp + px);
      ycc16(v128.load(yp + px),
        i16x8.sub(i16x8.extend_low_i8x16_u(cb), c128), i16x8.sub(i16x8.extend_high_i8x16_u(cb), c128),
        i16x8.sub(i16x8.extend_low_i8x16_u(cr), c128), i16x8.sub(i16x8.extend_high_i8x16_u(cr), c128),
        out + (px << 2));
    }
  }
  for (; x < w; x++) {
    const px = <usize>x;
    const yy = <i32>load<u8>(yp + px);
    const cb = <i32>load<u8>(cbp + px) - 128;
    const cr = <i32>load<u8>(crp + px) - 128;
    const o = out + px * <usize>channels;
    store<u8>(o, clamp255(yy + ((K_CR_R * cr + HALF) >> 16)));
    store<u8>(o, clamp255(yy + ((K_CB_G * cb + K_CR_G * cr + HALF) >> 16)), 1);
    store<u8>(o, clamp255(yy + ((K_CB_B * cb + HALF) >> 16)), 2);
    if (channels == 4) store<u8>(o, 255, 3);
  }
}

function rgbRow(rp: usize, gp: usize, bp: usize, out: usize, w: i32, channels: i32): void {
  let x = 0;
  if (channels == 4) {
    for (; x + 16 <= w; x += 16) {
      const px = <usize>x;
      rgba16(v128.load(rp + px), v128.load(gp + px), v128.load(bp + px), out + (px << 2));
    }
  }
  for (; x < w; x++) {
    const px = <usize>x;
    const o = out + px * <usize>channels;
    store<u8>(o, load<u8>(rp + px));
    store<u8>(o, load<u8>(gp + px), 1);
    store<u8>(o, load<u8>(bp + px), 2);
    if (channels == 4) store<u8>(o, 255, 3);
  }
}

function greyRow(yp: usize, out: usize, w: i32, channels: i32): void {
  let x = 0;
  if (channels == 4) {
    for (; x + 16 <= w; x += 16) {
      const px = <usize>x;
      const g = v128.load(yp + px);
      const ga = i8x16.shuffle(g, i8x16.splat(-1), 0, 16, 1, 16, 2, 16, 3, 16, 4, 16, 5, 16, 6, 16, 7, 16);
      const gb = i8x16.shuffle(g, i8x16.splat(-1), 8, 16, 9, 16, 10, 16, 11, 16, 12, 16, 13, 16, 14, 16, 15, 16);
      const o = out + (px << 2);
      // (g, a) pairs -> g g g a
      v128.store(o, i8x16.shuffle(ga, ga, 0, 0, 0, 1, 2, 2, 2, 3, 4, 4, 4, 5, 6, 6, 6, 7));
      v128.store(o, i8x16.shuffle(ga, ga, 8, 8, 8, 9, 10, 10, 10, 11, 12, 12, 12, 13, 14, 14, 14, 15), 16);
      v128.store(o, i8x16.shuffle(gb, gb, 0, 0, 0, 1, 2, 2, 2, 3, 4, 4, 4, 5, 6, 6, 6, 7), 32);
      v128.store(o, i8x16.shuffle(gb, gb, 8, 8, 8, 9, 10, 10, 10, 11, 12, 12, 12, 13, 14, 14, 14, 15), 48);
    }
  }
  for (; x < w; x++) {
    const px = <usize>x;
    const g = load<u8>(yp + px);
    const o = out + px * <usize>channels;
    store<u8>(o, g);
    store<u8>(o, g, 1);
    store<u8>(o, g, 2);
    if (channels == 4) store<u8>(o, 255, 3);
  }
}

/**
 * 4:2:0 YCbCr to RGBA in one pass: h2v2 fancy upsampling (jdsample.c
 * h2v2_fancy_upsample) of both chroma planes and the colour conversion, 16
 * output pixels at a time, no intermediate rows. Column -1 and column cw of
 * every chroma row are set to their neighbours first, which turns libjpeg's
 * first / last column cases (thiscol * 4 + 8, thiscol * 4 + 7) into the
 * general formula.
 */
function h2v2YccRgba(out: usize, outW: i32, outH: i32): void {
  const yPlane = <usize>cget(0, F_PLANE);
  const yStride = <usize>cget(0, F_STRIDE);
  const cbPlane = <usize>cget(1, F_PLANE);
  const crPlane = <usize>cget(2, F_PLANE);
  const cStride = <usize>cget(1, F_STRIDE);
  const cw = cget(1, F_CW);
  const ch = cget(1, F_CH);
  for (let r = 0; r < ch; r++) {
    const o = <usize>r * cStride;
    const cwp = <usize>cw;
    store<u8>(cbPlane + o - 1, load<u8>(cbPlane + o));
    store<u8>(cbPlane + o + cwp, load<u8>(cbPlane + o + cwp - 1));
    store<u8>(crPlane + o - 1, load<u8>(crPlane + o));
    store<u8>(crPlane + o + cwp, load<u8>(crPlane + o + cwp - 1));
  }
  const rowBytes = <usize>outW << 2;
  const TAIL = TAILBUF;
  let orow = out;
  for (let y = 0; y < outH; y++) {
    const iy = y >> 1;
    let ny = (y & 1) ? iy + 1 : iy - 1;
    if (ny < 0) ny = 0;
    if (ny > ch - 1) ny = ch - 1;
    let cbn = cbPlane + <usize>iy * cStride;
    let cbf = cbPlane + <usize>ny * cStride;
    let crn = crPlane + <usize>iy * cStride;
    let crf = crPlane + <usize>ny * cStride;
    let yp = yPlane + <usize>y * yStride;
    // Column sums 3 * near + far, 8 chroma columns per step, carried from
    // step to step: the left / right neighbours are the sums shifted by one
    // lane (palignr) with the last lane of the previous step / the first of
    // the next. Only lane 7 of the first "previous" (column -1) is used.
    let cbPrev = colsum3(cbn - 8, cbf - 8);
    let cbCur = colsum3(cbn, cbf);
    let crPrev = colsum3(crn - 8, crf - 8);
    let crCur = colsum3(crn, crf);
    let o = orow;
    for (let x = 0; x < outW; x += 16) {
      cbn += 8; cbf += 8; crn += 8; crf += 8;
      const cbNext = colsum3(cbn, cbf);
      const crNext = colsum3(crn, crf);
      // (3 * this + neighbour + 8 or 7) >> 4, minus 128: the bias folded in (-2040 = 8 - 128 * 16)
      let t3 = i16x8.add(i16x8.shl(cbCur, 1), cbCur);
      let even = i16x8.shr_s(i16x8.add(i16x8.add(t3, i8x16.shuffle(cbPrev, cbCur, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29)), v128.load(CT, C_EVEN)), 4);
      let odd = i16x8.shr_s(i16x8.add(i16x8.add(t3, i8x16.shuffle(cbCur, cbNext, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17)), v128.load(CT, C_ODD)), 4);
      const cbl = i16x8.shuffle(even, odd, 0, 8, 1, 9, 2, 10, 3, 11);
      const cbh = i16x8.shuffle(even, odd, 4, 12, 5, 13, 6, 14, 7, 15);
      t3 = i16x8.add(i16x8.shl(crCur, 1), crCur);
      even = i16x8.shr_s(i16x8.add(i16x8.add(t3, i8x16.shuffle(crPrev, crCur, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29)), v128.load(CT, C_EVEN)), 4);
      odd = i16x8.shr_s(i16x8.add(i16x8.add(t3, i8x16.shuffle(crCur, crNext, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17)), v128.load(CT, C_ODD)), 4);
      const crl = i16x8.shuffle(even, odd, 0, 8, 1, 9, 2, 10, 3, 11);
      const crh = i16x8.shuffle(even, odd, 4, 12, 5, 13, 6, 14, 7, 15);
      if (x + 16 <= outW) {
        ycc16(v128.load(yp), cbl, cbh, crl, crh, o);
      } else {
        // the last pixels of a row not a multiple of 16: via a scratch block
        ycc16(v128.load(yp), cbl, cbh, crl, crh, TAIL);
        memory.copy(o, TAIL, <usize>(outW - x) << 2);
      }
      cbPrev = cbCur; cbCur = cbNext;
      crPrev = crCur; crCur = crNext;
      yp += 16;
      o += 64;
    }
    orow += rowBytes;
  }
}

/** 3 * near + far for 8 columns (u8 in, i16x8 out). */
@inline function colsum3(near: usize, far: usize): v128 {
  const n = v128.load8x8_u(near);
  return i16x8.add(i16x8.add(i16x8.shl(n, 1), n), v128.load8x8_u(far));
}

const TAILBUF: usize = memory.data(64, 16);

/** True when writeOutput may take the fused 4:2:0 path (h2v2YccRgba). */
function fusedH2v2(channels: i32, mode: i32, fancy: bool): bool {
  if (!fancy || channels != 4 || mode != 1 || ncomp != 3 || hmax != 2 || vmax != 2) return false;
  if (cget(0, F_HE) != 2 || cget(0, F_VE) != 2) return false;
  for (let c = 1; c < 3; c++) if (cget(c, F_HE) != 1 || cget(c, F_VE) != 1 || cget(c, F_CW) <= 2) return false;
  return cget(1, F_CW) == cget(2, F_CW) && cget(1, F_CH) == cget(2, F_CH) && cget(1, F_STRIDE) == cget(2, F_STRIDE);
}

/**
 * Write the output image: outW x outH pixels, `channels` (3 or 4) bytes each,
 * rows packed. mode: 0 = components are R,G,B; 1 = YCbCr; 2 = grey.
 */
export function writeOutput(out: usize, outW: i32, outH: i32, channels: i32, mode: i32, fancy: bool): void {
  if (fusedH2v2(channels, mode, fancy)) {
    h2v2YccRgba(out, outW, outH);
    return;
  }
  const rowBytes = <usize>outW * <usize>channels;
  let o = out;
  for (let y = 0; y < outH; y++) {
    if (mode == 2 || ncomp == 1) {
      greyRow(componentRow(0, y, outW, fancy), o, outW, channels);
    } else {
      const p0 = componentRow(0, y, outW, fancy);
      const p1 = componentRow(1, y, outW, fancy);
      const p2 = componentRow(2, y, outW, fancy);
      if (mode == 1) yccRow(p0, p1, p2, o, outW, channels);
      else rgbRow(p0, p1, p2, o, outW, channels);
    }
    o += rowBytes;
  }
}
