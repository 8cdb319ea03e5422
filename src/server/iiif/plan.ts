// A parsed IIIF request resolved against one image: the level-0 region, the
// output size, the pyramid level to read from, the canonical form, and whether
// the answer is exactly one stored tile (passthrough). Pure.
import { ImageboxError } from '../../errors.js';
import { badRequest } from '../http-error.js';
import type { Format, ImageRequest, Quality } from './request.js';
import type { ChannelDisplay } from '../../slide/channels.js';

export interface Limits {
  /** Output width, height and pixels (IIIF's maxWidth, maxHeight, maxArea; in info.json). */
  maxWidth: number;
  maxHeight: number;
  maxArea: number;
  /**
   * Pixels of the pyramid level one answer may decode (the region at the level
   * read): a small output of a large region of a slide without the levels to
   * read it from (a one-level TIFF, a DeepZoom level far below the last stored
   * one) is refused with E_TOO_LARGE instead of decoding gigapixels. Not in
   * info.json (IIIF has no word for it).
   */
  maxSourcePixels?: number;
}

/** 512 Mpx: above any request of a pyramid with levels 4x apart at the maxArea (16.7 Mpx x 16 = 268 Mpx), ~5 s of JPEG decoding on one core. */
export const DEFAULT_MAX_SOURCE_PIXELS = 512 * 1024 * 1024;

export const DEFAULT_LIMITS: Limits = { maxWidth: 8192, maxHeight: 8192, maxArea: 4096 * 4096, maxSourcePixels: DEFAULT_MAX_SOURCE_PIXELS };

/** What the planner needs of a pyramid level. */
export interface PlanLevel {
  width: number;
  height: number;
  tileWidth: number;
  tileHeight: number;
  downsample: number;
}

