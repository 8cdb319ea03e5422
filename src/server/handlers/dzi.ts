// DeepZoom: /dzi/{id}.dzi and /dzi/{id}_files/{level}/{col}_{row}.jpeg.
// DZI level L is the image at 1/2^(maxLevel-L), maxLevel = ceil(log2(max(W, H))),
// tiles of tileSize with no overlap. Each tile becomes a plan against the
// native pyramid (so tiles on a native level pass through).
import { ImageboxError } from '../../errors.js';
import type { Slide } from '../../slide/slide.js';
import type { ServerContext } from '../context.js';
import type { SlideEntry } from '../registry.js';
import { badRequest } from '../http-error.js';
import { decodeIdentifier } from '../iiif/identifier.js';
import { requireSlide } from '../access.js';
import { makePlan } from '../iiif/plan.js';
import type { HttpRequest, HttpResponse } from './types.js';

export function dziTileSize(slide: Slide): number {
  const l = slide.levels[0]!;
  return l.tileWidth === l.tileHeight && l.tileWidth >= 64 && l.tileWidth <= 2048 ? l.tileWidth : 256;
}

export function dziMaxLevel(width: number, height: number): number {
  return Math.ceil(Math.log2(Math.max(width, height, 1)));
}

export function dziXml(slide: Slide): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Image xmlns="http://schemas.microsoft.com/deepzoom/2008" Format="jpeg" Overlap="0" TileSize="${dziTileSize(slide)}">` +
    `<Size Width="${slide.width}" Height="${slide.height}"/></Image>\n`
  );
}

export async function dziHandler(ctx: ServerContext, req: HttpRequest, rest: string[], signal?: AbortSignal): Promise<HttpResponse> {
  if (rest.length === 1 && rest[0]!.endsWith('.dzi')) {
    const id = decodeIdentifier(rest[0]!.slice(0, -4));
    requireSlide(req.grant, id);
    return ctx.registry.use(id, async (entry, slide) => {
      const etag = ctx.images.etag(entry, slide, 'dzi');
      const c = ctx.images.conditional(req, slide, etag, {});
      if ('status' in c) return c as HttpResponse;
      return { status: 200, headers: { ...(c as Record<string, string>), 'Content-Type': 'application/xml' }, body: dziXml(slide) };
    });
  }
  if (rest.length !== 3 || !rest[0]!.endsWith('_files')) throw new ImageboxError('E_NOT_FOUND', 'not a DeepZoom URL');
  const id = decodeIdentifier(rest[0]!.slice(0, -6));
  requireSlide(req.grant, id);
  const lm = /^(\d{1,2})$/.exec(rest[1]!);
  const tm = /^(\d{1,7})_(\d{1,7})\.(jpeg|jpg)$/.exec(rest[2]!);
  if (!lm || !tm) throw badRequest('DeepZoom tile URLs are {level}/{col}_{row}.jpeg');
  return ctx.registry.use(id, (entry, slide) => dziTile(ctx, req, entry, slide, Number(lm[1]), Number(tm[1]), Number(tm[2]), signal));
}

function dziTile(ctx: ServerContext, req: HttpRequest, entry: SlideEntry, slide: Slide, level: number, col: number, row: number, signal?: AbortSignal): Promise<HttpResponse> {
  const maxLevel = dziMaxLevel(slide.width, slide.height);
  if (level > maxLevel) throw new ImageboxError('E_NOT_FOUND', `no DeepZoom level ${level} (max ${maxLevel})`);
  const s = 2 ** (maxLevel - level);
  const lw = Math.ceil(slide.width / s);
  const lh = Math.ceil(slide.height / s);
  const ts = dziTileSize(slide);
  const x = col * ts;
  const y = row * ts;
  if (x >= lw || y >= lh) throw new ImageboxError('E_NOT_FOUND', `no tile ${col}_${row} at DeepZoom level ${level}`);
  const w = Math.min(ts, lw - x);
  const h = Math.min(ts, lh - y);
  const region = { x: x * s, y: y * s, w: Math.min(w * s, slide.width - x * s), h: Math.min(h * s, slide.height - y * s) };
  const plan = makePlan(slide, {
    region,
    width: w,
    height: h,
    rotation: 0,
    mirror: false,
    quality: 'default',
    format: 'jpg',
    canonical: `${region.x},${region.y},${region.w},${region.h}/${w},${h}/0/default.jpg`,
  }, ctx.limits.maxSourcePixels);
  return ctx.images.respond(req, entry, slide, plan, `iiif\n${plan.canonical}`, {}, signal);
}
