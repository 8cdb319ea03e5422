// Reading pixels: one decoded tile, or a region composed across tile borders, in
// OpenSlide's terms (x, y in level-0 pixels; outside the image and in missing
// tiles transparent 0,0,0,0; a location that is not on the level's pixel grid is
// resampled with a sub-pixel bilinear shift, as OpenSlide does through cairo).

import { ImageboxError } from '../errors.js';
import type { EncodedTile } from '../contracts/tile.js';
import type { PixelReader, Placement, RGBA } from '../contracts/pixels.js';
import type { Slide } from './slide.js';
import { tileMapRegion } from './tilemap.js';

/** The largest region composed at once (pixels): checked before any tile is read. */
export const MAX_REGION_PIXELS = 64 * 1024 * 1024;

/**
 * A scaled read whose decoded intermediate is larger than this (pixels) is done
 * a row of tiles at a time into a band resampler: its memory is the output plus
 * two bands, not the whole intermediate (a full/max of a 100k x 60k level).
 */
export const BAND_PIXELS = 4 * 1024 * 1024;

function checkArea(w: number, h: number, what: string): void {
  if (w * h > MAX_REGION_PIXELS) {
    throw new ImageboxError('E_TOO_LARGE', `${what} of ${w}x${h} pixels is over the ${MAX_REGION_PIXELS / (1024 * 1024)} Mpx a region may have`);
  }
}

/** The decoded tile at (col, row) of a level, cropped to the image (edge tiles lose their padding). */
export async function readTile(slide: Slide, px: PixelReader, level: number, col: number, row: number, signal?: AbortSignal): Promise<RGBA> {
  const l = slide.levels[level];
  if (!l) throw new ImageboxError('E_BAD_REQUEST', `no level ${level}`);
  const x0 = col * l.tileWidth;
  const y0 = row * l.tileHeight;
  const w = Math.min(l.tileWidth, l.width - x0);
  const h = Math.min(l.tileHeight, l.height - y0);
  if (col < 0 || row < 0 || w <= 0 || h <= 0) {
    throw new ImageboxError('E_BAD_REQUEST', `no tile (${col}, ${row}) at level ${level}`);
  }
  return levelRegion(slide, px, level, x0, y0, w, h, signal);
}

/** OpenSlide's read_region: (x, y) in level-0 pixels, w x h pixels of `level`. */
export async function readRegion(
  slide: Slide,
  px: PixelReader,
  x: number,
  y: number,
  level: number,
  w: number,
  h: number,
  signal?: AbortSignal,
): Promise<RGBA> {
  const l = slide.levels[level];
  if (!l) throw new ImageboxError('E_BAD_REQUEST', `no level ${level} (the slide has ${slide.levels.length})`);
  if (!Number.isInteger(w) || !Number.isInteger(h) || w <= 0 || h <= 0) {
    throw new ImageboxError('E_BAD_REQUEST', `region size ${w}x${h}`);
  }
  checkArea(w, h, 'region');
  const lx = x / l.downsample;
  const ly = y / l.downsample;
  const map = slide.tileMap(level);
  // a tile map is painted at fractional positions anyway: at (lx, ly) as OpenSlide paints it
  if (map) return tileMapRegion(slide, px, level, map, lx, ly, w, h, signal);
  const ix = Math.floor(lx);
  const iy = Math.floor(ly);
  const fx = lx - ix;
  const fy = ly - iy;
  if (fx < 1e-9 && fy < 1e-9) return levelRegion(slide, px, level, ix, iy, w, h, signal);
  // Off the grid: read one extra row/column and shift by the fraction (bilinear).
  const big = await levelRegion(slide, px, level, ix, iy, w + 1, h + 1, signal);
  return subpixelShift(big, w, h, fx, fy);
}

/**
 * A region in the pixel grid of one level (integer coordinates, may overhang the
 * image), at 1/scale of its size (ceil). With scale > 1 every tile is decoded
 * reduced (JPEG from the DCT, JPEG 2000 from a lower resolution), so no
 * full-size decode and no large resample happen; that is exact only on the 1/s
 * grid, so off it the region is read full size and area-averaged instead.
 */
