// Hamamatsu NDPI, read as OpenSlide 3.4.1's hamamatsu-ndpi driver does:
// - a classic TIFF whose IFD 0 has tag 65420 (8-byte next-IFD pointers, high offset
//   bits restored by src/formats/tiff/tiff-file.ts);
// - every directory holds one JPEG as a single strip; SourceLens (65421) > 0 with
//   focal plane (65424) 0 is a pyramid level, -1 the macro image, -2 the map (ignored);
// - a level whose JPEG has a restart interval (DRI) is tiled by its restart intervals:
//   tile = restartInterval MCUs across x one MCU row, found through McuStarts (65426,
//   + McuStartsHighBytes 65432 for offsets past 4 GiB). A tile's bytes are synthesised
//   as one small baseline JPEG: the level's header (tables, SOF with the tile's size,
//   no DRI) + the interval's entropy-coded bytes + EOI. The DC predictors restart at
//   every restart marker, which is what makes an interval decodable on its own.
// - a level without restart markers is one tile (the whole JPEG), if small enough.
import { ImageboxError } from '../errors.js';
import { Photometric } from '../contracts/tile.js';
import type { ByteSource } from '../io/byte-source.js';
import { imageInfo, num, text, type Ifd, type ImageInfo } from './tiff/ifd.js';
import { ResidentArray, type NumberArray } from './tiff/lazy-array.js';
import { Tag } from './tiff/tags.js';
import { fixNdpiOffset, type TiffFile } from './tiff/tiff-file.js';
import type { LayoutLevel, SlideLayout } from './slide-layout.js';
import { assertDecodable, MAX_TILE_PIXELS } from './supported.js';
import { tiffProperties } from './tiff-properties.js';

/** First read of a JPEG's header at open; it may grow to MAX_HEADER_BYTES. */
const HEADER_READ_BYTES = 8 * 1024;
const MAX_HEADER_BYTES = 256 * 1024;
/** Largest restart interval (one tile's bytes) we read. */
export const MAX_INTERVAL_BYTES = 16 * 1024 * 1024;

/** How a tile of a restart-interval level is put together (see Slide). */
export interface RestartJpeg {
  /** SOI ... SOS of the level's JPEG, SOF sized to one tile, DRI removed. */
  header: Uint8Array;
  /** File offsets of the strip's first entropy-coded byte and of its end. */
  dataStart: number;
  stripEnd: number;
}

export function isNdpi(tiff: TiffFile): boolean {
  return tiff.ndpi && tiff.ifds[0] !== undefined && tiff.ifds[0].entries.has(Tag.NdpiFormatFlag);
}

export interface JpegHeader {
  width: number;
  height: number;
  components: number;
  hmax: number;
  vmax: number;
  restartInterval: number;
  /** Offset just past the SOS segment (the first entropy-coded byte). */
  scanStart: number;
  /** SOI ... SOS without DRI, SOF resized by the caller. */
  segments: { marker: number; start: number; end: number }[];
  ycbcr: boolean;
}

