// Resampling of RGBA images (4 bytes per pixel, straight alpha).
//
// Both filters weight colours by alpha (they work on premultiplied values and
// divide back), so transparent pixels (0,0,0,0 - outside the slide, missing
// tiles) do not darken the edges of what is there. Arithmetic is f32x4: one
// v128 holds one pixel (r*a, g*a, b*a, a).

// @ts-ignore: decorator
@inline function premul(px: u32): v128 {
  const a = <f32>(px >>> 24);
  const v = f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(i32x4.splat(px))));
  return f32x4.mul(v, f32x4(a, a, a, 1));
}

// @ts-ignore: decorator
@inline function round8(v: f32): u32 {
  const r = <i32>Mathf.floor(v + 0.5);
  return <u32>(r < 0 ? 0 : r > 255 ? 255 : r);
}

/** sum = (sum of w*c*a, sum of w*a) over total weight `wsum` -> straight RGBA (rounded, clamped). */
// @ts-ignore: decorator
@inline function unpremul(s: v128, wsum: f32): u32 {
  const sa = f32x4.extract_lane(s, 3);
  if (sa <= 0) return 0;
  const inv = <f32>1 / sa;
  const v = f32x4.add(f32x4.mul(s, f32x4(inv, inv, inv, <f32>1 / wsum)), f32x4.splat(0.5));
  const i = i32x4.trunc_sat_f32x4_u(v);
  const b = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(i, i), i16x8.splat(0));
  return i32x4.extract_lane(b, 0);
}

/** Bytes of scratch memory resample_area needs. */
export function resample_area_scratch(sw: i32, dw: i32): i32 {
  const taps = <i32>Math.ceil(<f64>sw / <f64>dw) + 2;
  return dw * 8 + dw * taps * 4 + dw * 32 + 64;
}

/**
 * Area-average (box) resampling of `src` (sw x sh) into `dst` (dw x dh): every
 * output pixel is the average of the input area it covers, input pixels weighted
 * by the exact fraction of them inside that area. Any real factor; meant for
 * shrinking. `scratch` holds resample_area_scratch(sw, dw) bytes.
 */
export function resample_area(src: usize, sw: i32, sh: i32, dst: usize, dw: i32, dh: i32, scratch: usize): void {
  resample_area_rows(src, sw, 0, sh, sh, dst, dw, dh, 0, dh, scratch);
}

/** First input row output row `oy` of an area resample (sh -> dh) reads. */
export function area_first_row(sh: i32, dh: i32, oy: i32): i32 {
  return <i32>Math.floor(<f64>oy * (<f64>sh / <f64>dh));
}

/** One past the last input row output row `oy` reads. */
export function area_end_row(sh: i32, dh: i32, oy: i32): i32 {
  const end = <i32>Math.ceil(min(<f64>(oy + 1) * (<f64>sh / <f64>dh), <f64>sh));
  return end > sh ? sh : end;
}

/**
 * The same resampling, a band at a time (bounded memory for large images):
 * `src` holds the input rows [srcRow0, srcRow0 + srcRows) of a sw x sh image and
 * output rows [oy0, oy1) of the dw x dh result are written at `dst` (row oy0
 * first). Every output row must find its input rows in the band
 * (area_first_row >= srcRow0, area_end_row <= srcRow0 + srcRows). The
 * arithmetic is the whole-image kernel's, so bands give the same bytes.
 */
export function resample_area_rows(
  src: usize, sw: i32, srcRow0: i32, srcRows: i32, sh: i32,
  dst: usize, dw: i32, dh: i32, oy0: i32, oy1: i32, scratch: usize,
): void {
  const sx = <f64>sw / <f64>dw;
  const sy = <f64>sh / <f64>dh;
  const taps = <i32>Math.ceil(sx) + 2;
  const xStart = (scratch + 15) & ~15;
  const xCount = xStart + (<usize>dw << 2);
  const xWeight = xCount + (<usize>dw << 2);
  const tmp = (xWeight + <usize>(dw * taps * 4) + 15) & ~15;
  const acc = tmp + (<usize>dw << 4);
  for (let ox = 0; ox < dw; ox++) {
    const x0 = <f64>ox * sx;
    const x1 = min(<f64>(ox + 1) * sx, <f64>sw);
    const i0 = <i32>Math.floor(x0);
    let i1 = <i32>Math.ceil(x1);
    if (i1 > sw) i1 = sw;
    if (i1 - i0 > taps) i1 = i0 + taps;
    store<i32>(xStart + (<usize>ox << 2), i0);
    store<i32>(xCount + (<usize>ox << 2), i1 - i0);
    for (let i = i0; i < i1; i++) {
      const w = min(<f64>(i + 1), x1) - max(<f64>i, x0);
      store<f32>(xWeight + (<usize>(ox * taps + i - i0) << 2), <f32>w);
    }
  }
  const rowBytes = <usize>sw << 2;
  const srcEnd = srcRow0 + srcRows;
  let tmpRow = -1;
  for (let oy = oy0; oy < oy1; oy++) {
    const y0 = <f64>oy * sy;
    const y1 = min(<f64>(oy + 1) * sy, <f64>sh);
    let j0 = <i32>Math.floor(y0);
    let j1 = <i32>Math.ceil(y1);
    if (j1 > sh) j1 = sh;
    // a caller that breaks the precondition gets rows clipped to the band, not a stray read
    if (j0 < srcRow0) j0 = srcRow0;
    if (j1 > srcEnd) j1 = srcEnd;
    memory.fill(acc, 0, <usize>dw << 4);
    for (let j = j0; j < j1; j++) {
      const wy = f32x4.splat(<f32>(min(<f64>(j + 1), y1) - max(<f64>j, y0)));
      if (j != tmpRow) {
        // horizontal pass of input row j into tmp (each row once: rows shared by two
        // output rows are the last of one and the first of the next)
        const row = src + <usize>(j - srcRow0) * rowBytes;
        for (let ox = 0; ox < dw; ox++) {
          const i0 = load<i32>(xStart + (<usize>ox << 2));
          const n = load<i32>(xCount + (<usize>ox << 2));
          const wp = xWeight + (<usize>(ox * taps) << 2);
          let s = f32x4.splat(0);
          for (let t = 0; t < n; t++) {
            const px = load<u32>(row + (<usize>(i0 + t) << 2));
            if (px >>> 24 == 0) continue;
            s = f32x4.add(s, f32x4.mul(premul(px), f32x4.splat(load<f32>(wp + (<usize>t << 2)))));
          }
          v128.store(tmp + (<usize>ox << 4), s);
        }
        tmpRow = j;
      }
      for (let ox = 0; ox < dw; ox++) {
        const ap = acc + (<usize>ox << 4);
        v128.store(ap, f32x4.add(v128.load(ap), f32x4.mul(v128.load(tmp + (<usize>ox << 4)), wy)));
      }
    }
    const out = dst + (<usize>(oy - oy0) * <usize>dw << 2);
    const wyTotal = <f32>(y1 - y0);
    for (let ox = 0; ox < dw; ox++) {
      const x0 = <f64>ox * sx;
      const x1 = min(<f64>(ox + 1) * sx, <f64>sw);
      store<u32>(out + (<usize>ox << 2), unpremul(v128.load(acc + (<usize>ox << 4)), wyTotal * <f32>(x1 - x0)));
    }
  }
}