export async function levelRegion(
  slide: Slide,
  px: PixelReader,
  level: number,
  x: number,
  y: number,
  w: number,
  h: number,
  signal?: AbortSignal,
  scale: 1 | 2 | 4 | 8 = 1,
): Promise<RGBA> {
  const l = slide.levels[level]!;
  const s = scale;
  const map = slide.tileMap(level);
  if (map) {
    checkArea(w, h, 'region');
    const full = await tileMapRegion(slide, px, level, map, x, y, w, h, signal);
    return s > 1 ? px.resize(full, Math.ceil(w / s), Math.ceil(h / s)) : full;
  }
  if (s > 1 && !onScaleGrid(l, x, y, s)) {
    const full = await levelRegion(slide, px, level, x, y, w, h, signal);
    return px.resize(full, Math.ceil(w / s), Math.ceil(h / s));
  }
  // before a single tile is read: the composed result must fit
  checkArea(Math.ceil(w / s), Math.ceil(h / s), 'region');
  const c0 = Math.max(0, Math.floor(x / l.tileWidth));
  const r0 = Math.max(0, Math.floor(y / l.tileHeight));
  const c1 = Math.min(l.cols - 1, Math.floor((x + w - 1) / l.tileWidth));
  const r1 = Math.min(l.rows - 1, Math.floor((y + h - 1) / l.tileHeight));
  const jobs: Promise<Placement | undefined>[] = [];
  // All tile reads start in the same tick, so the range scheduler coalesces them.
  for (let r = r0; r <= r1; r++) {
    for (let c = c0; c <= c1; c++) {
      jobs.push(
        slide.tile(level, c, r, signal).then(async (t) => {
          const vw = Math.ceil(t.validWidth / s);
          const vh = Math.ceil(t.validHeight / s);
          let img: RGBA | undefined;
          if (t.missing) {
            img = await missingTile(slide, px, t, signal);
            if (img && s > 1) img = px.resize(img, vw, vh);
          } else {
            img = await px.decode(t, s);
          }
          if (!img) return undefined;
          return { tile: img, x: (c * l.tileWidth - x) / s, y: (r * l.tileHeight - y) / s, validWidth: vw, validHeight: vh };
        }),
      );
    }
  }
  const placed = (await Promise.all(jobs)).filter((p): p is Placement => p !== undefined);
  return px.compose(Math.ceil(w / s), Math.ceil(h / s), placed);
}

/**
 * A level-0 region (x0, y0, w0 x h0) at an output size, read from `level` (IIIF's
 * case): the tiles are decoded at the largest DCT scale (1/2, 1/4, 1/8) that
 * stays at or above the output size, and only the remaining factor is resampled
 * (area average down, bilinear up).
 */
export async function readScaledRegion(
  slide: Slide,
  px: PixelReader,
  level: number,
  x0: number,
  y0: number,
  w0: number,
  h0: number,
  outW: number,
  outH: number,
  signal?: AbortSignal,
): Promise<RGBA> {
  const l = slide.levels[level];
  if (!l) throw new ImageboxError('E_BAD_REQUEST', `no level ${level}`);
  const lw = Math.max(1, Math.min(Math.round(w0 / l.downsample), l.width));
  const lh = Math.max(1, Math.min(Math.round(h0 / l.downsample), l.height));
  let lx = x0 / l.downsample;
  let ly = y0 / l.downsample;
  const rest = Math.min(lw / outW, lh / outH);
  if (!(Number.isInteger(lx) && Number.isInteger(ly))) {
    if (rest < 2) {
      // near full resolution a sub-pixel offset shows: OpenSlide's bilinear shift
      const img = await readRegion(slide, px, x0, y0, level, lw, lh, signal);
      return img.width === outW && img.height === outH ? img : px.resize(img, outW, outH);
    }
    // shrunk by 2 or more, a fraction of a level pixel does not: stay on the grid (DCT scaling, bands)
    lx = Math.floor(lx);
    ly = Math.floor(ly);
  }
  let s: 1 | 2 | 4 | 8 = rest >= 8 ? 8 : rest >= 4 ? 4 : rest >= 2 ? 2 : 1;
  if (s > 1 && !onScaleGrid(l, lx, ly, s)) s = 1;
  const iw = Math.ceil(lw / s);
  const ih = Math.ceil(lh / s);
  if (iw * ih > BAND_PIXELS && outW <= iw && outH <= ih && (outW < iw || outH < ih)) {
    return bandedRegion(slide, px, level, lx, ly, lw, lh, s, outW, outH, signal);
  }
  const img = await levelRegion(slide, px, level, lx, ly, lw, lh, signal, s);
  return img.width === outW && img.height === outH ? img : px.resize(img, outW, outH);
}

