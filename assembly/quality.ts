// IIIF qualities on RGBA: grey (ITU-R 601 luma) and bitonal (luma threshold).
// Alpha is kept. In place is fine (src == dst).
//   Y = (19595 R + 38470 G + 7471 B + 32768) >> 16   (0.299, 0.587, 0.114)

// @ts-ignore: decorator
@inline function luma(px: u32): u32 {
  return ((px & 0xff) * 19595 + ((px >> 8) & 0xff) * 38470 + ((px >> 16) & 0xff) * 7471 + 32768) >> 16;
}

/** R = G = B = luma, `n` pixels. */
export function grey_rgba(src: usize, dst: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const px = load<u32>(src + (<usize>i << 2));
    store<u32>(dst + (<usize>i << 2), (px & 0xff000000) | (luma(px) * 0x010101));
  }
}

/** R = G = B = 255 where luma >= threshold, else 0, `n` pixels. */
export function bitonal_rgba(src: usize, dst: usize, n: i32, threshold: u32): void {
  for (let i = 0; i < n; i++) {
    const px = load<u32>(src + (<usize>i << 2));
    store<u32>(dst + (<usize>i << 2), (px & 0xff000000) | (luma(px) >= threshold ? 0xffffff : 0));
  }
}
