// Inverse DCTs, bit-exact with libjpeg-turbo's "islow" (jidctint.c) and its
// reduced-size versions (jidctred.c) for scaled output. Coefficients arrive
// dequantised (i16, natural order), except for idct8x8, which dequantises them
// itself (16-bit products, like libjpeg-turbo's SIMD code). Output samples are
// level-shifted (+128) and clamped to 0..255 into a plane with the given row
// stride.
//
// idct8x8 is the v128 SIMD version: each 1-D pass runs on all 8 columns (then
// rows) at once with i32x4.dot_i16x8_s on interleaved i16 pairs, the layout of
// libjpeg-turbo's SSE2 islow (same constants, same descaling, 16-bit
// intermediates between the passes), with an 8x8 i16 transpose between the
// passes and a byte transpose at the end; blocks whose coefficients all lie in
// the top-left 4x4 take idct1dSparse (the same sums without the zero terms). idct4x4 is
// the SIMD jidctred.c 4x4. The *Scalar functions are line-by-line ports of
// the C code; the tests check the SIMD output against them.

const CONST_BITS = 13;
const PASS1_BITS = 2;
const FIX_0_298631336 = 2446;
const FIX_0_390180644 = 3196;
const FIX_0_541196100 = 4433;
const FIX_0_765366865 = 6270;
const FIX_0_899976223 = 7373;
const FIX_1_175875602 = 9633;
const FIX_1_501321110 = 12299;
const FIX_1_847759065 = 15137;
const FIX_1_961570560 = 16069;
const FIX_2_053119869 = 16819;
const FIX_2_562915447 = 20995;
const FIX_3_072711026 = 25172;
// jidctred.c
const FIX_0_211164243 = 1730;
const FIX_0_509795579 = 4176;
const FIX_0_601344887 = 4926;
const FIX_0_720959822 = 5906;
const FIX_0_850430095 = 6967;
const FIX_1_061594337 = 8697;
const FIX_1_272758580 = 10426;
const FIX_1_451774981 = 11893;
const FIX_2_172734803 = 17799;
const FIX_3_624509785 = 29692;

const WSI: usize = memory.data(8 * 8 * 4, 16);

@inline function clamp255(v: i32): u8 {
  return <u8>(v < 0 ? 0 : v > 255 ? 255 : v);
}

@inline function pairs(k0: i32, k1: i32): v128 {
  return i32x4.splat((k1 << 16) | (k0 & 0xffff));
}

/**
 * 1-D islow on all 8 lanes with i32x4.dot_i16x8_s (libjpeg-turbo's SSE2
 * layout: the rotations are rewritten as two-term dot products with i16
 * constants, exactly equal to the C expressions). Inputs: 8 i16x8 rows at
 * src + 16k; outputs: 8 i16x8 rows at dst + 16k, descaled by `shift`.
 */
