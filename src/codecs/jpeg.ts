// Baseline JPEG through the WASM kernel (assembly/jpeg/). Isomorphic: no node:
// imports. decodeJpeg() decodes one stream (optionally abbreviated, with the
// JPEGTables stream given separately) to RGBA; jpegInfo() reads the header in
// plain TypeScript without touching the kernels.

import { ImageboxError } from '../errors.js';
import type { RGBA } from '../contracts/pixels.js';
import type { Kernels, KernelExports } from './kernels.js';

export type JpegColorTransform = 'auto' | 'none' | 'ycbcr';

export interface JpegDecodeOptions {
  /** JPEGTables (SOI DQT DHT ... EOI) for an abbreviated stream. */
  tables?: Uint8Array;
  /** 'none': components are R,G,B (TIFF Photometric RGB, Aperio); 'ycbcr': convert; 'auto': libjpeg's rules. */
  colorTransform?: JpegColorTransform;
  /** Output 1/scale of the size, from the DCT (libjpeg's scaled IDCT). */
  scale?: 1 | 2 | 4 | 8;
  /** Where to put the pixels (at least width*height*4 bytes); a new buffer otherwise. */
  out?: Uint8Array;
}

export interface JpegDecodeResult extends RGBA {
  /** The entropy data ended early or a restart marker was bad: decoded as far as it goes (rest mid-grey), like libjpeg's warnings. */
  warning: boolean;
}

interface JpegKernelExports extends KernelExports {
  jpeg_read_header(data: number, dlen: number, tables: number, tlen: number): number;
  jpeg_decode(out: number, scale: number, colorTransform: number, channels: number): number;
  jpeg_width(): number;
  jpeg_height(): number;
  jpeg_components(): number;
}

const CORRUPT: Record<number, string> = {
  1: 'no SOI marker at the start of the stream',
  2: 'data where a marker should be',
  3: 'bad marker segment length',
  4: 'bad DQT segment',
  5: 'bad DHT segment (Huffman table)',
  6: 'bad SOF segment',
  7: 'bad SOS segment (component ids or parameters do not match the frame)',
  8: 'no frame header before the scan / no scan',
  9: 'quantisation table used but not defined (missing JPEGTables?)',
  10: 'Huffman table used but not defined (missing JPEGTables?)',
  11: 'invalid Huffman code in the entropy data',
  12: 'image dimensions over the limit (64 Mpx, 65500 per side)',
  13: 'bad DRI segment',
  14: 'stream ends inside the header',
  15: 'JPEGTables is not a tables-only stream (SOI DQT/DHT ... EOI)',
  16: 'more than one frame header',
  17: 'bad decode arguments',
};
const UNSUPPORTED: Record<number, string> = {
  1: 'progressive JPEG is not supported',
  2: 'arithmetic-coded JPEG is not supported',
  3: 'lossless JPEG is not supported',
  4: 'hierarchical JPEG is not supported',
  5: 'only 8-bit JPEG is supported (12/16-bit sample precision)',
  6: 'only 1- or 3-component JPEG is supported',
  7: 'JPEG with height defined by DNL is not supported',
};

/** Turn a kernel status (< 0) into the error the contract promises. */
export function jpegStatusError(status: number): ImageboxError {
  if (status <= -200 && status > -300) {
    const n = -status - 200;
    return new ImageboxError('E_UNSUPPORTED_CODEC', UNSUPPORTED[n] ?? `unsupported JPEG (${status})`, { status });
  }
  if (status === -300) return new ImageboxError('E_TOO_LARGE', 'JPEG needs more kernel memory than allowed', { status });
  const n = -status - 100;
  return new ImageboxError('E_CORRUPT_TILE', `corrupt JPEG: ${CORRUPT[n] ?? `status ${status}`}`, { status });
}

const TRANSFORM = { auto: 0, none: 1, ycbcr: 2 } as const;

/** Output size for a scale, as libjpeg's scaled IDCT: ceil(w / scale). */
export function jpegScaledSize(width: number, height: number, scale: 1 | 2 | 4 | 8): { width: number; height: number } {
  return { width: Math.ceil(width / scale), height: Math.ceil(height / scale) };
}

/**
 * Decode a baseline (SOF0/SOF1, 8-bit, Huffman) JPEG to RGBA.
 * Throws ImageboxError E_CORRUPT_TILE / E_UNSUPPORTED_CODEC (/ E_TOO_LARGE).
 */
