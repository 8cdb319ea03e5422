// Rotation by quarter turns (clockwise, as IIIF) and horizontal mirroring of RGBA
// images (one u32 per pixel). src and dst must not overlap.

const BLOCK: i32 = 32;

/**
 * Rotate `src` (w x h) clockwise by `quarter` * 90 degrees into `dst`
 * (h x w for 1 and 3 quarters, w x h otherwise).
 */
export function rotate_rgba(src: usize, w: i32, h: i32, dst: usize, quarter: i32): void {
  quarter &= 3;
  if (quarter == 0) {
    memory.copy(dst, src, <usize>w * <usize>h << 2);
    return;
  }
  if (quarter == 2) {
    const n = w * h;
    for (let i = 0; i < n; i++) store<u32>(dst + (<usize>(n - 1 - i) << 2), load<u32>(src + (<usize>i << 2)));
    return;
  }
  // 90: (x, y) -> (h-1-y, x), dst width h.  270: (x, y) -> (y, w-1-x).
  for (let by = 0; by < h; by += BLOCK) {
    const ey = min(by + BLOCK, h);
    for (let bx = 0; bx < w; bx += BLOCK) {
      const ex = min(bx + BLOCK, w);
      for (let y = by; y < ey; y++) {
        const row = src + (<usize>y * <usize>w << 2);
        if (quarter == 1) {
          for (let x = bx; x < ex; x++) store<u32>(dst + ((<usize>x * <usize>h + <usize>(h - 1 - y)) << 2), load<u32>(row + (<usize>x << 2)));
        } else {
          for (let x = bx; x < ex; x++) store<u32>(dst + ((<usize>(w - 1 - x) * <usize>h + <usize>y) << 2), load<u32>(row + (<usize>x << 2)));
        }
      }
    }
  }
}

/** Mirror `src` (w x h) left-right into `dst` (may be the same buffer). */
export function mirror_rgba(src: usize, w: i32, h: i32, dst: usize): void {
  for (let y = 0; y < h; y++) {
    const s = src + (<usize>y * <usize>w << 2);
    const d = dst + (<usize>y * <usize>w << 2);
    let i = 0;
    let j = w - 1;
    for (; i <= j; i++, j--) {
      const a = load<u32>(s + (<usize>i << 2));
      const b = load<u32>(s + (<usize>j << 2));
      store<u32>(d + (<usize>i << 2), b);
      store<u32>(d + (<usize>j << 2), a);
    }
  }
}
