// Colour conversion to RGBA (4 bytes per pixel, alpha 255).
//
// YCbCr -> RGB is full-range JFIF (ITU-R 601, as libjpeg and OpenSlide use it),
// in Q15 fixed point with one rounding per product; the scalar and SIMD paths
// compute exactly the same integers:
//   cb = Cb - 128, cr = Cr - 128, q(a, c) = (a * c + 16384) >> 15
//   R = Y + cr + q(cr, 13173)                 (1.402  = 1 + 13173/32768)
//   G = Y + q(cb, -11277) + q(cr, -23401)     (0.344136, 0.714136)
//   B = Y + cb + q(cb, 25297)                 (1.772  = 1 + 25297/32768)
// each clamped to 0..255. The SIMD path is i16x8.q15mulr_sat_s, which is q().

// @ts-ignore: decorator
@inline function q(a: i32, c: i32): i32 {
  return (a * c + 16384) >> 15;
}

// @ts-ignore: decorator
@inline function clamp8(v: i32): u32 {
  return <u32>(v < 0 ? 0 : v > 255 ? 255 : v);
}

// @ts-ignore: decorator
@inline function ycc(y: i32, cbv: i32, crv: i32): u32 {
  const cb = cbv - 128;
  const cr = crv - 128;
  const r = y + cr + q(cr, 13173);
  const g = y + q(cb, -11277) + q(cr, -23401);
  const b = y + cb + q(cb, 25297);
  return clamp8(r) | (clamp8(g) << 8) | (clamp8(b) << 16) | 0xff000000;
}

// @ts-ignore: decorator
@inline function ycc8(yv: v128, cbv: v128, crv: v128, dst: usize): void {
  const c128 = i16x8.splat(128);
  const cb = i16x8.sub(cbv, c128);
  const cr = i16x8.sub(crv, c128);
  const r = i16x8.add(i16x8.add(yv, cr), i16x8.q15mulr_sat_s(cr, i16x8.splat(13173)));
  const g = i16x8.add(yv, i16x8.add(i16x8.q15mulr_sat_s(cb, i16x8.splat(-11277)), i16x8.q15mulr_sat_s(cr, i16x8.splat(-23401))));
  const b = i16x8.add(i16x8.add(yv, cb), i16x8.q15mulr_sat_s(cb, i16x8.splat(25297)));
  const rg = i8x16.narrow_i16x8_u(r, g);
  const ba = i8x16.narrow_i16x8_u(b, i16x8.splat(255));
  v128.store(dst, i8x16.shuffle(rg, ba, 0, 8, 16, 24, 1, 9, 17, 25, 2, 10, 18, 26, 3, 11, 19, 27));
  v128.store(dst, i8x16.shuffle(rg, ba, 4, 12, 20, 28, 5, 13, 21, 29, 6, 14, 22, 30, 7, 15, 23, 31), 16);
}

/**
 * Planar Y, Cb, Cr -> RGBA. `chromaShift` 1: chroma planes at half width (4:2:2,
 * chroma index x >> 1, as Aperio 33003 / OpenSlide); 0: full width. Strides in bytes.
 */
export function ycbcr_planar_rgba(
  yp: usize, cbp: usize, crp: usize, yStride: i32, cStride: i32, chromaShift: i32,
  dst: usize, width: i32, height: i32, simd: i32,
): void {
  for (let row = 0; row < height; row++) {
    const yr = yp + <usize>row * <usize>yStride;
    const cbr = cbp + <usize>row * <usize>cStride;
    const crr = crp + <usize>row * <usize>cStride;
    const out = dst + (<usize>row * <usize>width << 2);
    let x = 0;
    if (simd) {
      if (chromaShift) {
        for (; x + 8 <= width; x += 8) {
          const yv = i16x8.extend_low_i8x16_u(v128.load64_zero(yr + <usize>x));
          let cb = v128.load32_zero(cbr + <usize>(x >> 1));
          let cr = v128.load32_zero(crr + <usize>(x >> 1));
          cb = i16x8.extend_low_i8x16_u(i8x16.shuffle(cb, cb, 0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0));
          cr = i16x8.extend_low_i8x16_u(i8x16.shuffle(cr, cr, 0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0));
          ycc8(yv, cb, cr, out + (<usize>x << 2));
        }
      } else {
        for (; x + 8 <= width; x += 8) {
          const yv = i16x8.extend_low_i8x16_u(v128.load64_zero(yr + <usize>x));
          const cb = i16x8.extend_low_i8x16_u(v128.load64_zero(cbr + <usize>x));
          const cr = i16x8.extend_low_i8x16_u(v128.load64_zero(crr + <usize>x));
          ycc8(yv, cb, cr, out + (<usize>x << 2));
        }
      }
    }
    for (; x < width; x++) {
      const cx = <usize>(x >> chromaShift);
      store<u32>(out + (<usize>x << 2), ycc(load<u8>(yr + <usize>x), load<u8>(cbr + cx), load<u8>(crr + cx)));
    }
  }
}