/** The markers of a JPEG up to its first scan, or undefined when `bytes` ends first. */
export function parseJpegHeader(bytes: Uint8Array, what: string): JpegHeader | undefined {
  const bad = (m: string) => new ImageboxError('E_MALFORMED', `${what}: ${m}`);
  if (bytes.length < 2) return undefined;
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) throw bad('the strip is not a JPEG (no SOI)');
  let p = 2;
  const h: Partial<JpegHeader> & { segments: JpegHeader['segments'] } = { segments: [], restartInterval: 0 };
  let jfif = false;
  let adobe: number | undefined;
  let ids: number[] = [];
  for (;;) {
    if (p + 4 > bytes.length) return undefined;
    if (bytes[p] !== 0xff) throw bad(`no marker at header byte ${p}`);
    const m = bytes[p + 1]!;
    if (m === 0xff) {
      p++;
      continue;
    }
    const len = (bytes[p + 2]! << 8) | bytes[p + 3]!;
    if (len < 2) throw bad('bad marker segment length');
    const end = p + 2 + len;
    if (end > bytes.length) return undefined;
    const s = p + 4;
    if (m === 0xc0 || m === 0xc1) {
      if (len < 8) throw bad('bad SOF');
      h.height = (bytes[s + 1]! << 8) | bytes[s + 2]!;
      h.width = (bytes[s + 3]! << 8) | bytes[s + 4]!;
      h.components = bytes[s + 5]!;
      if (len < 8 + 3 * h.components) throw bad('bad SOF');
      h.hmax = 1;
      h.vmax = 1;
      ids = [];
      for (let c = 0; c < h.components; c++) {
        ids.push(bytes[s + 6 + 3 * c]!);
        const f = bytes[s + 7 + 3 * c]!;
        h.hmax = Math.max(h.hmax, f >> 4);
        h.vmax = Math.max(h.vmax, f & 15);
      }
    } else if (m >= 0xc2 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      throw new ImageboxError('E_NOT_A_SLIDE', `${what}: not a baseline JPEG (SOF 0x${m.toString(16)})`);
    } else if (m === 0xdd) {
      if (len !== 4) throw bad('bad DRI');
      h.restartInterval = (bytes[s]! << 8) | bytes[s + 1]!;
    } else if (m === 0xe0 && len >= 7 && String.fromCharCode(...bytes.subarray(s, s + 4)) === 'JFIF') {
      jfif = true;
    } else if (m === 0xee && len >= 14 && String.fromCharCode(...bytes.subarray(s, s + 5)) === 'Adobe') {
      adobe = bytes[s + 11];
    }
    if (m !== 0xdd) h.segments.push({ marker: m, start: p, end });
    p = end;
    if (m === 0xda) break;
  }
  if (h.width === undefined) throw bad('no frame header (SOF) before the scan');
  h.scanStart = p;
  // libjpeg's colour rules for 3 components (NDPI's Photometric tag says RGB; OpenSlide ignores it)
  const rgbIds = ids[0] === 0x52 && ids[1] === 0x47 && ids[2] === 0x42;
  h.ycbcr = h.components === 3 && (jfif || (adobe !== undefined ? adobe !== 0 : !rgbIds));
  return h as JpegHeader;
}

/** The tile header: the level's header with the SOF sized to one tile and no DRI. */
function tileHeader(bytes: Uint8Array, h: JpegHeader, tileWidth: number, tileHeight: number): Uint8Array {
  const total = 2 + h.segments.reduce((n, s) => n + s.end - s.start, 0);
  const out = new Uint8Array(total);
  out[0] = 0xff;
  out[1] = 0xd8;
  let o = 2;
  for (const s of h.segments) {
    out.set(bytes.subarray(s.start, s.end), o);
    if (s.marker === 0xc0 || s.marker === 0xc1) {
      out[o + 5] = tileHeight >> 8;
      out[o + 6] = tileHeight & 255;
      out[o + 7] = tileWidth >> 8;
      out[o + 8] = tileWidth & 255;
    }
    o += s.end - s.start;
  }
  return out;
}

/** McuStarts (+ high bytes) as absolute file offsets of each interval's first byte. */
class McuStarts {
  constructor(
    private readonly low: NumberArray,
    private readonly high: NumberArray | undefined,
    private readonly jpegStart: number,
  ) {}
  get length(): number {
    return this.low.length;
  }
  get resident(): boolean {
    return this.low.resident && (this.high?.resident ?? true);
  }
  private combine(lo: number | undefined, hi: number | undefined): number | undefined {
    if (lo === undefined || (this.high && hi === undefined)) return undefined;
    return this.jpegStart + lo + (hi ?? 0) * 2 ** 32;
  }
  peek(i: number): number | undefined {
    return this.combine(this.low.peek(i), this.high?.peek(i));
  }
  async get(i: number, signal?: AbortSignal): Promise<number> {
    const [lo, hi] = await Promise.all([this.low.get(i, signal), this.high?.get(i, signal)]);
    return this.combine(lo, hi)!;
  }
  async loadAll(signal?: AbortSignal): Promise<void> {
    await Promise.all([this.low.loadAll(signal), this.high?.loadAll(signal)]);
  }
}