@inline function idct1dDot(src: usize, dst: usize, shift: i32, q: usize = 0): void {
  let r0 = v128.load(src, 0);
  let r1 = v128.load(src, 16);
  let r2 = v128.load(src, 32);
  let r3 = v128.load(src, 48);
  let r4 = v128.load(src, 64);
  let r5 = v128.load(src, 80);
  let r6 = v128.load(src, 96);
  let r7 = v128.load(src, 112);
  if (q != 0) {
    // dequantise (16-bit products, pmullw, like libjpeg-turbo's SIMD islow)
    r0 = i16x8.mul(r0, v128.load(q, 0));
    r1 = i16x8.mul(r1, v128.load(q, 16));
    r2 = i16x8.mul(r2, v128.load(q, 32));
    r3 = i16x8.mul(r3, v128.load(q, 48));
    r4 = i16x8.mul(r4, v128.load(q, 64));
    r5 = i16x8.mul(r5, v128.load(q, 80));
    r6 = i16x8.mul(r6, v128.load(q, 96));
    r7 = i16x8.mul(r7, v128.load(q, 112));
  }
  const rnd = i32x4.splat(1 << (shift - 1));
  // even part
  let lo = i16x8.shuffle(r2, r6, 0, 8, 1, 9, 2, 10, 3, 11);
  let hi = i16x8.shuffle(r2, r6, 4, 12, 5, 13, 6, 14, 7, 15);
  const k3 = pairs(FIX_0_541196100 + FIX_0_765366865, FIX_0_541196100);
  const k2 = pairs(FIX_0_541196100, FIX_0_541196100 - FIX_1_847759065);
  const tmp3l = i32x4.dot_i16x8_s(lo, k3);
  const tmp3h = i32x4.dot_i16x8_s(hi, k3);
  const tmp2l = i32x4.dot_i16x8_s(lo, k2);
  const tmp2h = i32x4.dot_i16x8_s(hi, k2);
  lo = i16x8.shuffle(r0, r4, 0, 8, 1, 9, 2, 10, 3, 11);
  hi = i16x8.shuffle(r0, r4, 4, 12, 5, 13, 6, 14, 7, 15);
  const kp = pairs(1 << CONST_BITS, 1 << CONST_BITS);
  const km = pairs(1 << CONST_BITS, -(1 << CONST_BITS));
  const tmp0l = i32x4.add(i32x4.dot_i16x8_s(lo, kp), rnd);
  const tmp0h = i32x4.add(i32x4.dot_i16x8_s(hi, kp), rnd);
  const tmp1l = i32x4.add(i32x4.dot_i16x8_s(lo, km), rnd);
  const tmp1h = i32x4.add(i32x4.dot_i16x8_s(hi, km), rnd);
  const tmp10l = i32x4.add(tmp0l, tmp3l);
  const tmp10h = i32x4.add(tmp0h, tmp3h);
  const tmp13l = i32x4.sub(tmp0l, tmp3l);
  const tmp13h = i32x4.sub(tmp0h, tmp3h);
  const tmp11l = i32x4.add(tmp1l, tmp2l);
  const tmp11h = i32x4.add(tmp1h, tmp2h);
  const tmp12l = i32x4.sub(tmp1l, tmp2l);
  const tmp12h = i32x4.sub(tmp1h, tmp2h);
  // odd part: t0 = r7, t1 = r5, t2 = r3, t3 = r1
  const z3 = i16x8.add(r7, r3);
  const z4 = i16x8.add(r5, r1);
  lo = i16x8.shuffle(z3, z4, 0, 8, 1, 9, 2, 10, 3, 11);
  hi = i16x8.shuffle(z3, z4, 4, 12, 5, 13, 6, 14, 7, 15);
  const kz3 = pairs(FIX_1_175875602 - FIX_1_961570560, FIX_1_175875602);
  const kz4 = pairs(FIX_1_175875602, FIX_1_175875602 - FIX_0_390180644);
  const z3l = i32x4.dot_i16x8_s(lo, kz3);
  const z3h = i32x4.dot_i16x8_s(hi, kz3);
  const z4l = i32x4.dot_i16x8_s(lo, kz4);
  const z4h = i32x4.dot_i16x8_s(hi, kz4);
  lo = i16x8.shuffle(r7, r1, 0, 8, 1, 9, 2, 10, 3, 11);
  hi = i16x8.shuffle(r7, r1, 4, 12, 5, 13, 6, 14, 7, 15);
  const k0 = pairs(FIX_0_298631336 - FIX_0_899976223, -FIX_0_899976223);
  const k3o = pairs(-FIX_0_899976223, FIX_1_501321110 - FIX_0_899976223);
  const o0l = i32x4.add(i32x4.dot_i16x8_s(lo, k0), z3l);
  const o0h = i32x4.add(i32x4.dot_i16x8_s(hi, k0), z3h);
  const o3l = i32x4.add(i32x4.dot_i16x8_s(lo, k3o), z4l);
  const o3h = i32x4.add(i32x4.dot_i16x8_s(hi, k3o), z4h);
  lo = i16x8.shuffle(r5, r3, 0, 8, 1, 9, 2, 10, 3, 11);
  hi = i16x8.shuffle(r5, r3, 4, 12, 5, 13, 6, 14, 7, 15);
  const k1 = pairs(FIX_2_053119869 - FIX_2_562915447, -FIX_2_562915447);
  const k2o = pairs(-FIX_2_562915447, FIX_3_072711026 - FIX_2_562915447);
  const o1l = i32x4.add(i32x4.dot_i16x8_s(lo, k1), z4l);
  const o1h = i32x4.add(i32x4.dot_i16x8_s(hi, k1), z4h);
  const o2l = i32x4.add(i32x4.dot_i16x8_s(lo, k2o), z3l);
  const o2h = i32x4.add(i32x4.dot_i16x8_s(hi, k2o), z3h);
  v128.store(dst, i16x8.narrow_i32x4_s(i32x4.shr_s(i32x4.add(tmp10l, o3l), shift), i32x4.shr_s(i32x4.add(tmp10h, o3h), shift)), 0);
  v128.store(dst, i16x8.narrow_i32x4_s(i32x4.shr_s(i32x4.sub(tmp10l, o3l), shift), i32x4.shr_s(i32x4.sub(tmp10h, o3h), shift)), 112);
  v128.store(dst, i16x8.narrow_i32x4_s(i32x4.shr_s(i32x4.add(tmp11l, o2l), shift), i32x4.shr_s(i32x4.add(tmp11h, o2h), shift)), 16);
  v128.store(dst, i16x8.narrow_i32x4_s(i32x4.shr_s(i32x4.sub(tmp11l, o2l), shift), i32x4.shr_s(i32x4.sub(tmp11h, o2h), shift)), 96);
  v128.store(dst, i16x8.narrow_i32x4_s(i32x4.shr_s(i32x4.add(tmp12l, o1l), shift), i32x4.shr_s(i32x4.add(tmp12h, o1h), shift)), 32);
  v128.store(dst, i16x8.narrow_i32x4_s(i32x4.shr_s(i32x4.sub(tmp12l, o1l), shift), i32x4.shr_s(i32x4.sub(tmp12h, o1h), shift)), 80);
  v128.store(dst, i16x8.narrow_i32x4_s(i32x4.shr_s(i32x4.add(tmp13l, o0l), shift), i32x4.shr_s(i32x4.add(tmp13h, o0h), shift)), 48);
  v128.store(dst, i16x8.narrow_i32x4_s(i32x4.shr_s(i32x4.sub(tmp13l, o0l), shift), i32x4.shr_s(i32x4.sub(tmp13h, o0h), shift)), 64);
}

/**
 * idct1dDot when rows 4-7 of the input are zero (r4 = r5 = r6 = r7 = 0).
 * Each output is then one dot product on (r0, r2) or (r3, r1) pairs, with
 * the constants of idct1dDot summed (exact integer identities; r7 + r3 and
 * r5 + r1 are r3 and r1 exactly):
 *   tmp10/13 = 8192 r0 +- (F541 + F765) r2,  tmp11/12 = 8192 r0 +- F541 r2
 *   o0 = (F1175 - F1961) r3 + (F1175 - F0899) r1
 *   o3 = F1175 r3 + (F1175 - F0390 + F1501 - F0899) r1
 *   o1 = (F1175 - F2562) r3 + (F1175 - F0390) r1
 *   o2 = (F1175 - F1961 + F3072 - F2562) r3 + F1175 r1
 * both8: all 8 lanes; otherwise lanes 0-3 only (columns 4-7 of the input
 * are zero too, so are those of the output), 4-7 stored as zero.
 */
