// Forward 8x8 DCT, accurate integer (the Loeffler-Ligtenberg-Moschytz algorithm
// with 13-bit constants, as IJG's jfdctint.c "islow"). Input: level-shifted
// samples (-128..127) as i32 x 64, row-major. Output in place: coefficients
// scaled up by 8 (the quantiser divides by 8 * Q).

// @ts-ignore: decorator
@inline const CONST_BITS: i32 = 13;
// @ts-ignore: decorator
@inline const PASS1_BITS: i32 = 2;
// @ts-ignore: decorator
@inline const F_0_298631336: i32 = 2446;
// @ts-ignore: decorator
@inline const F_0_390180644: i32 = 3196;
// @ts-ignore: decorator
@inline const F_0_541196100: i32 = 4433;
// @ts-ignore: decorator
@inline const F_0_765366865: i32 = 6270;
// @ts-ignore: decorator
@inline const F_0_899976223: i32 = 7373;
// @ts-ignore: decorator
@inline const F_1_175875602: i32 = 9633;
// @ts-ignore: decorator
@inline const F_1_501321110: i32 = 12299;
// @ts-ignore: decorator
@inline const F_1_847759065: i32 = 15137;
// @ts-ignore: decorator
@inline const F_1_961570560: i32 = 16069;
// @ts-ignore: decorator
@inline const F_2_053119869: i32 = 16819;
// @ts-ignore: decorator
@inline const F_2_562915447: i32 = 20995;
// @ts-ignore: decorator
@inline const F_3_072711026: i32 = 25172;

// @ts-ignore: decorator
@inline function descale(x: i32, n: i32): i32 {
  return (x + (1 << (n - 1))) >> n;
}

/** One 1-D pass over 8 values at p, p+step, ...; `pass` 1 (rows) or 2 (columns). */
// @ts-ignore: decorator
@inline function pass(p: usize, step: usize, second: bool): void {
  const d0 = load<i32>(p), d1 = load<i32>(p + step), d2 = load<i32>(p + 2 * step), d3 = load<i32>(p + 3 * step);
  const d4 = load<i32>(p + 4 * step), d5 = load<i32>(p + 5 * step), d6 = load<i32>(p + 6 * step), d7 = load<i32>(p + 7 * step);
  let tmp0 = d0 + d7, tmp7 = d0 - d7, tmp1 = d1 + d6, tmp6 = d1 - d6;
  let tmp2 = d2 + d5, tmp5 = d2 - d5, tmp3 = d3 + d4, tmp4 = d3 - d4;
  const tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3, tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2;
  const sh = second ? CONST_BITS + PASS1_BITS : CONST_BITS - PASS1_BITS;
  if (second) {
    store<i32>(p, descale(tmp10 + tmp11, PASS1_BITS));
    store<i32>(p + 4 * step, descale(tmp10 - tmp11, PASS1_BITS));
  } else {
    store<i32>(p, (tmp10 + tmp11) << PASS1_BITS);
    store<i32>(p + 4 * step, (tmp10 - tmp11) << PASS1_BITS);
  }
  let z1 = (tmp12 + tmp13) * F_0_541196100;
  store<i32>(p + 2 * step, descale(z1 + tmp13 * F_0_765366865, sh));
  store<i32>(p + 6 * step, descale(z1 - tmp12 * F_1_847759065, sh));
  z1 = tmp4 + tmp7;
  let z2 = tmp5 + tmp6, z3 = tmp4 + tmp6, z4 = tmp5 + tmp7;
  const z5 = (z3 + z4) * F_1_175875602;
  tmp4 *= F_0_298631336;
  tmp5 *= F_2_053119869;
  tmp6 *= F_3_072711026;
  tmp7 *= F_1_501321110;
  z1 *= -F_0_899976223;
  z2 *= -F_2_562915447;
  z3 = z3 * -F_1_961570560 + z5;
  z4 = z4 * -F_0_390180644 + z5;
  store<i32>(p + 7 * step, descale(tmp4 + z1 + z3, sh));
  store<i32>(p + 5 * step, descale(tmp5 + z2 + z4, sh));
  store<i32>(p + 3 * step, descale(tmp6 + z2 + z3, sh));
  store<i32>(p + step, descale(tmp7 + z1 + z4, sh));
}

/** In-place forward DCT of the 64 i32 at `block`. */
export function fdct8x8(block: usize): void {
  for (let r: usize = 0; r < 8; r++) pass(block + r * 32, 4, false);
  for (let c: usize = 0; c < 8; c++) pass(block + c * 4, 32, true);
}