/** DCT scaling by s is exact only where the region and the tiles sit on the 1/s grid. */
function onScaleGrid(l: { tileWidth: number; tileHeight: number }, x: number, y: number, s: number): boolean {
  return x % s === 0 && y % s === 0 && l.tileWidth % s === 0 && l.tileHeight % s === 0;
}

/**
 * A level region (on the 1/s grid) resampled to outW x outH one row of tiles at
 * a time: each band is decoded at 1/s and fed to the band resampler while the
 * next band's tiles are read and decoded. Peak memory: the output and two bands.
 */
async function bandedRegion(
  slide: Slide,
  px: PixelReader,
  level: number,
  x: number,
  y: number,
  w: number,
  h: number,
  s: 1 | 2 | 4 | 8,
  outW: number,
  outH: number,
  signal?: AbortSignal,
): Promise<RGBA> {
  const l = slide.levels[level]!;
  const th = l.tileHeight;
  const resampler = px.bandResampler(Math.ceil(w / s), Math.ceil(h / s), outW, outH);
  const bands: [number, number][] = [];
  for (let top = y; top < y + h; ) {
    const bottom = Math.min(y + h, (Math.floor(top / th) + 1) * th);
    bands.push([top, bottom]);
    top = bottom;
  }
  const read = (i: number): Promise<RGBA> => levelRegion(slide, px, level, x, bands[i]![0], w, bands[i]![1] - bands[i]![0], signal, s);
  let next = read(0);
  for (let i = 0; i < bands.length; i++) {
    const band = await next;
    if (i + 1 < bands.length) {
      next = read(i + 1);
      next.catch(() => undefined); // awaited next round; not unhandled if this round throws
    }
    if (signal?.aborted) throw new ImageboxError('E_ABORTED', 'aborted');
    resampler.push(band);
  }
  return resampler.finish();
}

/**
 * A zero-length tile (an Aperio encoder bug): transparent at level 0; at lower
 * levels re-rendered from the level above, as OpenSlide's aperio driver does.
 * Other vendors' missing tiles (Philips sparse files, DICOM sparse grids) are
 * transparent at every level, as in OpenSlide.
 */
async function missingTile(slide: Slide, px: PixelReader, t: EncodedTile, signal?: AbortSignal): Promise<RGBA | undefined> {
  if (t.level <= 0 || slide.vendor !== 'aperio') return undefined;
  const l = slide.levels[t.level]!;
  const up = slide.levels[t.level - 1]!;
  const f = l.downsample / up.downsample;
  const x = Math.round(t.col * l.tileWidth * f);
  const y = Math.round(t.row * l.tileHeight * f);
  const w = Math.round(t.validWidth * f);
  const h = Math.round(t.validHeight * f);
  const above = await levelRegion(slide, px, t.level - 1, x, y, w, h, signal);
  const scaled = px.resize(above, t.validWidth, t.validHeight);
  return scaled;
}

/** out(i, j) = src(i + fx, j + fy), bilinear, on premultiplied alpha (like cairo). */
export function subpixelShift(src: RGBA, w: number, h: number, fx: number, fy: number): RGBA {
  const out = new Uint8Array(w * h * 4);
  const sw = src.width;
  const s = src.data;
  const w00 = (1 - fx) * (1 - fy);
  const w10 = fx * (1 - fy);
  const w01 = (1 - fx) * fy;
  const w11 = fx * fy;
  for (let j = 0; j < h; j++) {
    for (let i = 0; i < w; i++) {
      const p00 = (j * sw + i) * 4;
      const p10 = p00 + 4;
      const p01 = p00 + sw * 4;
      const p11 = p01 + 4;
      const a00 = s[p00 + 3]! * w00;
      const a10 = s[p10 + 3]! * w10;
      const a01 = s[p01 + 3]! * w01;
      const a11 = s[p11 + 3]! * w11;
      const a = a00 + a10 + a01 + a11;
      const o = (j * w + i) * 4;
      if (a <= 0) continue;
      for (let c = 0; c < 3; c++) {
        const v = s[p00 + c]! * a00 + s[p10 + c]! * a10 + s[p01 + c]! * a01 + s[p11 + c]! * a11;
        out[o + c] = Math.min(255, Math.round(v / a));
      }
      out[o + 3] = Math.min(255, Math.round(a));
    }
  }
  return { width: w, height: h, data: out };
}