@inline function idct1dSparse(src: usize, dst: usize, shift: i32, q: usize, both8: bool): void {
  let r0 = v128.load(src, 0);
  let r1 = v128.load(src, 16);
  let r2 = v128.load(src, 32);
  let r3 = v128.load(src, 48);
  if (q != 0) {
    r0 = i16x8.mul(r0, v128.load(q, 0));
    r1 = i16x8.mul(r1, v128.load(q, 16));
    r2 = i16x8.mul(r2, v128.load(q, 32));
    r3 = i16x8.mul(r3, v128.load(q, 48));
  }
  const rnd = i32x4.splat(1 << (shift - 1));
  const k10 = pairs(1 << CONST_BITS, FIX_0_541196100 + FIX_0_765366865);
  const k13 = pairs(1 << CONST_BITS, -(FIX_0_541196100 + FIX_0_765366865));
  const k11 = pairs(1 << CONST_BITS, FIX_0_541196100);
  const k12 = pairs(1 << CONST_BITS, -FIX_0_541196100);
  const ko0 = pairs(FIX_1_175875602 - FIX_1_961570560, FIX_1_175875602 - FIX_0_899976223);
  const ko3 = pairs(FIX_1_175875602, FIX_1_175875602 - FIX_0_390180644 + FIX_1_501321110 - FIX_0_899976223);
  const ko1 = pairs(FIX_1_175875602 - FIX_2_562915447, FIX_1_175875602 - FIX_0_390180644);
  const ko2 = pairs(FIX_1_175875602 - FIX_1_961570560 + FIX_3_072711026 - FIX_2_562915447, FIX_1_175875602);
  let e = i16x8.shuffle(r0, r2, 0, 8, 1, 9, 2, 10, 3, 11);
  let o = i16x8.shuffle(r3, r1, 0, 8, 1, 9, 2, 10, 3, 11);
  const t10l = i32x4.add(i32x4.dot_i16x8_s(e, k10), rnd);
  const t13l = i32x4.add(i32x4.dot_i16x8_s(e, k13), rnd);
  const t11l = i32x4.add(i32x4.dot_i16x8_s(e, k11), rnd);
  const t12l = i32x4.add(i32x4.dot_i16x8_s(e, k12), rnd);
  const o0l = i32x4.dot_i16x8_s(o, ko0);
  const o3l = i32x4.dot_i16x8_s(o, ko3);
  const o1l = i32x4.dot_i16x8_s(o, ko1);
  const o2l = i32x4.dot_i16x8_s(o, ko2);
  let t10h = i32x4.splat(0), t13h = t10h, t11h = t10h, t12h = t10h, o0h = t10h, o3h = t10h, o1h = t10h, o2h = t10h;
  if (both8) {
    e = i16x8.shuffle(r0, r2, 4, 12, 5, 13, 6, 14, 7, 15);
    o = i16x8.shuffle(r3, r1, 4, 12, 5, 13, 6, 14, 7, 15);
    t10h = i32x4.add(i32x4.dot_i16x8_s(e, k10), rnd);
    t13h = i32x4.add(i32x4.dot_i16x8_s(e, k13), rnd);
    t11h = i32x4.add(i32x4.dot_i16x8_s(e, k11), rnd);
    t12h = i32x4.add(i32x4.dot_i16x8_s(e, k12), rnd);
    o0h = i32x4.dot_i16x8_s(o, ko0);
    o3h = i32x4.dot_i16x8_s(o, ko3);
    o1h = i32x4.dot_i16x8_s(o, ko1);
    o2h = i32x4.dot_i16x8_s(o, ko2);
  }
  // with !both8 the high halves are zero, and so is (0 >> shift) after the narrow
  v128.store(dst, i16x8.narrow_i32x4_s(i32x4.shr_s(i32x4.add(t10l, o3l), shift), i32x4.shr_s(i32x4.add(t10h, o3h), shift)), 0);
  v128.store(dst, i16x8.narrow_i32x4_s(i32x4.shr_s(i32x4.sub(t10l, o3l), shift), i32x4.shr_s(i32x4.sub(t10h, o3h), shift)), 112);
  v128.store(dst, i16x8.narrow_i32x4_s(i32x4.shr_s(i32x4.add(t11l, o2l), shift), i32x4.shr_s(i32x4.add(t11h, o2h), shift)), 16);
  v128.store(dst, i16x8.narrow_i32x4_s(i32x4.shr_s(i32x4.sub(t11l, o2l), shift), i32x4.shr_s(i32x4.sub(t11h, o2h), shift)), 96);
  v128.store(dst, i16x8.narrow_i32x4_s(i32x4.shr_s(i32x4.add(t12l, o1l), shift), i32x4.shr_s(i32x4.add(t12h, o1h), shift)), 32);
  v128.store(dst, i16x8.narrow_i32x4_s(i32x4.shr_s(i32x4.sub(t12l, o1l), shift), i32x4.shr_s(i32x4.sub(t12h, o1h), shift)), 80);
  v128.store(dst, i16x8.narrow_i32x4_s(i32x4.shr_s(i32x4.add(t13l, o0l), shift), i32x4.shr_s(i32x4.add(t13h, o0h), shift)), 48);
  v128.store(dst, i16x8.narrow_i32x4_s(i32x4.shr_s(i32x4.sub(t13l, o0l), shift), i32x4.shr_s(i32x4.sub(t13h, o0h), shift)), 64);
}

