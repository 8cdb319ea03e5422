// Composing decoded tiles into a region buffer (RGBA, 4 bytes per pixel).

/** Set `n` pixels at `dst` to `value` (e.g. 0: transparent). */
export function fill_u32(dst: usize, n: i32, value: u32): void {
  const v = i32x4.splat(value);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), v);
  for (; i < n; i++) store<u32>(dst + (<usize>i << 2), value);
}

/**
 * Copy the valid part (validW x validH, top-left) of a tile `src` whose rows are
 * `srcW` pixels long into `dst` (dstW x dstH) with its top-left at (ox, oy),
 * clipped to dst on every side (offsets may be negative). Returns pixels copied.
 */
export function compose_copy(
  src: usize, srcW: i32, validW: i32, validH: i32,
  dst: usize, dstW: i32, dstH: i32, ox: i32, oy: i32,
): i32 {
  const x0 = max(0, -ox);
  const y0 = max(0, -oy);
  const x1 = min(validW, dstW - ox);
  const y1 = min(validH, dstH - oy);
  if (x1 <= x0 || y1 <= y0) return 0;
  const bytes = <usize>(x1 - x0) << 2;
  for (let y = y0; y < y1; y++) {
    memory.copy(
      dst + ((<usize>(y + oy) * <usize>dstW + <usize>(x0 + ox)) << 2),
      src + ((<usize>y * <usize>srcW + <usize>x0) << 2),
      bytes,
    );
  }
  return (x1 - x0) * (y1 - y0);
}
