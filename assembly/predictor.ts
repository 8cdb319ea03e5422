// TIFF horizontal differencing (Predictor 2), undone in place. Each row of a tile
// or strip is independent; within a row every sample adds the same sample of the
// pixel to its left. 8-bit samples are plain bytes; 16-bit samples are read and
// written in the file's byte order (bigEndian != 0 for "MM" files), so the
// bytes stay as stored and the caller converts once.

/** Undo Predictor 2 on `rows` rows of `width` pixels x `spp` 8-bit samples at `buf`. */
export function predictor2_u8(buf: usize, width: i32, rows: i32, spp: i32, rowStride: i32): void {
  const n = width * spp;
  for (let y = 0; y < rows; y++) {
    const row = buf + <usize>y * <usize>rowStride;
    if (spp == 3) {
      let r = load<u8>(row), g = load<u8>(row, 1), b = load<u8>(row, 2);
      for (let i = 3; i < n; i += 3) {
        const p = row + <usize>i;
        r += load<u8>(p);
        g += load<u8>(p, 1);
        b += load<u8>(p, 2);
        store<u8>(p, r);
        store<u8>(p, g, 1);
        store<u8>(p, b, 2);
      }
    } else if (spp == 4) {
      let px = load<u32>(row);
      for (let i = 4; i < n; i += 4) {
        const p = row + <usize>i;
        // bytewise add without carries between lanes
        const d = load<u32>(p);
        const lo = (px & 0x00ff00ff) + (d & 0x00ff00ff);
        const hi = (px & 0xff00ff00) + (d & 0xff00ff00);
        px = (lo & 0x00ff00ff) | (hi & 0xff00ff00);
        store<u32>(p, px);
      }
    } else {
      for (let i = spp; i < n; i++) {
        const p = row + <usize>i;
        store<u8>(p, <u8>(load<u8>(p) + load<u8>(p - <usize>spp)));
      }
    }
  }
}

/** Undo Predictor 2 on 16-bit samples kept in file byte order. `rowStride` in bytes. */
export function predictor2_u16(buf: usize, width: i32, rows: i32, spp: i32, rowStride: i32, bigEndian: i32): void {
  const n = width * spp;
  const back = <usize>spp << 1;
  for (let y = 0; y < rows; y++) {
    const row = buf + <usize>y * <usize>rowStride;
    for (let i = spp; i < n; i++) {
      const p = row + (<usize>i << 1);
      if (bigEndian) {
        const v = <u16>(bswap<u16>(load<u16>(p)) + bswap<u16>(load<u16>(p - back)));
        store<u16>(p, bswap<u16>(v));
      } else {
        store<u16>(p, <u16>(load<u16>(p) + load<u16>(p - back)));
      }
    }
  }
}