/** Bytes of scratch memory resample_bilinear needs. */
export function resample_bilinear_scratch(sw: i32, dw: i32): i32 {
  return dw * 12 + sw * 32 + 64;
}

/** Row `y` of src as premultiplied f32x4 pixels at `out`. */
function premulRow(src: usize, sw: i32, y: i32, out: usize): void {
  const row = src + (<usize>y * <usize>sw << 2);
  for (let x = 0; x < sw; x++) v128.store(out + (<usize>x << 4), premul(load<u32>(row + (<usize>x << 2))));
}

/**
 * Bilinear resampling of `src` (sw x sh) into `dst` (dw x dh), pixel centres
 * aligned ((x + 0.5) * sw / dw - 0.5, clamped at the borders). Meant for enlarging.
 * `scratch` holds resample_bilinear_scratch(sw, dw) bytes.
 */
export function resample_bilinear(src: usize, sw: i32, sh: i32, dst: usize, dw: i32, dh: i32, scratch: usize): void {
  const sx = <f64>sw / <f64>dw;
  const sy = <f64>sh / <f64>dh;
  const rowA = (scratch + 15) & ~15; // premultiplied source rows (two, swapped as y advances)
  const rowB = rowA + (<usize>sw << 4);
  const xi = rowB + (<usize>sw << 4); // i32 x0, i32 x1, f32 tx per output column
  for (let ox = 0; ox < dw; ox++) {
    let fx = (<f64>ox + 0.5) * sx - 0.5;
    if (fx < 0) fx = 0;
    if (fx > <f64>(sw - 1)) fx = <f64>(sw - 1);
    const x0 = <i32>fx;
    const e = xi + <usize>(ox * 12);
    store<i32>(e, x0);
    store<i32>(e, min(x0 + 1, sw - 1), 4);
    store<f32>(e, <f32>(fx - <f64>x0), 8);
  }
  let r0 = rowA, r1 = rowB;
  let have0 = -1, have1 = -1;
  for (let oy = 0; oy < dh; oy++) {
    let fy = (<f64>oy + 0.5) * sy - 0.5;
    if (fy < 0) fy = 0;
    if (fy > <f64>(sh - 1)) fy = <f64>(sh - 1);
    const y0 = <i32>fy;
    const y1 = min(y0 + 1, sh - 1);
    const ty = f32x4.splat(<f32>(fy - <f64>y0));
    if (have0 != y0) {
      if (have1 == y0) {
        const t = r0; r0 = r1; r1 = t; have0 = y0; have1 = -1;
      } else {
        premulRow(src, sw, y0, r0); have0 = y0;
      }
    }
    if (have1 != y1) {
      premulRow(src, sw, y1, r1); have1 = y1;
    }
    const out = dst + (<usize>oy * <usize>dw << 2);
    for (let ox = 0; ox < dw; ox++) {
      const e = xi + <usize>(ox * 12);
      const a0 = <usize>load<i32>(e) << 4;
      const a1 = <usize>load<i32>(e, 4) << 4;
      const tx = f32x4.splat(load<f32>(e, 8));
      const a = v128.load(r0 + a0), b = v128.load(r0 + a1);
      const c = v128.load(r1 + a0), d = v128.load(r1 + a1);
      const top = f32x4.add(a, f32x4.mul(f32x4.sub(b, a), tx));
      const bot = f32x4.add(c, f32x4.mul(f32x4.sub(d, c), tx));
      store<u32>(out + (<usize>ox << 2), unpremul(f32x4.add(top, f32x4.mul(f32x4.sub(bot, top), ty)), 1));
    }
  }
}