/** Transpose 8x8 i16 from src to dst (both 16-byte rows). */
@inline function transpose16(src: usize, dst: usize): void {
  const r0 = v128.load(src, 0);
  const r1 = v128.load(src, 16);
  const r2 = v128.load(src, 32);
  const r3 = v128.load(src, 48);
  const r4 = v128.load(src, 64);
  const r5 = v128.load(src, 80);
  const r6 = v128.load(src, 96);
  const r7 = v128.load(src, 112);
  const a0 = i16x8.shuffle(r0, r1, 0, 8, 1, 9, 2, 10, 3, 11);
  const a1 = i16x8.shuffle(r0, r1, 4, 12, 5, 13, 6, 14, 7, 15);
  const a2 = i16x8.shuffle(r2, r3, 0, 8, 1, 9, 2, 10, 3, 11);
  const a3 = i16x8.shuffle(r2, r3, 4, 12, 5, 13, 6, 14, 7, 15);
  const a4 = i16x8.shuffle(r4, r5, 0, 8, 1, 9, 2, 10, 3, 11);
  const a5 = i16x8.shuffle(r4, r5, 4, 12, 5, 13, 6, 14, 7, 15);
  const a6 = i16x8.shuffle(r6, r7, 0, 8, 1, 9, 2, 10, 3, 11);
  const a7 = i16x8.shuffle(r6, r7, 4, 12, 5, 13, 6, 14, 7, 15);
  const b0 = i32x4.shuffle(a0, a2, 0, 4, 1, 5);
  const b1 = i32x4.shuffle(a0, a2, 2, 6, 3, 7);
  const b2 = i32x4.shuffle(a1, a3, 0, 4, 1, 5);
  const b3 = i32x4.shuffle(a1, a3, 2, 6, 3, 7);
  const b4 = i32x4.shuffle(a4, a6, 0, 4, 1, 5);
  const b5 = i32x4.shuffle(a4, a6, 2, 6, 3, 7);
  const b6 = i32x4.shuffle(a5, a7, 0, 4, 1, 5);
  const b7 = i32x4.shuffle(a5, a7, 2, 6, 3, 7);
  v128.store(dst, i64x2.shuffle(b0, b4, 0, 2), 0);
  v128.store(dst, i64x2.shuffle(b0, b4, 1, 3), 16);
  v128.store(dst, i64x2.shuffle(b1, b5, 0, 2), 32);
  v128.store(dst, i64x2.shuffle(b1, b5, 1, 3), 48);
  v128.store(dst, i64x2.shuffle(b2, b6, 0, 2), 64);
  v128.store(dst, i64x2.shuffle(b2, b6, 1, 3), 80);
  v128.store(dst, i64x2.shuffle(b3, b7, 0, 2), 96);
  v128.store(dst, i64x2.shuffle(b3, b7, 1, 3), 112);
}

const WSA: usize = memory.data(128, 16);
const WSB: usize = memory.data(128, 16);

/** Multiply the 64 coefficients at blk by the u16 table at q, in place, keeping 16 bits. */
export function dequantize(blk: usize, q: usize): void {
  for (let i: usize = 0; i < 128; i += 16) v128.store(blk + i, i16x8.mul(v128.load(blk + i), v128.load(q + i)));
}

