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

/** Stored tiles below this many pixels (NDPI restart intervals, 128 x 8) are advertised as bigger tiles. */
const MIN_ADVERTISED_TILE_PIXELS = 128 * 128;

/**
 * The tile size info.json gives for a level: its stored tile, or for levels of tiny
 * tiles (NDPI's restart intervals are often 128 x 8 or 256 x 8) a whole multiple of it
 * at least 256 a side, so that viewers ask for a sensible number of tiles (those are
 * composed from the stored ones instead of passed through).
 */
export function advertisedTile(l: { width: number; height: number; tileWidth: number; tileHeight: number }): [number, number] {
  const { tileWidth: tw, tileHeight: th } = l;
  if (tw * th >= MIN_ADVERTISED_TILE_PIXELS || (tw >= l.width && th >= l.height)) return [tw, th];
  return [tw * Math.max(1, Math.ceil(256 / tw)), th * Math.max(1, Math.ceil(256 / th))];
}

/**
 * One tile set per tile size: the integer downsamples of the native levels
 * (these tiles pass through), then powers of two beyond the coarsest level
 * until the whole image fits in one tile (those are rendered).
 */
export function tileSets(img: PlanImage): TileSet[] {
  const sets = new Map<string, TileSet>();
  let coarsest = 1;
  let coarseTile: [number, number] = advertisedTile(img.levels[0]!);
  for (const l of img.levels) {
    const s = integerScale(l.downsample);
    if (s === undefined) continue;
    const [tw, th] = advertisedTile(l);
    const key = `${tw}x${th}`;
    let set = sets.get(key);
    if (!set) sets.set(key, (set = { width: tw, height: th, scaleFactors: [] }));
    if (!set.scaleFactors.includes(s)) set.scaleFactors.push(s);
    if (s >= coarsest) {
      coarsest = s;
      coarseTile = [tw, th];
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
