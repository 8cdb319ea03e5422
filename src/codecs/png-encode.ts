// PNG encoding of RGBA (or RGB when opaque) with the platform's CompressionStream
// ('deflate' = zlib, what IDAT holds), adaptive per-row filters (None/Sub/Up/Paeth,
// minimum sum of absolute differences, as libpng's heuristic) and a table CRC-32.
// Isomorphic.

import { ImageboxError } from '../errors.js';
import type { RGBA } from '../contracts/pixels.js';

export interface PngEncodeOptions {
  /** 'auto' (default): RGB when every pixel is opaque, else RGBA. */
  channels?: 'auto' | 3 | 4;
  /**
   * The image is grey (R = G = B, e.g. IIIF gray and bitonal): written as a
   * grey PNG (colour type 0, or 4 with alpha when some pixel is not opaque),
   * the red channel taken as the grey value.
   */
  grey?: boolean;
  /**
   * zlib-wrapped deflate (RFC 1950) of the filtered rows. Default: the platform's
   * CompressionStream('deflate'); Node passes zlib (png-encode-node.ts), several
   * times faster on small images.
   */
  deflate?: (data: Uint8Array) => Uint8Array | Promise<Uint8Array>;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO 3309 / PNG), optionally continuing from `crc`. */
export function crc32(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

async function deflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  dv.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

/** The filtered scanlines (filter byte + row) of `px` (bpp bytes per pixel). */
function filterRows(px: Uint8Array, width: number, height: number, bpp: number): Uint8Array {
  const stride = width * bpp;
  const out = new Uint8Array((stride + 1) * height);
  const zero = new Uint8Array(stride);
  const abs8 = (v: number) => (v & 0x80 ? 256 - v : v); // |signed byte|
  for (let y = 0; y < height; y++) {
    const r = y * stride;
    const up = y > 0 ? px : zero;
    const u = y > 0 ? r - stride : 0;
    // score each filter by the sum of |filtered byte| (signed), then write the best
    let s0 = 0, s1 = 0, s2 = 0, s4 = 0;
    for (let i = 0; i < stride; i++) {
      const x = px[r + i]!;
      const a = i >= bpp ? px[r + i - bpp]! : 0;
      const b = up[u + i]!;
      const c = i >= bpp ? up[u + i - bpp]! : 0;
      const p = a + b - c;
      const pa = p > a ? p - a : a - p, pb = p > b ? p - b : b - p, pc = p > c ? p - c : c - p;
      const pr = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      s0 += abs8(x);
      s1 += abs8((x - a) & 0xff);
      s2 += abs8((x - b) & 0xff);
      s4 += abs8((x - pr) & 0xff);
    }
    let f = 0, best = s0;
    if (s1 < best) (f = 1), (best = s1);
    if (s2 < best) (f = 2), (best = s2);
    if (s4 < best) f = 4;
    const o = y * (stride + 1);
    out[o] = f;
    for (let i = 0; i < stride; i++) {
      const x = px[r + i]!;
      const a = i >= bpp ? px[r + i - bpp]! : 0;
      let v = x;
      if (f === 1) v = x - a;
      else if (f === 2) v = x - up[u + i]!;
      else if (f === 4) {
        const b = up[u + i]!;
        const c = i >= bpp ? up[u + i - bpp]! : 0;
        const p = a + b - c;
        const pa = p > a ? p - a : a - p, pb = p > b ? p - b : b - p, pc = p > c ? p - c : c - p;
        v = x - (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      }
      out[o + 1 + i] = v & 0xff;
    }
  }
  return out;
}

/** Encode RGBA as a PNG (8 bits per sample). */
export async function encodePng(img: RGBA, opts: PngEncodeOptions = {}): Promise<Uint8Array> {
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ImageboxError('E_BAD_REQUEST', `cannot encode a ${width}x${height} PNG`);
  }
  if (width * height > 64 * 1024 * 1024) throw new ImageboxError('E_TOO_LARGE', `PNG of ${width}x${height} is too large`);
  const n = width * height;
  if (data.length < n * 4) throw new ImageboxError('E_INTERNAL', 'RGBA buffer too small');
  let opaque = true;
  for (let i = 3; i < n * 4; i += 4) if (data[i] !== 255) { opaque = false; break; }
  const channels: 1 | 2 | 3 | 4 = opts.grey ? (opaque ? 1 : 2) : opts.channels === 3 || opts.channels === 4 ? opts.channels : opaque ? 3 : 4;
  let px = data.subarray(0, n * 4);
  if (channels === 1 || channels === 2) {
    px = new Uint8Array(n * channels);
    for (let i = 0, j = 0; i < n * 4; i += 4, j += channels) {
      px[j] = data[i]!;
      if (channels === 2) px[j + 1] = data[i + 3]!;
    }
  } else if (channels === 3) {
    px = new Uint8Array(n * 3);
    for (let i = 0, j = 0; i < n * 4; i += 4, j += 3) {
      px[j] = data[i]!;
      px[j + 1] = data[i + 1]!;
      px[j + 2] = data[i + 2]!;
    }
  }
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr[8] = 8;
  ihdr[9] = ({ 1: 0, 2: 4, 3: 2, 4: 6 } as const)[channels];
  const idat = await (opts.deflate ?? deflate)(filterRows(px, width, height, channels));
  const parts = [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
