// A region of a tile-map level (Ventana BIF with overlapping tiles) painted as
// OpenSlide 3.4.1 paints it (openslide-grid.c tilemap + openslide.c read_region):
// each level-0 tile (its subtile at lower levels) is drawn at its fractional
// position with cairo's bilinear filter (pixman's 7-bit weights, transparent
// outside the tile), rows from the bottom and columns from the right, onto a
// transparent surface with the SATURATE operator, in 8-bit premultiplied ARGB;
// the result un-premultiplied as openslide-python does.

import type { TileMap } from '../formats/slide-layout.js';
import type { PixelReader, RGBA } from '../contracts/pixels.js';
import type { Slide } from './slide.js';

/** The stored tiles a region of a tile-map level needs: (col, row) of the stored grid, paint order kept. */
interface Painted {
  c: number;
  r: number;
  /** Where the tile's surface starts in the region (output pixels, fractional). */
  tx: number;
  ty: number;
}

/** The tiles OpenSlide paints for a region at (lx, ly) (level pixels, fractional) of w x h, in its order. */
function paintList(m: TileMap, tw: number, th: number, lx: number, ly: number, w: number, h: number): Painted[] {
  const sw = tw / m.subtiles;
  const sh = th / m.subtiles;
  const c0 = Math.max(0, Math.floor((lx - sw) / m.advanceX) - 1);
  const c1 = Math.min(m.across - 1, Math.ceil((lx + w) / m.advanceX));
  const r0 = Math.max(0, Math.floor((ly - sh) / m.advanceY) - 1);
  const r1 = Math.min(m.down - 1, Math.ceil((ly + h) / m.advanceY));
  const out: Painted[] = [];
  for (let r = r1; r >= r0; r--) {
    for (let c = c1; c >= c0; c--) {
      const x = c * m.advanceX;
      const y = r * m.advanceY;
      // tilemap_read_tile's skip test (a tile ending at or starting past the region is not drawn)
      if (x + sw <= lx || y + sh <= ly || x >= lx + w || y >= ly + h) continue;
      out.push({ c, r, tx: x - lx, ty: y - ly });
    }
  }
  return out;
}

/** Per output pixel along one axis: the surface pixel left of the sample and pixman's 8-bit weight of the right one. */
function axis(n: number, t: number, size: number): { i0: Int32Array; wt: Int32Array; from: number; to: number } {
  // cairo hands pixman the translation in 16.16 fixed point; the sample for output i is at i - t
  const tf = Math.round(t * 65536);
  const from = Math.max(0, Math.floor(t) - 1);
  const to = Math.min(n, Math.ceil(t + size) + 1);
  const i0 = new Int32Array(Math.max(0, to - from));
  const wt = new Int32Array(i0.length);
  for (let i = from; i < to; i++) {
    const u = i * 65536 - tf;
    const k = Math.floor(u / 65536);
    i0[i - from] = k;
    wt[i - from] = ((u - k * 65536) >> 9) << 1; // BILINEAR_INTERPOLATION_BITS = 7
  }
  return { i0, wt, from, to };
}

/**
 * The region (lx, ly) w x h of a tile-map level (level pixels; lx, ly may be
 * fractional), RGBA. The caller has checked w x h against the region limit.
 */