/** Full 8x8 islow (SIMD, dot-product form) of the coefficients at blk dequantised by the table at q. */
export function idct8x8(blk: usize, q: usize, out: usize, stride: usize): void {
  // Coefficients only in the top-left 4x4 (a third of the blocks of the 4:2:0
  // bench tiles): the same arithmetic with the zero terms left out.
  const lo = v128.or(v128.or(v128.load(blk, 0), v128.load(blk, 16)), v128.or(v128.load(blk, 32), v128.load(blk, 48)));
  const hi = v128.or(v128.or(v128.load(blk, 64), v128.load(blk, 80)), v128.or(v128.load(blk, 96), v128.load(blk, 112)));
  if (i64x2.extract_lane(lo, 1) == 0 && !v128.any_true(hi)) {
    idct1dSparse(blk, WSA, CONST_BITS - PASS1_BITS, q, false); // columns 0-3 (4-7 are zero)
    transpose16(WSA, WSB); // rows 4-7 of WSB are zero
    idct1dSparse(WSB, WSA, CONST_BITS + PASS1_BITS + 3, 0, true);
  } else {
    idct1dDot(blk, WSA, CONST_BITS - PASS1_BITS, q); // columns: lanes = columns
    transpose16(WSA, WSB);
    idct1dDot(WSB, WSA, CONST_BITS + PASS1_BITS + 3); // rows: lanes = rows, output k = column k
  }
  // Level shift and clamp on the columns, then transpose as bytes (12
  // unpacks, libjpeg-turbo's SSE2 order): column k of the output is at WSA + 16k.
  const c128 = i16x8.splat(128);
  const p0 = i8x16.narrow_i16x8_u(i16x8.add_sat_s(v128.load(WSA, 0), c128), i16x8.add_sat_s(v128.load(WSA, 64), c128)); // c0 | c4
  const p1 = i8x16.narrow_i16x8_u(i16x8.add_sat_s(v128.load(WSA, 16), c128), i16x8.add_sat_s(v128.load(WSA, 80), c128)); // c1 | c5
  const p2 = i8x16.narrow_i16x8_u(i16x8.add_sat_s(v128.load(WSA, 32), c128), i16x8.add_sat_s(v128.load(WSA, 96), c128)); // c2 | c6
  const p3 = i8x16.narrow_i16x8_u(i16x8.add_sat_s(v128.load(WSA, 48), c128), i16x8.add_sat_s(v128.load(WSA, 112), c128)); // c3 | c7
  // byte pairs per row (16-bit lane r): (c0 c1), (c4 c5), (c2 c3), (c6 c7)
  const a01 = i8x16.shuffle(p0, p1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const a45 = i8x16.shuffle(p0, p1, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const a23 = i8x16.shuffle(p2, p3, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const a67 = i8x16.shuffle(p2, p3, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  // 4-byte groups per row (32-bit lane): c0-c3 and c4-c7, rows 0-3 and 4-7
  const b03lo = i16x8.shuffle(a01, a23, 0, 8, 1, 9, 2, 10, 3, 11);
  const b03hi = i16x8.shuffle(a01, a23, 4, 12, 5, 13, 6, 14, 7, 15);
  const b47lo = i16x8.shuffle(a45, a67, 0, 8, 1, 9, 2, 10, 3, 11);
  const b47hi = i16x8.shuffle(a45, a67, 4, 12, 5, 13, 6, 14, 7, 15);
  // whole rows, two per vector
  const r01 = i32x4.shuffle(b03lo, b47lo, 0, 4, 1, 5);
  const r23 = i32x4.shuffle(b03lo, b47lo, 2, 6, 3, 7);
  const r45 = i32x4.shuffle(b03hi, b47hi, 0, 4, 1, 5);
  const r67 = i32x4.shuffle(b03hi, b47hi, 2, 6, 3, 7);
  v128.store64_lane(out, r01, 0);
  v128.store64_lane(out + stride, r01, 1);
  v128.store64_lane(out + 2 * stride, r23, 0);
  v128.store64_lane(out + 3 * stride, r23, 1);
  v128.store64_lane(out + 4 * stride, r45, 0);
  v128.store64_lane(out + 5 * stride, r45, 1);
  v128.store64_lane(out + 6 * stride, r67, 0);
  v128.store64_lane(out + 7 * stride, r67, 1);
}

/** Scalar 8x8 islow: a line-by-line port of jpeg_idct_islow (reference for tests). */
export function idct8x8Scalar(blk: usize, out: usize, stride: usize): void {
  for (let col = 0; col < 8; col++) {
    const ip = blk + (<usize>col << 1);
    const c0 = <i32>load<i16>(ip);
    const c1 = <i32>load<i16>(ip, 16);
    const c2 = <i32>load<i16>(ip, 32);
    const c3 = <i32>load<i16>(ip, 48);
    const c4 = <i32>load<i16>(ip, 64);
    const c5 = <i32>load<i16>(ip, 80);
    const c6 = <i32>load<i16>(ip, 96);
    const c7 = <i32>load<i16>(ip, 112);
    const wp = WSI + (<usize>col << 2);
    if ((c1 | c2 | c3 | c4 | c5 | c6 | c7) == 0) {
      const dc = c0 << PASS1_BITS;
      for (let r = 0; r < 8; r++) store<i32>(wp + (<usize>r << 5), dc);
      continue;
    }
    let z1 = (c2 + c6) * FIX_0_541196100;
    let tmp2 = z1 + c6 * -FIX_1_847759065;
    let tmp3 = z1 + c2 * FIX_0_765366865;
    let tmp0 = (c0 + c4) << CONST_BITS;
    let tmp1 = (c0 - c4) << CONST_BITS;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;
    tmp0 = c7; tmp1 = c5; tmp2 = c3; tmp3 = c1;
    z1 = tmp0 + tmp3;
    let z2 = tmp1 + tmp2;
    let z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * FIX_1_175875602;
    tmp0 *= FIX_0_298631336; tmp1 *= FIX_2_053119869; tmp2 *= FIX_3_072711026; tmp3 *= FIX_1_501321110;
    z1 *= -FIX_0_899976223; z2 *= -FIX_2_562915447; z3 *= -FIX_1_961570560; z4 *= -FIX_0_390180644;
    z3 += z5; z4 += z5;
    tmp0 += z1 + z3; tmp1 += z2 + z4; tmp2 += z2 + z3; tmp3 += z1 + z4;
    const sh = CONST_BITS - PASS1_BITS;
    const rd = 1 << (sh - 1);
    store<i32>(wp, (tmp10 + tmp3 + rd) >> sh, 0);
    store<i32>(wp, (tmp10 - tmp3 + rd) >> sh, 224);
    store<i32>(wp, (tmp11 + tmp2 + rd) >> sh, 32);
    store<i32>(wp, (tmp11 - tmp2 + rd) >> sh, 192);
    store<i32>(wp, (tmp12 + tmp1 + rd) >> sh, 64);
    store<i32>(wp, (tmp12 - tmp1 + rd) >> sh, 160);
    store<i32>(wp, (tmp13 + tmp0 + rd) >> sh, 96);
    store<i32>(wp, (tmp13 - tmp0 + rd) >> sh, 128);
  }
  for (let row = 0; row < 8; row++) {
    const wp = WSI + (<usize>row << 5);
    const op = out + <usize>row * stride;
    const w0 = load<i32>(wp, 0), w1 = load<i32>(wp, 4), w2 = load<i32>(wp, 8), w3 = load<i32>(wp, 12);
    const w4 = load<i32>(wp, 16), w5 = load<i32>(wp, 20), w6 = load<i32>(wp, 24), w7 = load<i32>(wp, 28);
    const sh = CONST_BITS + PASS1_BITS + 3;
    const rd = 1 << (sh - 1);
    let z1 = (w2 + w6) * FIX_0_541196100;
    let tmp2 = z1 + w6 * -FIX_1_847759065;
    let tmp3 = z1 + w2 * FIX_0_765366865;
    let tmp0 = (w0 + w4) << CONST_BITS;
    let tmp1 = (w0 - w4) << CONST_BITS;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;
    tmp0 = w7; tmp1 = w5; tmp2 = w3; tmp3 = w1;
    z1 = tmp0 + tmp3;
    let z2 = tmp1 + tmp2;
    let z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * FIX_1_175875602;
    tmp0 *= FIX_0_298631336; tmp1 *= FIX_2_053119869; tmp2 *= FIX_3_072711026; tmp3 *= FIX_1_501321110;
    z1 *= -FIX_0_899976223; z2 *= -FIX_2_562915447; z3 *= -FIX_1_961570560; z4 *= -FIX_0_390180644;
    z3 += z5; z4 += z5;
    tmp0 += z1 + z3; tmp1 += z2 + z4; tmp2 += z2 + z3; tmp3 += z1 + z4;
    store<u8>(op, clamp255(((tmp10 + tmp3 + rd) >> sh) + 128), 0);
    store<u8>(op, clamp255(((tmp10 - tmp3 + rd) >> sh) + 128), 7);
    store<u8>(op, clamp255(((tmp11 + tmp2 + rd) >> sh) + 128), 1);
    store<u8>(op, clamp255(((tmp11 - tmp2 + rd) >> sh) + 128), 6);
    store<u8>(op, clamp255(((tmp12 + tmp1 + rd) >> sh) + 128), 2);
    store<u8>(op, clamp255(((tmp12 - tmp1 + rd) >> sh) + 128), 5);
    store<u8>(op, clamp255(((tmp13 + tmp0 + rd) >> sh) + 128), 3);
    store<u8>(op, clamp255(((tmp13 - tmp0 + rd) >> sh) + 128), 4);
  }
}

/** fillDC for an 8x8 block. */
@inline export function fillDC8(dc: i32, out: usize, stride: usize): void {
  const vv = i8x16.splat(clamp255(((dc + 4) >> 3) + 128));
  v128.store64_lane(out, vv, 0);
  v128.store64_lane(out + stride, vv, 0);
  v128.store64_lane(out + 2 * stride, vv, 0);
  v128.store64_lane(out + 3 * stride, vv, 0);
  v128.store64_lane(out + 4 * stride, vv, 0);
  v128.store64_lane(out + 5 * stride, vv, 0);
  v128.store64_lane(out + 6 * stride, vv, 0);
  v128.store64_lane(out + 7 * stride, vv, 0);
}

/** A block whose only coefficient is DC (already dequantised): one value, size x size. */
export function fillDC(dc: i32, out: usize, stride: usize, size: i32): void {
  // islow with DC only: DESCALE(dc << PASS1_BITS, PASS1_BITS + 3); the 1x1 version: DESCALE(dc, 3) - the same value.
  const v = clamp255(((dc + 4) >> 3) + 128);
  if (size == 8) {
    const vv = i8x16.splat(v);
    for (let r = 0; r < 8; r++) v128.store64_lane(out + <usize>r * stride, vv, 0);
  } else if (size == 4) {
    const w = <u32>v * 0x01010101;
    for (let r = 0; r < 4; r++) store<u32>(out + <usize>r * stride, w);
  } else if (size == 2) {
    const w = <u16>(<u32>v * 0x0101);
    store<u16>(out, w);
    store<u16>(out + stride, w);
  } else {
    store<u8>(out, v);
  }
}

const WS4: usize = memory.data(4 * 8 * 4, 16);

/** 4x4 output from an 8x8 block, SIMD: the same arithmetic as idct4x4Scalar (jpeg_idct_4x4). */
export function idct4x4(blk: usize, out: usize, stride: usize): void {
  // pass 1: columns, lanes = columns 0-3 then 4-7 (column 4 is computed and never read)
  for (let h: usize = 0; h < 2; h++) {
    const src = blk + (h << 3);
    const c0 = v128.load16x4_s(src, 0);
    const c1 = v128.load16x4_s(src, 16);
    const c2 = v128.load16x4_s(src, 32);
    const c3 = v128.load16x4_s(src, 48);
    const c5 = v128.load16x4_s(src, 80);
    const c6 = v128.load16x4_s(src, 96);
    const c7 = v128.load16x4_s(src, 112);
    const rnd = i32x4.splat(1 << (CONST_BITS - PASS1_BITS));
    const t0 = i32x4.add(i32x4.shl(c0, CONST_BITS + 1), rnd);
    const t2 = i32x4.add(i32x4.mul(c2, i32x4.splat(FIX_1_847759065)), i32x4.mul(c6, i32x4.splat(-FIX_0_765366865)));
    const tmp10 = i32x4.add(t0, t2);
    const tmp12 = i32x4.sub(t0, t2);
    const o0 = i32x4.add(
      i32x4.add(i32x4.mul(c7, i32x4.splat(-FIX_0_211164243)), i32x4.mul(c5, i32x4.splat(FIX_1_451774981))),
      i32x4.add(i32x4.mul(c3, i32x4.splat(-FIX_2_172734803)), i32x4.mul(c1, i32x4.splat(FIX_1_061594337))));
    const o2 = i32x4.add(
      i32x4.add(i32x4.mul(c7, i32x4.splat(-FIX_0_509795579)), i32x4.mul(c5, i32x4.splat(-FIX_0_601344887))),
      i32x4.add(i32x4.mul(c3, i32x4.splat(FIX_0_899976223)), i32x4.mul(c1, i32x4.splat(FIX_2_562915447))));
    const sh = CONST_BITS - PASS1_BITS + 1;
    const dst = WS4 + (h << 4);
    v128.store(dst, i32x4.shr_s(i32x4.add(tmp10, o2), sh), 0);
    v128.store(dst, i32x4.shr_s(i32x4.sub(tmp10, o2), sh), 96);
    v128.store(dst, i32x4.shr_s(i32x4.add(tmp12, o0), sh), 32);
    v128.store(dst, i32x4.shr_s(i32x4.sub(tmp12, o0), sh), 64);
  }
  // transpose the 4x8 workspace: wj = column j, lanes = rows 0-3
  let r0 = v128.load(WS4, 0);
  let r1 = v128.load(WS4, 32);
  let r2 = v128.load(WS4, 64);
  let r3 = v128.load(WS4, 96);
  let a = i32x4.shuffle(r0, r1, 0, 4, 1, 5);
  let b = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
  let c = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
  let d = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
  const w0 = i64x2.shuffle(a, c, 0, 2);
  const w1 = i64x2.shuffle(a, c, 1, 3);
  const w2 = i64x2.shuffle(b, d, 0, 2);
  const w3 = i64x2.shuffle(b, d, 1, 3);
  r0 = v128.load(WS4, 16);
  r1 = v128.load(WS4, 48);
  r2 = v128.load(WS4, 80);
  r3 = v128.load(WS4, 112);
  a = i32x4.shuffle(r0, r1, 0, 4, 1, 5);
  b = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
  c = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
  d = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
  const w5 = i64x2.shuffle(a, c, 1, 3);
  const w6 = i64x2.shuffle(b, d, 0, 2);
  const w7 = i64x2.shuffle(b, d, 1, 3);
  // pass 2: rows in lanes
  const rnd = i32x4.splat(1 << (CONST_BITS + PASS1_BITS + 3));
  const t0 = i32x4.add(i32x4.shl(w0, CONST_BITS + 1), rnd);
  const t2 = i32x4.add(i32x4.mul(w2, i32x4.splat(FIX_1_847759065)), i32x4.mul(w6, i32x4.splat(-FIX_0_765366865)));
  const tmp10 = i32x4.add(t0, t2);
  const tmp12 = i32x4.sub(t0, t2);
  const o0 = i32x4.add(
    i32x4.add(i32x4.mul(w7, i32x4.splat(-FIX_0_211164243)), i32x4.mul(w5, i32x4.splat(FIX_1_451774981))),
    i32x4.add(i32x4.mul(w3, i32x4.splat(-FIX_2_172734803)), i32x4.mul(w1, i32x4.splat(FIX_1_061594337))));
  const o2 = i32x4.add(
    i32x4.add(i32x4.mul(w7, i32x4.splat(-FIX_0_509795579)), i32x4.mul(w5, i32x4.splat(-FIX_0_601344887))),
    i32x4.add(i32x4.mul(w3, i32x4.splat(FIX_0_899976223)), i32x4.mul(w1, i32x4.splat(FIX_2_562915447))));
  const sh = CONST_BITS + PASS1_BITS + 3 + 1;
  const x0 = i32x4.shr_s(i32x4.add(tmp10, o2), sh);
  const x3 = i32x4.shr_s(i32x4.sub(tmp10, o2), sh);
  const x1 = i32x4.shr_s(i32x4.add(tmp12, o0), sh);
  const x2 = i32x4.shr_s(i32x4.sub(tmp12, o0), sh);
  const c128 = i16x8.splat(128);
  const px = i8x16.narrow_i16x8_u(i16x8.add_sat_s(i16x8.narrow_i32x4_s(x0, x1), c128), i16x8.add_sat_s(i16x8.narrow_i32x4_s(x2, x3), c128));
  const rows = i8x16.shuffle(px, px, 0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  v128.store32_lane(out, rows, 0);
  v128.store32_lane(out + stride, rows, 1);
  v128.store32_lane(out + 2 * stride, rows, 2);
  v128.store32_lane(out + 3 * stride, rows, 3);
}

/** 4x4 output from an 8x8 block (jpeg_idct_4x4), scalar reference. */
export function idct4x4Scalar(blk: usize, out: usize, stride: usize): void {
  for (let col = 0; col < 8; col++) {
    if (col == 4) continue;
    const ip = blk + (<usize>col << 1);
    const wp = WSI + (<usize>col << 2);
    const c0 = <i32>load<i16>(ip);
    const c1 = <i32>load<i16>(ip, 16);
    const c2 = <i32>load<i16>(ip, 32);
    const c3 = <i32>load<i16>(ip, 48);
    const c5 = <i32>load<i16>(ip, 80);
    const c6 = <i32>load<i16>(ip, 96);
    const c7 = <i32>load<i16>(ip, 112);
    if ((c1 | c2 | c3 | c5 | c6 | c7) == 0) {
      const dc = c0 << PASS1_BITS;
      store<i32>(wp, dc, 0);
      store<i32>(wp, dc, 32);
      store<i32>(wp, dc, 64);
      store<i32>(wp, dc, 96);
      continue;
    }
    const t0 = c0 << (CONST_BITS + 1);
    const t2 = c2 * FIX_1_847759065 + c6 * -FIX_0_765366865;
    const tmp10 = t0 + t2;
    const tmp12 = t0 - t2;
    const o0 = c7 * -FIX_0_211164243 + c5 * FIX_1_451774981 + c3 * -FIX_2_172734803 + c1 * FIX_1_061594337;
    const o2 = c7 * -FIX_0_509795579 + c5 * -FIX_0_601344887 + c3 * FIX_0_899976223 + c1 * FIX_2_562915447;
    const sh = CONST_BITS - PASS1_BITS + 1;
    const rd = 1 << (sh - 1);
    store<i32>(wp, (tmp10 + o2 + rd) >> sh, 0);
    store<i32>(wp, (tmp10 - o2 + rd) >> sh, 96);
    store<i32>(wp, (tmp12 + o0 + rd) >> sh, 32);
    store<i32>(wp, (tmp12 - o0 + rd) >> sh, 64);
  }
  for (let row = 0; row < 4; row++) {
    const wp = WSI + (<usize>row << 5);
    const op = out + <usize>row * stride;
    const w0 = load<i32>(wp, 0), w1 = load<i32>(wp, 4), w2 = load<i32>(wp, 8), w3 = load<i32>(wp, 12);
    const w5 = load<i32>(wp, 20), w6 = load<i32>(wp, 24), w7 = load<i32>(wp, 28);
    if ((w1 | w2 | w3 | w5 | w6 | w7) == 0) {
      const v = clamp255(((w0 + (1 << (PASS1_BITS + 2))) >> (PASS1_BITS + 3)) + 128);
      store<u32>(op, <u32>v * 0x01010101);
      continue;
    }
    const t0 = w0 << (CONST_BITS + 1);
    const t2 = w2 * FIX_1_847759065 + w6 * -FIX_0_765366865;
    const tmp10 = t0 + t2;
    const tmp12 = t0 - t2;
    const o0 = w7 * -FIX_0_211164243 + w5 * FIX_1_451774981 + w3 * -FIX_2_172734803 + w1 * FIX_1_061594337;
    const o2 = w7 * -FIX_0_509795579 + w5 * -FIX_0_601344887 + w3 * FIX_0_899976223 + w1 * FIX_2_562915447;
    const sh = CONST_BITS + PASS1_BITS + 3 + 1;
    const rd = 1 << (sh - 1);
    store<u8>(op, clamp255(((tmp10 + o2 + rd) >> sh) + 128), 0);
    store<u8>(op, clamp255(((tmp10 - o2 + rd) >> sh) + 128), 3);
    store<u8>(op, clamp255(((tmp12 + o0 + rd) >> sh) + 128), 1);
    store<u8>(op, clamp255(((tmp12 - o0 + rd) >> sh) + 128), 2);
  }
}

/** 2x2 output from an 8x8 block, SIMD first pass: the same arithmetic as idct2x2Scalar (jpeg_idct_2x2). */
export function idct2x2(blk: usize, out: usize, stride: usize): void {
  // pass 1: columns (lanes = columns; 2, 4, 6 are computed and never read)
  const k7 = i32x4.splat(-FIX_0_720959822);
  const k5 = i32x4.splat(FIX_0_850430095);
  const k3 = i32x4.splat(-FIX_1_272758580);
  const k1 = i32x4.splat(FIX_3_624509785);
  const rnd = i32x4.splat(1 << (CONST_BITS - PASS1_BITS + 1));
  for (let h: usize = 0; h < 2; h++) {
    const src = blk + (h << 3);
    const tmp10 = i32x4.add(i32x4.shl(v128.load16x4_s(src, 0), CONST_BITS + 2), rnd);
    const t0 = i32x4.add(
      i32x4.add(i32x4.mul(v128.load16x4_s(src, 112), k7), i32x4.mul(v128.load16x4_s(src, 80), k5)),
      i32x4.add(i32x4.mul(v128.load16x4_s(src, 48), k3), i32x4.mul(v128.load16x4_s(src, 16), k1)));
    const sh = CONST_BITS - PASS1_BITS + 2;
    v128.store(WSI + (h << 4), i32x4.shr_s(i32x4.add(tmp10, t0), sh), 0);
    v128.store(WSI + (h << 4), i32x4.shr_s(i32x4.sub(tmp10, t0), sh), 32);
  }
  // pass 2: two rows, scalar
  for (let row = 0; row < 2; row++) {
    const wp = WSI + (<usize>row << 5);
    const op = out + <usize>row * stride;
    const w0 = load<i32>(wp, 0), w1 = load<i32>(wp, 4), w3 = load<i32>(wp, 12);
    const w5 = load<i32>(wp, 20), w7 = load<i32>(wp, 28);
    const tmp10 = w0 << (CONST_BITS + 2);
    const t0 = w7 * -FIX_0_720959822 + w5 * FIX_0_850430095 + w3 * -FIX_1_272758580 + w1 * FIX_3_624509785;
    const sh = CONST_BITS + PASS1_BITS + 3 + 2;
    const rd = 1 << (sh - 1);
    store<u8>(op, clamp255(((tmp10 + t0 + rd) >> sh) + 128), 0);
    store<u8>(op, clamp255(((tmp10 - t0 + rd) >> sh) + 128), 1);
  }
}

/** 2x2 output from an 8x8 block (jpeg_idct_2x2), scalar reference. */
export function idct2x2Scalar(blk: usize, out: usize, stride: usize): void {
  for (let col = 0; col < 8; col++) {
    if (col == 2 || col == 4 || col == 6) continue;
    const ip = blk + (<usize>col << 1);
    const wp = WSI + (<usize>col << 2);
    const c0 = <i32>load<i16>(ip);
    const c1 = <i32>load<i16>(ip, 16);
    const c3 = <i32>load<i16>(ip, 48);
    const c5 = <i32>load<i16>(ip, 80);
    const c7 = <i32>load<i16>(ip, 112);
    if ((c1 | c3 | c5 | c7) == 0) {
      const dc = c0 << PASS1_BITS;
      store<i32>(wp, dc, 0);
      store<i32>(wp, dc, 32);
      continue;
    }
    const tmp10 = c0 << (CONST_BITS + 2);
    const t0 = c7 * -FIX_0_720959822 + c5 * FIX_0_850430095 + c3 * -FIX_1_272758580 + c1 * FIX_3_624509785;
    const sh = CONST_BITS - PASS1_BITS + 2;
    const rd = 1 << (sh - 1);
    store<i32>(wp, (tmp10 + t0 + rd) >> sh, 0);
    store<i32>(wp, (tmp10 - t0 + rd) >> sh, 32);
  }
  for (let row = 0; row < 2; row++) {
    const wp = WSI + (<usize>row << 5);
    const op = out + <usize>row * stride;
    const w0 = load<i32>(wp, 0), w1 = load<i32>(wp, 4), w3 = load<i32>(wp, 12);
    const w5 = load<i32>(wp, 20), w7 = load<i32>(wp, 28);
    if ((w1 | w3 | w5 | w7) == 0) {
      const v = clamp255(((w0 + (1 << (PASS1_BITS + 2))) >> (PASS1_BITS + 3)) + 128);
      store<u8>(op, v, 0);
      store<u8>(op, v, 1);
      continue;
    }
    const tmp10 = w0 << (CONST_BITS + 2);
    const t0 = w7 * -FIX_0_720959822 + w5 * FIX_0_850430095 + w3 * -FIX_1_272758580 + w1 * FIX_3_624509785;
    const sh = CONST_BITS + PASS1_BITS + 3 + 2;
    const rd = 1 << (sh - 1);
    store<u8>(op, clamp255(((tmp10 + t0 + rd) >> sh) + 128), 0);
    store<u8>(op, clamp255(((tmp10 - t0 + rd) >> sh) + 128), 1);
  }
}