/** Tile offsets of a restart-interval level: McuStarts[i]. */
class IntervalOffsets implements NumberArray {
  constructor(private readonly starts: McuStarts) {}
  get length(): number {
    return this.starts.length;
  }
  get resident(): boolean {
    return this.starts.resident;
  }
  peek(i: number): number | undefined {
    return this.starts.peek(i);
  }
  get(i: number, signal?: AbortSignal): Promise<number> {
    return this.starts.get(i, signal);
  }
  loadAll(signal?: AbortSignal): Promise<void> {
    return this.starts.loadAll(signal);
  }
}

/** Tile byte counts: McuStarts[i + 1] - McuStarts[i], the last to the strip's end (may be hostile: Slide checks). */
class IntervalCounts implements NumberArray {
  constructor(
    private readonly starts: McuStarts,
    private readonly stripEnd: number,
  ) {}
  get length(): number {
    return this.starts.length;
  }
  get resident(): boolean {
    return this.starts.resident;
  }
  peek(i: number): number | undefined {
    const a = this.starts.peek(i);
    const b = i + 1 < this.starts.length ? this.starts.peek(i + 1) : this.stripEnd;
    return a === undefined || b === undefined ? undefined : b - a;
  }
  async get(i: number, signal?: AbortSignal): Promise<number> {
    const [a, b] = await Promise.all([
      this.starts.get(i, signal),
      i + 1 < this.starts.length ? this.starts.get(i + 1, signal) : Promise.resolve(this.stripEnd),
    ]);
    return b - a;
  }
  loadAll(signal?: AbortSignal): Promise<void> {
    return this.starts.loadAll(signal);
  }
}

interface Candidate {
  ifd: Ifd;
  info: ImageInfo;
  stripStart: number;
  stripBytes: number;
  role: 'level' | 'macro';
}

async function readHeaders(source: ByteSource, cands: Candidate[], size: number): Promise<{ h: JpegHeader; bytes: Uint8Array }[]> {
  const want = (c: Candidate, n: number) => ({ offset: c.stripStart, length: Math.min(n, c.stripBytes) });
  for (const c of cands) {
    if (c.stripBytes < 4 || c.stripStart + c.stripBytes > size) {
      throw new ImageboxError('E_TRUNCATED', `NDPI directory ${c.ifd.index}: its JPEG (${c.stripStart}+${c.stripBytes}) lies past the end of the file (${size} bytes)`);
    }
  }
  const got = await source.read(cands.map((c) => want(c, HEADER_READ_BYTES)));
  const out: { h: JpegHeader; bytes: Uint8Array }[] = [];
  for (let k = 0; k < cands.length; k++) {
    const c = cands[k]!;
    const what = `NDPI directory ${c.ifd.index}`;
    let bytes = got[k]!;
    let h = parseJpegHeader(bytes, what);
    if (!h && c.stripBytes > HEADER_READ_BYTES) {
      bytes = (await source.read([want(c, MAX_HEADER_BYTES)]))[0]!;
      h = parseJpegHeader(bytes, what);
    }
    if (!h) throw new ImageboxError('E_MALFORMED', `${what}: no JPEG scan within the first ${Math.min(c.stripBytes, MAX_HEADER_BYTES)} bytes of the strip`);
    out.push({ h, bytes });
  }
  return out;
}