export async function tileMapRegion(
  slide: Slide,
  px: PixelReader,
  level: number,
  m: TileMap,
  lx: number,
  ly: number,
  w: number,
  h: number,
  signal?: AbortSignal,
): Promise<RGBA> {
  const l = slide.levels[level]!;
  const tw = l.tileWidth;
  const th = l.tileHeight;
  const d = m.subtiles;
  const sw = tw / d;
  const sh = th / d;
  const list = paintList(m, tw, th, lx, ly, w, h);
  // each stored tile once, every read started in the same tick (the range scheduler coalesces them)
  const stored = new Map<string, Promise<{ img: RGBA; vw: number; vh: number }>>();
  for (const p of list) {
    const key = `${Math.floor(p.c / d)},${Math.floor(p.r / d)}`;
    if (!stored.has(key)) {
      stored.set(
        key,
        slide.storedTile(level, Math.floor(p.c / d), Math.floor(p.r / d), signal).then(async (t) => ({
          img: t.missing ? { width: 0, height: 0, data: new Uint8Array(0) } : await px.decode(t),
          vw: t.missing ? 0 : t.validWidth,
          vh: t.missing ? 0 : t.validHeight,
        })),
      );
    }
  }
  const tiles = new Map<string, { img: RGBA; vw: number; vh: number }>();
  await Promise.all([...stored].map(async ([k, v]) => tiles.set(k, await v)));
  const dst = new Uint8Array(w * h * 4); // premultiplied
  const surf = new Uint8Array(sw * sh * 4);
  for (const p of list) {
    const { img, vw, vh } = tiles.get(`${Math.floor(p.c / d)},${Math.floor(p.r / d)}`)!;
    // the surface: the subtile, transparent beyond the stored image (OpenSlide's clip)
    const ox = (p.c % d) * sw;
    const oy = (p.r % d) * sh;
    surf.fill(0);
    const cw = Math.min(sw, vw - ox, img.width - ox);
    const ch = Math.min(sh, vh - oy, img.height - oy);
    for (let y = 0; y < ch; y++) {
      for (let x = 0; x < cw; x++) {
        const s = ((oy + y) * img.width + ox + x) * 4;
        const o = (y * sw + x) * 4;
        const a = img.data[s + 3]!;
        // premultiply as cairo holds it
        surf[o] = a === 255 ? img.data[s]! : Math.floor((img.data[s]! * a + 127) / 255);
        surf[o + 1] = a === 255 ? img.data[s + 1]! : Math.floor((img.data[s + 1]! * a + 127) / 255);
        surf[o + 2] = a === 255 ? img.data[s + 2]! : Math.floor((img.data[s + 2]! * a + 127) / 255);
        surf[o + 3] = a;
      }
    }
    const ax = axis(w, p.tx, sw);
    const ay = axis(h, p.ty, sh);
    const at = (x: number, y: number, c: number): number => (x < 0 || y < 0 || x >= sw || y >= sh ? 0 : surf[(y * sw + x) * 4 + c]!);
    const src = [0, 0, 0, 0];
    for (let j = ay.from; j < ay.to; j++) {
      const y0 = ay.i0[j - ay.from]!;
      const dy = ay.wt[j - ay.from]!;
      if (y0 + 1 < 0 || y0 >= sh) continue;
      for (let i = ax.from; i < ax.to; i++) {
        const x0 = ax.i0[i - ax.from]!;
        const dx = ax.wt[i - ax.from]!;
        if (x0 + 1 < 0 || x0 >= sw) continue;
        // pixman's bilinear_interpolation: 8-bit weights, truncated
        const dxy = dx * dy;
        const wbr = dxy;
        const wtr = (dx << 8) - dxy;
        const wbl = (dy << 8) - dxy;
        const wtl = 65536 - (dy << 8) - (dx << 8) + dxy;
        for (let c = 0; c < 4; c++) {
          src[c] = (at(x0, y0, c) * wtl + at(x0 + 1, y0, c) * wtr + at(x0, y0 + 1, c) * wbl + at(x0 + 1, y0 + 1, c) * wbr) >> 16;
        }
        const sa = src[3]!;
        if (sa === 0) continue;
        const o = (j * w + i) * 4;
        const da = 255 - dst[o + 3]!;
        if (da === 0) continue;
        if (sa > da) {
          // pixman combine_saturate_u: the source scaled to what alpha is left
          const f = Math.floor((da * 255 + (sa >> 1)) / sa);
          for (let c = 0; c < 4; c++) {
            const t = src[c]! * f + 0x80;
            src[c] = ((t >> 8) + t) >> 8;
          }
        }
        for (let c = 0; c < 4; c++) dst[o + c] = Math.min(255, dst[o + c]! + src[c]!);
      }
    }
  }
  // openslide-python's argb2rgba: un-premultiply, rounding
  for (let o = 0; o < dst.length; o += 4) {
    const a = dst[o + 3]!;
    if (a === 0 || a === 255) continue;
    for (let c = 0; c < 3; c++) dst[o + c] = Math.min(255, Math.floor((dst[o + c]! * 255 + (a >> 1)) / a));
  }
  return { width: w, height: h, data: dst };
}