/** Interleaved YCbCr (3 bytes per pixel, no subsampling) -> RGBA, `n` pixels. */
export function ycbcr_interleaved_rgba(src: usize, dst: usize, n: i32, simd: i32): void {
  let i = 0;
  if (simd) {
    for (; i + 8 <= n; i += 8) {
      const p = src + <usize>(i * 3);
      const a = v128.load(p);
      const b = v128.load64_zero(p, 16);
      const yv = i16x8.extend_low_i8x16_u(i8x16.shuffle(a, b, 0, 3, 6, 9, 12, 15, 18, 21, 0, 0, 0, 0, 0, 0, 0, 0));
      const cb = i16x8.extend_low_i8x16_u(i8x16.shuffle(a, b, 1, 4, 7, 10, 13, 16, 19, 22, 0, 0, 0, 0, 0, 0, 0, 0));
      const cr = i16x8.extend_low_i8x16_u(i8x16.shuffle(a, b, 2, 5, 8, 11, 14, 17, 20, 23, 0, 0, 0, 0, 0, 0, 0, 0));
      ycc8(yv, cb, cr, dst + (<usize>i << 2));
    }
  }
  for (; i < n; i++) {
    const p = src + <usize>(i * 3);
    store<u32>(dst + (<usize>i << 2), ycc(load<u8>(p), load<u8>(p, 1), load<u8>(p, 2)));
  }
}

/**
 * Chunky 8-bit samples -> RGBA for `rows` rows of `width` pixels (row stride
 * `srcStride` bytes). spp 1: grey; 2: grey + alpha; 3: RGB; >= 4: RGBA (extra samples dropped).
 */
export function samples_rgba(src: usize, srcStride: i32, spp: i32, dst: usize, width: i32, rows: i32): void {
  for (let y = 0; y < rows; y++) {
    const s = src + <usize>y * <usize>srcStride;
    const d = dst + (<usize>y * <usize>width << 2);
    let x = 0;
    if (spp == 3) {
      const ff = i8x16.splat(-1);
      for (; x + 6 <= width; x += 4) {
        const v = v128.load(s + <usize>(x * 3));
        v128.store(d + (<usize>x << 2), i8x16.shuffle(v, ff, 0, 1, 2, 16, 3, 4, 5, 16, 6, 7, 8, 16, 9, 10, 11, 16));
      }
      for (; x < width; x++) {
        const p = s + <usize>(x * 3);
        store<u32>(d + (<usize>x << 2), <u32>load<u8>(p) | (<u32>load<u8>(p, 1) << 8) | (<u32>load<u8>(p, 2) << 16) | 0xff000000);
      }
    } else if (spp == 1) {
      for (; x < width; x++) store<u32>(d + (<usize>x << 2), (<u32>load<u8>(s + <usize>x) * 0x010101) | 0xff000000);
    } else if (spp == 2) {
      for (; x < width; x++) {
        const p = s + <usize>(x << 1);
        store<u32>(d + (<usize>x << 2), (<u32>load<u8>(p) * 0x010101) | (<u32>load<u8>(p, 1) << 24));
      }
    } else if (spp == 4) {
      memory.copy(d, s, <usize>width << 2);
    } else {
      for (; x < width; x++) store<u32>(d + (<usize>x << 2), load<u32>(s + <usize>(x * spp)));
    }
  }
}