export async function readNdpi(tiff: TiffFile): Promise<SlideLayout> {
  const cands: Candidate[] = [];
  for (const ifd of tiff.ifds) {
    const info = imageInfo(ifd);
    const lens = num(ifd, Tag.NdpiSourceLens);
    if (!info || lens === undefined) continue;
    const role = lens > 0 ? 'level' : lens === -1 ? 'macro' : undefined;
    if (!role) continue; // -2: the map
    if (role === 'level' && (num(ifd, Tag.NdpiFocalPlane) ?? 0) !== 0) continue; // other focal planes
    if (role === 'macro' && cands.some((c) => c.role === 'macro')) continue;
    if (info.tiled || info.offsets.length !== 1 || info.byteCounts.length !== 1) {
      throw new ImageboxError('E_NOT_A_SLIDE', `NDPI directory ${ifd.index}: not one JPEG strip`);
    }
    if (info.compression !== 7) throw new ImageboxError('E_NOT_A_SLIDE', `NDPI directory ${ifd.index}: compression ${info.compression}, not JPEG`);
    const stripStart = fixNdpiOffset(ifd.offset, await info.offsets.get(0));
    const stripBytes = await info.byteCounts.get(0);
    cands.push({ ifd, info, stripStart, stripBytes, role });
  }
  if (!cands.some((c) => c.role === 'level')) throw new ImageboxError('E_NOT_A_SLIDE', "NDPI file without pyramid levels (no directory with SourceLens > 0)");
  const headers = await readHeaders(tiff.source, cands, tiff.size);

  const levels: LayoutLevel[] = [];
  const associated = new Map<string, ImageInfo>();
  const notes: string[] = [];
  cands.forEach((c, k) => {
    const { h, bytes } = headers[k]!;
    const what = `NDPI directory ${c.ifd.index}`;
    const { width, height } = c.info;
    // OpenSlide accepts SOF sizes of 0 or over 65500 (big NDPI levels) and uses the TIFF's
    if (h.width !== 0 && h.height !== 0 && h.width <= 65500 && h.height <= 65500 && (h.width !== width || h.height !== height)) {
      throw new ImageboxError('E_MALFORMED', `${what}: JPEG is ${h.width}x${h.height}, the directory says ${width}x${height}`);
    }
    if (h.components !== 3 && h.components !== 1) throw new ImageboxError('E_NOT_A_SLIDE', `${what}: JPEG of ${h.components} components`);
    const photometric = h.ycbcr ? Photometric.YCbCr : h.components === 1 ? Photometric.MinIsBlack : Photometric.Rgb;
    const whole = (): ImageInfo => {
      if (width * height > MAX_TILE_PIXELS) {
        throw new ImageboxError('E_NOT_A_SLIDE', `${what}: a ${width}x${height} JPEG without restart markers and McuStarts cannot be read in parts (at most ${MAX_TILE_PIXELS / (1024 * 1024)} Mpx is decoded whole)`);
      }
      return {
        ...c.info,
        tiled: c.role === 'level',
        tileWidth: width,
        tileHeight: height,
        photometric,
        jpegTables: undefined,
        offsets: new ResidentArray([c.stripStart]),
        byteCounts: new ResidentArray([c.stripBytes]),
      };
    };
    if (c.role === 'macro') {
      associated.set('macro', whole());
      return;
    }
    const mcu = c.ifd.arrays.get(Tag.NdpiMcuStarts);
    const high = c.ifd.arrays.get(Tag.NdpiMcuStartsHighBytes);
    let info: ImageInfo;
    if (h.restartInterval === 0) {
      if (mcu && mcu.length > 1) throw new ImageboxError('E_MALFORMED', `${what}: McuStarts (${mcu.length} entries) but the JPEG has no restart interval (DRI)`);
      info = whole();
    } else {
      const mcuW = h.components > 1 ? h.hmax * 8 : 8;
      const mcuH = h.components > 1 ? h.vmax * 8 : 8;
      const perRow = Math.ceil(width / mcuW);
      if (h.restartInterval > perRow || perRow % h.restartInterval !== 0) {
        throw new ImageboxError('E_NOT_A_SLIDE', `${what}: restart interval of ${h.restartInterval} MCUs does not divide a row of ${perRow} MCUs`);
      }
      const tileWidth = mcuW * h.restartInterval;
      const tileHeight = mcuH;
      const tiles = (perRow / h.restartInterval) * Math.ceil(height / mcuH);
      if (!mcu || mcu.length !== tiles) {
        if (tiles === 1 || width * height <= MAX_TILE_PIXELS) {
          info = whole();
          notes.push(`level ${levels.length}: no usable McuStarts, its JPEG is decoded whole`);
          levels.push({ info, ifdIndex: c.ifd.index, subIfdIndex: undefined });
          return;
        }
        throw new ImageboxError('E_NOT_A_SLIDE', `${what}: McuStarts has ${mcu?.length ?? 0} entries for ${tiles} restart intervals (OpenSlide would scan for the markers; we do not)`);
      }
      if (high && high.length !== mcu.length) throw new ImageboxError('E_MALFORMED', `${what}: McuStartsHighBytes has ${high.length} entries, McuStarts ${mcu.length}`);
      const starts = new McuStarts(mcu, high, c.stripStart);
      const restart: RestartJpeg = {
        header: tileHeader(bytes, h, tileWidth, tileHeight),
        dataStart: c.stripStart + h.scanStart,
        stripEnd: c.stripStart + c.stripBytes,
      };
      info = {
        ...c.info,
        tiled: true,
        tileWidth,
        tileHeight,
        photometric,
        jpegTables: undefined,
        offsets: new IntervalOffsets(starts),
        byteCounts: new IntervalCounts(starts, restart.stripEnd),
        restart,
      };
    }
    assertDecodable(info, `level ${levels.length} (IFD ${c.ifd.index})`);
    levels.push({ info, ifdIndex: c.ifd.index, subIfdIndex: undefined });
  });
  levels.sort((a, b) => b.info.width - a.info.width);

  const first = tiff.ifds[0]!;
  const properties: Record<string, string> = { ...tiffProperties(first), 'openslide.vendor': 'hamamatsu' };
  const unit = num(first, Tag.ResolutionUnit) ?? 2;
  const mpp = (tag: number) => {
    const r = num(first, tag);
    // OpenSlide's own TIFF reader keeps the rational as a double (libtiff's tiff.XResolution is a float)
    return unit === 3 && r !== undefined && r > 0 ? 10000 / r : undefined;
  };
  const mppX = mpp(Tag.XResolution);
  const mppY = mpp(Tag.YResolution);
  // OpenSlide's NDPI properties come from its own TIFF reader, printed by g_ascii_dtostr
  // (the shortest string that reads back the same double: JavaScript's String)
  const xr = num(first, Tag.XResolution);
  const yr = num(first, Tag.YResolution);
  if (xr !== undefined) properties['tiff.XResolution'] = String(xr);
  if (yr !== undefined) properties['tiff.YResolution'] = String(yr);
  if (mppX !== undefined) properties['openslide.mpp-x'] = String(mppX);
  if (mppY !== undefined) properties['openslide.mpp-y'] = String(mppY);
  const lens = num(first, Tag.NdpiSourceLens);
  if (lens !== undefined) {
    properties['hamamatsu.SourceLens'] = String(lens);
    properties['openslide.objective-power'] = String(lens);
  }
  const xo = num(first, Tag.NdpiXOffset);
  const yo = num(first, Tag.NdpiYOffset);
  if (xo !== undefined) properties['hamamatsu.XOffsetFromSlideCentre'] = String(xo);
  if (yo !== undefined) properties['hamamatsu.YOffsetFromSlideCentre'] = String(yo);
  const ref = text(first, Tag.NdpiReference);
  if (ref !== undefined) properties['hamamatsu.Reference'] = ref;
  const map = text(first, Tag.NdpiPropertyMap);
  if (map !== undefined) {
    for (const record of map.split('\r\n')) {
      const eq = record.indexOf('=');
      if (eq <= 0 || eq === record.length - 1) continue;
      properties[`hamamatsu.${record.slice(0, eq)}`] = record.slice(eq + 1);
    }
  }
  notes.push("OpenSlide 3.4.1 adds DCT-scaled copies of the levels (1/2, 1/4, 1/8) as levels of their own; we list the stored levels only and scale in the decoder");
  return {
    vendor: 'hamamatsu',
    levels,
    associated,
    properties,
    mppX,
    mppY,
    objectivePower: lens !== undefined && lens > 0 ? lens : undefined,
    notes,
  };
}
