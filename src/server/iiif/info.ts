// info.json for IIIF Image API 3.0 and 2.1, from the real pyramid.
import { integerScale, type Limits, type PlanImage } from './plan.js';
import type { Format, Quality } from './request.js';

export const CONTEXT_3 = 'http://iiif.io/api/image/3/context.json';
export const CONTEXT_2 = 'http://iiif.io/api/image/2/context.json';
export const PROFILE_3 = 'http://iiif.io/api/image/3/level2.json';
export const PROFILE_2 = 'http://iiif.io/api/image/2/level2.json';
export const PROTOCOL = 'http://iiif.io/api/image';

export interface InfoOptions {
  /** The image's base URI: {scheme}://{server}{/prefix}/{identifier}. */
  id: string;
  limits: Limits;
  formats: readonly Format[];
  rights?: string | undefined;
}

export interface TileSet {
  width: number;
  height: number;
  scaleFactors: number[];
}

/**
 * One tile set per tile size: the integer downsamples of the native levels
 * (these tiles pass through), then powers of two beyond the coarsest level
 * until the whole image fits in one tile (those are rendered).
 */
export function tileSets(img: PlanImage): TileSet[] {
  const sets = new Map<string, TileSet>();
  let coarsest = 1;
  let coarseTile: [number, number] = [img.levels[0]!.tileWidth, img.levels[0]!.tileHeight];
  for (const l of img.levels) {
    const s = integerScale(l.downsample);
    if (s === undefined) continue;
    const key = `${l.tileWidth}x${l.tileHeight}`;
    let set = sets.get(key);
    if (!set) sets.set(key, (set = { width: l.tileWidth, height: l.tileHeight, scaleFactors: [] }));
    if (!set.scaleFactors.includes(s)) set.scaleFactors.push(s);
    if (s >= coarsest) {
      coarsest = s;
      coarseTile = [l.tileWidth, l.tileHeight];
    }
  }
  const set = sets.get(`${coarseTile[0]}x${coarseTile[1]}`) ?? { width: coarseTile[0], height: coarseTile[1], scaleFactors: [1] };
  if (!sets.size) sets.set('', set);
  // powers of two above the coarsest native factor, until the image fits in one tile
  const fits = (f: number): boolean => Math.ceil(img.width / f) <= set.width && Math.ceil(img.height / f) <= set.height;
  let s = 1;
  while (s <= coarsest) s *= 2;
  if (!fits(coarsest)) {
    for (; s <= 1 << 24; s *= 2) {
      set.scaleFactors.push(s);
      if (fits(s)) break;
    }
  }
  for (const t of sets.values()) t.scaleFactors.sort((a, b) => a - b);
  return [...sets.values()];
}

/** Preferred sizes: the native levels that fit the limits, smallest first. */
export function sizes(img: PlanImage, lim: Limits): { width: number; height: number }[] {
  return img.levels
    .filter((l) => l.width <= lim.maxWidth && l.height <= lim.maxHeight && l.width * l.height <= lim.maxArea)
    .map((l) => ({ width: l.width, height: l.height }))
    .sort((a, b) => a.width - b.width);
}

const EXTRA_QUALITIES: Quality[] = ['color', 'gray', 'bitonal'];

export function infoJson3(img: PlanImage, o: InfoOptions): Record<string, unknown> {
  const info: Record<string, unknown> = {
    '@context': CONTEXT_3,
    id: o.id,
    type: 'ImageService3',
    protocol: PROTOCOL,
    profile: 'level2',
    width: img.width,
    height: img.height,
    maxWidth: o.limits.maxWidth,
    maxHeight: o.limits.maxHeight,
    maxArea: o.limits.maxArea,
    sizes: sizes(img, o.limits),
    tiles: tileSets(img),
    extraQualities: EXTRA_QUALITIES,
    extraFormats: o.formats.filter((f) => f !== 'jpg' && f !== 'png'),
    extraFeatures: ['mirroring', 'regionByPct', 'regionByPx', 'regionSquare', 'rotationBy90s', 'sizeByConfinedWh', 'sizeByH', 'sizeByPct', 'sizeByW', 'sizeByWh', 'sizeUpscaling', 'baseUriRedirect', 'canonicalLinkHeader', 'cors', 'jsonldMediaType', 'profileLinkHeader'],
  };
  if ((info.extraFormats as string[]).length === 0) delete info.extraFormats;
  if (o.rights) info.rights = o.rights;
  return info;
}

export function infoJson2(img: PlanImage, o: InfoOptions): Record<string, unknown> {
  const info: Record<string, unknown> = {
    '@context': CONTEXT_2,
    '@id': o.id,
    protocol: PROTOCOL,
    width: img.width,
    height: img.height,
    sizes: sizes(img, o.limits),
    tiles: tileSets(img).map((t) => ({ width: t.width, height: t.height, scaleFactors: t.scaleFactors })),
    profile: [
      PROFILE_2,
      {
        formats: [...o.formats],
        qualities: ['default', ...EXTRA_QUALITIES],
        supports: ['baseUriRedirect', 'canonicalLinkHeader', 'cors', 'jsonldMediaType', 'mirroring', 'profileLinkHeader', 'regionByPct', 'regionByPx', 'regionSquare', 'rotationBy90s', 'sizeAboveFull', 'sizeByConfinedWh', 'sizeByDistortedWh', 'sizeByH', 'sizeByPct', 'sizeByW', 'sizeByWh'],
        maxWidth: o.limits.maxWidth,
        maxHeight: o.limits.maxHeight,
        maxArea: o.limits.maxArea,
      },
    ],
  };
  if (o.rights) info.license = o.rights;
  return info;
}