export function decodeJpeg(k: Kernels, data: Uint8Array, opts: JpegDecodeOptions = {}): JpegDecodeResult {
  const scale = opts.scale ?? 1;
  if (scale !== 1 && scale !== 2 && scale !== 4 && scale !== 8) {
    throw new ImageboxError('E_BAD_REQUEST', `JPEG scale must be 1, 2, 4 or 8, not ${String(scale)}`);
  }
  const transform = TRANSFORM[opts.colorTransform ?? 'auto'];
  if (transform === undefined) throw new ImageboxError('E_BAD_REQUEST', `bad colorTransform ${String(opts.colorTransform)}`);
  const tables = opts.tables;
  // Status codes come back as values and are thrown outside k.run(): only a
  // real trap should cost an instance renewal.
  const r = k.run((ex) => {
    const x = ex as JpegKernelExports;
    x.reset();
    const tPtr = tables && tables.length > 0 ? k.put(tables) : 0;
    const dPtr = k.put(data);
    let st = x.jpeg_read_header(dPtr, data.length, tPtr, tables ? tables.length : 0);
    if (st < 0) return st;
    const w = x.jpeg_width();
    const h = x.jpeg_height();
    const ow = Math.ceil(w / scale);
    const oh = Math.ceil(h / scale);
    const bytes = ow * oh * 4;
    if (opts.out && opts.out.length < bytes) return new ImageboxError('E_BAD_REQUEST', `output buffer of ${opts.out.length} bytes, need ${bytes}`);
    const oPtr = k.alloc(bytes);
    st = x.jpeg_decode(oPtr, scale, transform, 4);
    if (st < 0) return st;
    const out = opts.out ? opts.out.subarray(0, bytes) : new Uint8Array(bytes);
    out.set(k.u8().subarray(oPtr, oPtr + bytes));
    return { width: ow, height: oh, data: out, warning: st === 1 };
  });
  if (typeof r === 'number') throw jpegStatusError(r);
  if (r instanceof ImageboxError) throw r;
  return r;
}

export interface JpegInfo {
  width: number;
  height: number;
  components: number;
  /** Per component: [H, V] sampling factors. */
  sampling: [number, number][];
  componentIds: number[];
  /** SOF marker (0xC0 baseline, 0xC1 extended, 0xC2 progressive, ...). */
  sof: number;
  progressive: boolean;
  /** Baseline/extended sequential 8-bit Huffman: what decodeJpeg handles. */
  supported: boolean;
  precision: number;
  jfif: boolean;
  /** Adobe APP14 transform flag, or undefined without the marker. */
  adobeTransform: number | undefined;
  restartInterval: number;
}

/** Read the frame header (and colour hints) without decoding. Throws E_CORRUPT_TILE when there is none. */
export function jpegInfo(data: Uint8Array, tables?: Uint8Array): JpegInfo {
  let restartInterval = 0;
  if (tables && tables.length > 0) {
    walk(tables, (m, p, len) => {
      if (m === 0xdd && len >= 4) restartInterval = (tables[p + 2]! << 8) | tables[p + 3]!;
      return true;
    });
  }
  let info: JpegInfo | undefined;
  let jfif = false;
  let adobe: number | undefined;
  walk(data, (m, p, len) => {
    const seg = data.subarray(p + 2, p + len);
    if (m === 0xe0 && seg.length >= 5 && String.fromCharCode(...seg.subarray(0, 4)) === 'JFIF' && seg[4] === 0) jfif = true;
    if (m === 0xee && seg.length >= 12 && String.fromCharCode(...seg.subarray(0, 5)) === 'Adobe') adobe = seg[11];
    if (m === 0xdd && seg.length >= 2) restartInterval = (seg[0]! << 8) | seg[1]!;
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      if (seg.length < 6) throw new ImageboxError('E_CORRUPT_TILE', 'corrupt JPEG: bad SOF segment');
      const n = seg[5]!;
      if (seg.length < 6 + 3 * n) throw new ImageboxError('E_CORRUPT_TILE', 'corrupt JPEG: bad SOF segment');
      const sampling: [number, number][] = [];
      const ids: number[] = [];
      for (let c = 0; c < n; c++) {
        ids.push(seg[6 + 3 * c]!);
        const s = seg[7 + 3 * c]!;
        sampling.push([s >> 4, s & 15]);
      }
      const precision = seg[0]!;
      info = {
        width: (seg[3]! << 8) | seg[4]!,
        height: (seg[1]! << 8) | seg[2]!,
        components: n,
        sampling,
        componentIds: ids,
        sof: m,
        progressive: m === 0xc2 || m === 0xc6 || m === 0xca || m === 0xce,
        supported: (m === 0xc0 || m === 0xc1) && precision === 8 && (n === 1 || n === 3),
        precision,
        jfif: false,
        adobeTransform: undefined,
        restartInterval: 0,
      };
    }
    return m !== 0xda;
  });
  if (!info) throw new ImageboxError('E_CORRUPT_TILE', 'corrupt JPEG: no frame header');
  const i = info as JpegInfo;
  i.jfif = jfif;
  i.adobeTransform = adobe;
  i.restartInterval = restartInterval;
  return i;
}

/** Visit marker segments up to EOI (or until fn returns false): fn(marker, offset of the length field, segment length). */
function walk(b: Uint8Array, fn: (marker: number, p: number, len: number) => boolean): void {
  if (b.length < 2 || b[0] !== 0xff || b[1] !== 0xd8) throw new ImageboxError('E_CORRUPT_TILE', 'corrupt JPEG: no SOI marker');
  let p = 2;
  while (p + 1 < b.length) {
    if (b[p] !== 0xff) throw new ImageboxError('E_CORRUPT_TILE', 'corrupt JPEG: data where a marker should be');
    while (p < b.length && b[p] === 0xff) p++;
    if (p >= b.length) break;
    const m = b[p]!;
    p++;
    if (m === 0xd9) return;
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) continue;
    if (p + 2 > b.length) break;
    const len = (b[p]! << 8) | b[p + 1]!;
    if (len < 2 || p + len > b.length) throw new ImageboxError('E_CORRUPT_TILE', 'corrupt JPEG: bad marker segment length');
    if (!fn(m, p, len)) return;
    p += len;
  }
}