export interface PlanImage {
  width: number;
  height: number;
  levels: readonly PlanLevel[];
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface ImagePlan {
  /** Region in level-0 pixels, clipped to the image. */
  region: Rect;
  /** Scaled size (before rotation). */
  width: number;
  height: number;
  /** Size of the returned image (after rotation). */
  outWidth: number;
  outHeight: number;
  rotation: number;
  mirror: boolean;
  quality: Quality;
  format: Format;
  /** The best level to read from: the coarsest whose downsample <= the requested scale factor. */
  level: number;
  /** When the answer is exactly one whole stored tile of a native level. */
  passthrough: { level: number; col: number; row: number } | undefined;
  /** "{region}/{size}/{rotation}/{quality}.{format}" in the version's canonical syntax. */
  canonical: string;
  /** Multi-channel slides: the channels shown (query parameters); the slide's default display when absent. */
  display?: ChannelDisplay;
}

/** The integer IIIF scale factor of a level, when its downsample is (nearly) one. */
export function integerScale(downsample: number): number | undefined {
  const r = Math.round(downsample);
  return r >= 1 && Math.abs(downsample - r) <= 0.01 * r ? r : undefined;
}

/** Level-0 region of a request, clipped to the image; 400 when empty or outside. */
export function resolveRegion(req: ImageRequest, W: number, H: number): Rect {
  const r = req.region;
  switch (r.kind) {
    case 'full':
      return { x: 0, y: 0, w: W, h: H };
    case 'square': {
      const s = Math.min(W, H);
      return { x: Math.floor((W - s) / 2), y: Math.floor((H - s) / 2), w: s, h: s };
    }
    case 'px':
    case 'pct': {
      const pct = r.kind === 'pct';
      const x = pct ? Math.round((r.x * W) / 100) : r.x;
      const y = pct ? Math.round((r.y * H) / 100) : r.y;
      const w = pct ? Math.round((r.w * W) / 100) : r.w;
      const h = pct ? Math.round((r.h * H) / 100) : r.h;
      if (x >= W || y >= H) throw badRequest(`region starts outside the image (${W}x${H})`);
      const cw = Math.min(w, W - x);
      const ch = Math.min(h, H - y);
      if (cw <= 0 || ch <= 0) throw badRequest('region is empty');
      return { x, y, w: cw, h: ch };
    }
  }
}

/** Largest scale of a rw x rh region that respects the limits. */
function limitScale(rw: number, rh: number, lim: Limits): number {
  return Math.min(lim.maxWidth / rw, lim.maxHeight / rh, Math.sqrt(lim.maxArea / (rw * rh)));
}

function scaled(rw: number, rh: number, s: number): [number, number] {
  if (s === 1) return [rw, rh];
  // floor (not round) so a size derived from a limit stays within it
  return [Math.max(1, Math.floor(rw * s + 1e-9)), Math.max(1, Math.floor(rh * s + 1e-9))];
}

/** The size "max" stands for: the region, scaled down to the limits if needed (up to them with ^). */
export function maxSize(rw: number, rh: number, lim: Limits, up: boolean): [number, number] {
  const s = limitScale(rw, rh, lim);
  return scaled(rw, rh, up ? s : Math.min(1, s));
}

export function resolveSize(req: ImageRequest, rw: number, rh: number, lim: Limits): [number, number] {
  const s = req.size;
  const v3 = req.version === 3;
  let w: number;
  let h: number;
  switch (s.kind) {
    case 'full':
      [w, h] = [rw, rh];
      break;
    case 'max':
      [w, h] = maxSize(rw, rh, lim, s.up);
      break;
    case 'w':
      w = s.w;
      h = Math.round((rh * s.w) / rw);
      break;
    case 'h':
      h = s.h;
      w = Math.round((rw * s.h) / rh);
      break;
    case 'pct':
      w = Math.round((rw * s.n) / 100);
      h = Math.round((rh * s.n) / 100);
      break;
    case 'wh':
      [w, h] = [s.w, s.h];
      break;
    case 'fit': {
      let f = Math.min(s.w / rw, s.h / rh);
      // 3.0: a best fit larger than the region is upscaling, which needs "^" (the validator's size_noup)
      if (v3 && !s.up && f > 1 + 1e-9) {
        throw badRequest(`size "!${s.w},${s.h}" fits ${rw}x${rh} only by upscaling: upscaling needs "^"`);
      }
      f = Math.min(f, limitScale(rw, rh, lim));
      w = Math.min(s.w, Math.max(1, Math.round(rw * f)));
      h = Math.min(s.h, Math.max(1, Math.round(rh * f)));
      // keep within limits after rounding
      if (w > lim.maxWidth || h > lim.maxHeight || w * h > lim.maxArea) [w, h] = scaled(rw, rh, f * 0.999);
      break;
    }
  }
  if (w < 1 || h < 1) throw badRequest(`size ${w}x${h} is less than one pixel`);
  if (v3 && s.kind !== 'full' && !('up' in s && s.up) && (w > rw || h > rh)) {
    throw badRequest(`size ${w}x${h} is larger than the region (${rw}x${rh}): upscaling needs "^"`);
  }
  if (w > lim.maxWidth || h > lim.maxHeight || w * h > lim.maxArea) {
    throw badRequest(`size ${w}x${h} is over the limits (maxWidth ${lim.maxWidth}, maxHeight ${lim.maxHeight}, maxArea ${lim.maxArea})`);
  }
  return [w, h];
}

/** The coarsest level whose downsample does not exceed the scale factor (level-0 px per output px). */
export function bestLevel(levels: readonly PlanLevel[], factor: number): number {
  let best = 0;
  for (let i = 0; i < levels.length; i++) {
    const d = levels[i]!.downsample;
    if (d <= factor * (1 + 1e-6) && d > levels[best]!.downsample) best = i;
  }
  return best;
}

export function planImage(req: ImageRequest, img: PlanImage, lim: Limits = DEFAULT_LIMITS): ImagePlan {
  const region = resolveRegion(req, img.width, img.height);
  const [w, h] = resolveSize(req, region.w, region.h, lim);
  return makePlan(
    img,
    {
    region,
    width: w,
    height: h,
    rotation: req.rotation,
    mirror: req.mirror,
    quality: req.quality,
    format: req.format,
    canonical: canonical(req, img, region, w, h, lim),
    },
    lim.maxSourcePixels,
  );
}

/** A plan from an already resolved region and size (IIIF, DeepZoom): picks the level and the passthrough tile. */
export function makePlan(
  img: PlanImage,
  p: Pick<ImagePlan, 'region' | 'width' | 'height' | 'rotation' | 'mirror' | 'quality' | 'format' | 'canonical'>,
  maxSourcePixels = DEFAULT_MAX_SOURCE_PIXELS,
): ImagePlan {
  const factor = Math.min(p.region.w / p.width, p.region.h / p.height);
  const quarter = p.rotation === 90 || p.rotation === 270;
  const plan: ImagePlan = {
    ...p,
    outWidth: quarter ? p.height : p.width,
    outHeight: quarter ? p.width : p.height,
    level: bestLevel(img.levels, factor),
    passthrough: undefined,
  };
  const ds = img.levels[plan.level]!.downsample;
  const decoded = Math.ceil(p.region.w / ds) * Math.ceil(p.region.h / ds);
  if (decoded > maxSourcePixels) {
    throw new ImageboxError(
      'E_TOO_LARGE',
      `this answer would decode ${Math.round(decoded / 1e6)} Mpx of the slide's nearest level (at most ${Math.round(maxSourcePixels / 1e6)} Mpx): ask for a smaller region, or a slide with a pyramid`,
    );
  }
  plan.passthrough = passthroughTile(plan, img);
  return plan;
}

/** The stored tile this plan is exactly, if it is one whole tile of a native level. */
function passthroughTile(p: ImagePlan, img: PlanImage): ImagePlan['passthrough'] {
  if (p.rotation !== 0 || p.mirror || p.format !== 'jpg' || (p.quality !== 'default' && p.quality !== 'color')) return undefined;
  for (let level = 0; level < img.levels.length; level++) {
    const l = img.levels[level]!;
    const s = integerScale(l.downsample);
    if (s === undefined || p.width !== l.tileWidth || p.height !== l.tileHeight) continue;
    const fw = l.tileWidth * s;
    const fh = l.tileHeight * s;
    const { x, y, w, h } = p.region;
    if (w !== fw || h !== fh || x % fw !== 0 || y % fh !== 0) continue;
    const col = x / fw;
    const row = y / fh;
    // the whole tile must be inside the level (a padded edge tile is the wrong size to send as is)
    if ((col + 1) * l.tileWidth > l.width || (row + 1) * l.tileHeight > l.height) continue;
    if (x + w > img.width || y + h > img.height) continue;
    return { level, col, row };
  }
  return undefined;
}

function canonical(req: ImageRequest, img: PlanImage, r: Rect, w: number, h: number, lim: Limits): string {
  const region = r.x === 0 && r.y === 0 && r.w === img.width && r.h === img.height ? 'full' : `${r.x},${r.y},${r.w},${r.h}`;
  let size: string;
  if (req.version === 3) {
    const [mw, mh] = maxSize(r.w, r.h, lim, false);
    const up = w > r.w || h > r.h;
    if (w === mw && h === mh) size = 'max';
    else {
      const [uw, uh] = maxSize(r.w, r.h, lim, true);
      size = up && w === uw && h === uh ? '^max' : `${up ? '^' : ''}${w},${h}`;
    }
  } else if (w === r.w && h === r.h) size = 'full';
  else if (Math.round((r.h * w) / r.w) === h) size = `${w},`;
  else size = `${w},${h}`;
  return `${region}/${size}/${req.mirror ? '!' : ''}${req.rotation}/${req.quality}.${req.format}`;
}
