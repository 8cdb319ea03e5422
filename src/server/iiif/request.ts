// IIIF Image API request syntax (3.0 and 2.1): the four parameters after the
// identifier, parsed without knowing the image. Pure: no I/O, no slide.
//   {region}/{size}/{rotation}/{quality}.{format}
// Errors are 400 (E_BAD_REQUEST): both 2.1 and 3.0 say an unsupported
// rotation, quality or format "SHOULD result in a 400" (sections 4.3-4.5).
import { badRequest } from '../http-error.js';

export type IiifVersion = 2 | 3;

export type RegionSpec =
  | { kind: 'full' }
  | { kind: 'square' }
  | { kind: 'px'; x: number; y: number; w: number; h: number }
  | { kind: 'pct'; x: number; y: number; w: number; h: number };

export type SizeSpec =
  | { kind: 'max'; up: boolean }
  | { kind: 'full' } // 2.1 only
  | { kind: 'w'; w: number; up: boolean }
  | { kind: 'h'; h: number; up: boolean }
  | { kind: 'pct'; n: number; up: boolean }
  | { kind: 'wh'; w: number; h: number; up: boolean }
  | { kind: 'fit'; w: number; h: number; up: boolean };

export type Quality = 'default' | 'color' | 'gray' | 'bitonal';
export type Format = 'jpg' | 'png' | 'webp';

export interface ImageRequest {
  version: IiifVersion;
  region: RegionSpec;
  size: SizeSpec;
  /** 0, 90, 180 or 270 (clockwise). */
  rotation: number;
  mirror: boolean;
  quality: Quality;
  format: Format;
}

/** Formats the IIIF specs name (the ones we do not produce are 400 all the same, with a clearer message). */
const KNOWN_FORMATS = new Set(['jpg', 'tif', 'png', 'gif', 'jp2', 'pdf', 'webp']);
const QUALITIES = new Set<Quality>(['default', 'color', 'gray', 'bitonal']);

const INT = /^\d{1,9}$/;
/** IIIF floats: decimal digits and ".", no sign, no exponent. */
const FLOAT = /^(?:\d{1,9}(?:\.\d{1,12})?|\.\d{1,12})$/;

function int(s: string, what: string): number {
  if (!INT.test(s)) throw badRequest(`${what} "${s}" is not a non-negative integer`);
  return Number(s);
}

function float(s: string, what: string): number {
  if (!FLOAT.test(s)) throw badRequest(`${what} "${s}" is not a non-negative number`);
  return Number(s);
}

export function parseRegion(s: string): RegionSpec {
  if (s === 'full') return { kind: 'full' };
  if (s === 'square') return { kind: 'square' };
  const pct = s.startsWith('pct:');
  const parts = (pct ? s.slice(4) : s).split(',');
  if (parts.length !== 4) throw badRequest(`region "${s}" is not full, square, x,y,w,h or pct:x,y,w,h`);
  const [x, y, w, h] = parts.map((p, i) => (pct ? float(p, 'region value') : int(p, ['x', 'y', 'w', 'h'][i]!)));
  if (w! <= 0 || h! <= 0) throw badRequest(`region "${s}" has zero width or height`);
  if (pct && (x! >= 100 || y! >= 100)) throw badRequest(`region "${s}" starts outside the image`);
  return { kind: pct ? 'pct' : 'px', x: x!, y: y!, w: w!, h: h! };
}

export function parseSize(s: string, version: IiifVersion): SizeSpec {
  let up = false;
  let t = s;
  if (version === 3) {
    if (t.startsWith('^')) {
      up = true;
      t = t.slice(1);
    }
    if (t === 'full') throw badRequest('size "full" is not IIIF 3.0 (use "max")');
  } else {
    if (t.startsWith('^')) throw badRequest(`size "${s}": "^" is IIIF 3.0 syntax`);
    if (t === 'full') return { kind: 'full' };
  }
  if (t === 'max') return { kind: 'max', up };
  if (t.startsWith('pct:')) {
    const n = float(t.slice(4), 'size percentage');
    if (n <= 0) throw badRequest(`size "${s}" is zero`);
    if (version === 3 && !up && n > 100) throw badRequest(`size "${s}" upscales: use "^pct:"`);
    return { kind: 'pct', n, up: up || n > 100 };
  }
  const fit = t.startsWith('!');
  if (fit) t = t.slice(1);
  const comma = t.indexOf(',');
  if (comma < 0 || t.indexOf(',', comma + 1) >= 0) throw badRequest(`size "${s}" is not a IIIF size`);
  const ws = t.slice(0, comma);
  const hs = t.slice(comma + 1);
  if (fit) {
    const w = int(ws, 'width');
    const h = int(hs, 'height');
    if (w === 0 || h === 0) throw badRequest(`size "${s}" is zero`);
    return { kind: 'fit', w, h, up };
  }
  if (ws === '' && hs === '') throw badRequest(`size "${s}" has neither width nor height`);
  if (ws === '') {
    const h = int(hs, 'height');
    if (h === 0) throw badRequest(`size "${s}" is zero`);
    return { kind: 'h', h, up };
  }
  const w = int(ws, 'width');
  if (w === 0) throw badRequest(`size "${s}" is zero`);
  if (hs === '') return { kind: 'w', w, up };
  const h = int(hs, 'height');
  if (h === 0) throw badRequest(`size "${s}" is zero`);
  return { kind: 'wh', w, h, up };
}

export function parseRotation(s: string): { rotation: number; mirror: boolean } {
  const mirror = s.startsWith('!');
  const n = float(mirror ? s.slice(1) : s, 'rotation');
  if (n > 360) throw badRequest(`rotation ${s} is over 360`);
  const deg = n === 360 ? 0 : n;
  if (deg % 90 !== 0) {
    const msg = `rotation ${s}: only multiples of 90 degrees are supported`;
    throw badRequest(msg);
  }
  return { rotation: deg, mirror };
}

export function parseQualityFormat(s: string, formats: readonly Format[]): { quality: Quality; format: Format } {
  const dot = s.lastIndexOf('.');
  if (dot <= 0) throw badRequest(`"${s}" is not {quality}.{format}`);
  const q = s.slice(0, dot);
  const f = s.slice(dot + 1);
  if (!QUALITIES.has(q as Quality)) throw badRequest(`quality "${q}" is not default, color, gray or bitonal`);
  if (!(formats as readonly string[]).includes(f)) {
    throw badRequest(KNOWN_FORMATS.has(f) ? `format "${f}" is not produced by this server (${formats.join(', ')})` : `format "${f}" is not a IIIF format`);
  }
  return { quality: q as Quality, format: f as Format };
}

/** The four parameters after the identifier, each still percent-encoded as in the URL. */
export function parseImageRequest(
  version: IiifVersion,
  params: readonly [string, string, string, string],
  formats: readonly Format[] = ['jpg', 'png'],
): ImageRequest {
  const [region, size, rotation, qf] = params.map((p) => safeDecode(p)) as [string, string, string, string];
  return {
    version,
    region: parseRegion(region),
    size: parseSize(size, version),
    ...parseRotation(rotation),
    ...parseQualityFormat(qf, formats),
  };
}

/** Parameters may arrive percent-encoded (e.g. "%5E" for "^", "%21" for "!"). */
function safeDecode(s: string): string {
  if (s.length > 256) throw badRequest('IIIF parameter too long');
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    throw badRequest(`bad percent-encoding in "${s.slice(0, 64)}"`);
  }
}
