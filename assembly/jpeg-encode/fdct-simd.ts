// The same islow forward DCT as fdct.ts, four columns at a time in i32x4 lanes.
// Integer operations are the same as the scalar version's, so the coefficients
// are identical. Input: the level-shifted block TRANSPOSED (column-major, as
// the encoder's block loaders write it when SIMD is on); output: coefficients in
// natural (row-major) order at `out`.

// @ts-ignore: decorator
@inline function splat(v: i32): v128 {
  return i32x4.splat(v);
}

// @ts-ignore: decorator
@inline function descale(x: v128, n: i32): v128 {
  return i32x4.shr_s(i32x4.add(x, splat(1 << (n - 1))), n);
}

/** One 1-D pass along r (rows of 8 i32 at p + r*32) for 4 lanes at p. */
// @ts-ignore: decorator
@inline function vpass(p: usize, second: bool): void {
  const d0 = v128.load(p), d1 = v128.load(p, 32), d2 = v128.load(p, 64), d3 = v128.load(p, 96);
  const d4 = v128.load(p, 128), d5 = v128.load(p, 160), d6 = v128.load(p, 192), d7 = v128.load(p, 224);
  const tmp0 = i32x4.add(d0, d7), tmp7 = i32x4.sub(d0, d7), tmp1 = i32x4.add(d1, d6), tmp6 = i32x4.sub(d1, d6);
  const tmp2 = i32x4.add(d2, d5), tmp5 = i32x4.sub(d2, d5), tmp3 = i32x4.add(d3, d4), tmp4 = i32x4.sub(d3, d4);
  const tmp10 = i32x4.add(tmp0, tmp3), tmp13 = i32x4.sub(tmp0, tmp3), tmp11 = i32x4.add(tmp1, tmp2), tmp12 = i32x4.sub(tmp1, tmp2);
  const sh = second ? 15 : 11; // CONST_BITS +/- PASS1_BITS
  if (second) {
    v128.store(p, descale(i32x4.add(tmp10, tmp11), 2));
    v128.store(p, descale(i32x4.sub(tmp10, tmp11), 2), 128);
  } else {
    v128.store(p, i32x4.shl(i32x4.add(tmp10, tmp11), 2));
    v128.store(p, i32x4.shl(i32x4.sub(tmp10, tmp11), 2), 128);
  }
  let z1 = i32x4.mul(i32x4.add(tmp12, tmp13), splat(4433));
  v128.store(p, descale(i32x4.add(z1, i32x4.mul(tmp13, splat(6270))), sh), 64);
  v128.store(p, descale(i32x4.sub(z1, i32x4.mul(tmp12, splat(15137))), sh), 192);
  z1 = i32x4.add(tmp4, tmp7);
  let z2 = i32x4.add(tmp5, tmp6), z3 = i32x4.add(tmp4, tmp6), z4 = i32x4.add(tmp5, tmp7);
  const z5 = i32x4.mul(i32x4.add(z3, z4), splat(9633));
  const t4 = i32x4.mul(tmp4, splat(2446));
  const t5 = i32x4.mul(tmp5, splat(16819));
  const t6 = i32x4.mul(tmp6, splat(25172));
  const t7 = i32x4.mul(tmp7, splat(12299));
  z1 = i32x4.mul(z1, splat(-7373));
  z2 = i32x4.mul(z2, splat(-20995));
  z3 = i32x4.add(i32x4.mul(z3, splat(-16069)), z5);
  z4 = i32x4.add(i32x4.mul(z4, splat(-3196)), z5);
  v128.store(p, descale(i32x4.add(i32x4.add(t4, z1), z3), sh), 224);
  v128.store(p, descale(i32x4.add(i32x4.add(t5, z2), z4), sh), 160);
  v128.store(p, descale(i32x4.add(i32x4.add(t6, z2), z3), sh), 96);
  v128.store(p, descale(i32x4.add(i32x4.add(t7, z1), z4), sh), 32);
}

/** Transpose the 4x4 i32 block at src (row stride 32 bytes) into dst (row stride 32). */
// @ts-ignore: decorator
@inline function t4x4(src: usize, dst: usize): void {
  const a = v128.load(src), b = v128.load(src, 32), c = v128.load(src, 64), d = v128.load(src, 96);
  const t0 = i32x4.shuffle(a, b, 0, 4, 1, 5), t1 = i32x4.shuffle(a, b, 2, 6, 3, 7);
  const t2 = i32x4.shuffle(c, d, 0, 4, 1, 5), t3 = i32x4.shuffle(c, d, 2, 6, 3, 7);
  v128.store(dst, i32x4.shuffle(t0, t2, 0, 1, 4, 5));
  v128.store(dst, i32x4.shuffle(t0, t2, 2, 3, 6, 7), 32);
  v128.store(dst, i32x4.shuffle(t1, t3, 0, 1, 4, 5), 64);
  v128.store(dst, i32x4.shuffle(t1, t3, 2, 3, 6, 7), 96);
}

/** Forward DCT of the transposed block `tb` into `out` (natural order). `tb` is clobbered. */
export function fdct8x8_simd(tb: usize, out: usize): void {
  // rows of the image are columns of tb: pass 1 along r of tb
  vpass(tb, false);
  vpass(tb + 16, false);
  // transpose back: out = tb^T
  t4x4(tb, out);
  t4x4(tb + 16, out + 128);
  t4x4(tb + 128, out + 16);
  t4x4(tb + 144, out + 144);
  // pass 2 along the image's columns
  vpass(out, true);
  vpass(out + 16, true);
}
