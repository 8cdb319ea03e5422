// LZW, Predictor 2 and Deflate against real tiles (test/fixtures/lzw, see its
// README) and synthetic streams; seeded fuzzing for bounds.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { kernels } from '../../src/codecs/kernels-node.js';
import type { Kernels } from '../../src/codecs/kernels.js';
import { decodeLzw, decodeLzwTile } from '../../src/codecs/lzw.js';
import { undoHorizontalPredictor } from '../../src/codecs/predictor.js';
import { decodeDeflateTile, inflate, isZlibWrapped } from '../../src/codecs/deflate.js';
import { ImageboxError } from '../../src/errors.js';
import { decodeLosslessTile } from '../../src/codecs/tiff-lossless.js';
import type { EncodedTile } from '../../src/contracts/tile.js';

const DIR = fileURLToPath(new URL('../fixtures/lzw/', import.meta.url));

interface Meta {
  compression: number;
  width: number;
  height: number;
  validWidth: number;
  validHeight: number;
  samplesPerPixel: number;
  bitsPerSample: number;
  predictor: number;
  littleEndian: boolean;
  ref: string;
}

function fixture(name: string): { bytes: Uint8Array; meta: Meta } {
  return {
    bytes: new Uint8Array(readFileSync(DIR + name + '.bin')),
    meta: JSON.parse(readFileSync(DIR + name + '.json', 'utf8')) as Meta,
  };
}

/** Reference pixels as RGB, cropped to w x h (an OpenSlide reference may extend past the image, transparent there). */
async function referenceRgb(name: string, w: number, h: number): Promise<{ data: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(DIR + name + '.png').ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const rgb = new Uint8Array(w * h * 3);
  let badAlpha = 0;
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      const i = (y * info.width + x) * 4;
      if (x >= w || y >= h) {
        if (data[i + 3] !== 0) badAlpha++;
        continue;
      }
      if (data[i + 3] !== 255) badAlpha++;
      const j = (y * w + x) * 3;
      rgb[j] = data[i]!;
      rgb[j + 1] = data[i + 1]!;
      rgb[j + 2] = data[i + 2]!;
    }
  }
  expect(badAlpha).toBe(0);
  return { data: rgb, width: Math.min(w, info.width), height: Math.min(h, info.height) };
}

/** The valid part of decoded chunky 8-bit RGB samples. */
function crop(samples: Uint8Array, m: Meta): Uint8Array {
  const out = new Uint8Array(m.validWidth * m.validHeight * 3);
  for (let y = 0; y < m.validHeight; y++) {
    out.set(samples.subarray(y * m.width * 3, (y * m.width + m.validWidth) * 3), y * m.validWidth * 3);
  }
  return out;
}

/** A TIFF LZW encoder (libtiff's rules: early change, clear when the table fills). */
function lzwEncode(data: Uint8Array, opts: { eoi?: boolean; clearEvery?: number } = {}): Uint8Array {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  let width = 9;
  const emit = (code: number) => {
    acc = (acc << width) | code;
    bits += width;
    while (bits >= 8) {
      bits -= 8;
      out.push((acc >>> bits) & 0xff);
    }
    acc &= (1 << bits) - 1;
  };
  let dict = new Map<string, number>();
  let next = 258;
  emit(256);
  let w = '';
  for (let i = 0; i < data.length; i++) {
    const c = String.fromCharCode(data[i]!);
    const wc = w + c;
    if (w === '' || (wc.length === 1) || dict.has(wc)) {
      w = wc;
      continue;
    }
    emit(w.length === 1 ? w.charCodeAt(0) : dict.get(w)!);
    dict.set(wc, next++);
    if (next >= 1 << width && width < 12) width++; // one code later than the decoder
    if (next >= (opts.clearEvery ?? 4093)) {
      emit(256);
      dict = new Map();
      next = 258;
      width = 9;
    }
    w = c;
  }
  if (w) emit(w.length === 1 ? w.charCodeAt(0) : dict.get(w)!);
  if (opts.eoi !== false) emit(257);
  if (bits > 0) out.push((acc << (8 - bits)) & 0xff);
  return new Uint8Array(out);
}

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let k: Kernels;
beforeAll(async () => {
  k = await kernels();
});

describe('LZW on real TIFF tiles (exact match with the reference pixels)', () => {
  const names = readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .filter((n) => fixture(n).meta.compression === 5);
  it('has the fixtures', () => expect(names.length).toBeGreaterThanOrEqual(4));
  for (const name of names) {
    it(name, async () => {
      const { bytes, meta } = fixture(name);
      const samples = decodeLzwTile(k, bytes, meta);
      expect(samples.length).toBe(meta.width * meta.height * 3);
      const ref = await referenceRgb(name, meta.validWidth, meta.validHeight);
      expect([ref.width, ref.height]).toEqual([meta.validWidth, meta.validHeight]);
      expect(Buffer.compare(Buffer.from(crop(samples, meta)), Buffer.from(ref.data))).toBe(0);
    });
  }
  it('reports a complete stream (EndOfInformation) for a real tile', () => {
    const { bytes, meta } = fixture('generic-lzw-L0-c2r2');
    const r = decodeLzw(k, bytes, meta.width * meta.height * 3);
    expect(r.complete).toBe(true);
    expect(r.overflow).toBe(false);
    expect(r.data.length).toBe(meta.width * meta.height * 3);
  });
});

describe('LZW streams', () => {
  const sample = (n: number, seed: number) => {
    const r = rng(seed);
    const a = new Uint8Array(n);
    for (let i = 0; i < n; i++) a[i] = r() < 0.7 ? (i > 0 ? a[i - 1]! : 0) : Math.floor(r() * 8) * 31;
    return a;
  };
  it('round-trips synthetic data across all code widths and table clears', () => {
    for (const [n, seed] of [[1, 1], [2, 2], [300, 3], [5000, 4], [200_000, 5]] as const) {
      const data = sample(n, seed);
      const r = decodeLzw(k, lzwEncode(data), n);
      expect(r.complete).toBe(true);
      expect(Buffer.from(r.data).equals(Buffer.from(data))).toBe(true);
    }
  });
  it('handles the KwKwK case (a code used in the step that defines it)', () => {
    const data = new Uint8Array(1000).fill(7); // aaaa... is all KwKwK
    const r = decodeLzw(k, lzwEncode(data), 1000);
    expect(Buffer.from(r.data).equals(Buffer.from(data))).toBe(true);
  });
  it('early clears (encoder clearing before the table fills) decode', () => {
    const data = sample(50_000, 9);
    const r = decodeLzw(k, lzwEncode(data, { clearEvery: 600 }), data.length);
    expect(Buffer.from(r.data).equals(Buffer.from(data))).toBe(true);
  });
  it('a stream without EndOfInformation decodes and says so', () => {
    const data = sample(4000, 6);
    const r = decodeLzw(k, lzwEncode(data, { eoi: false }), 4000);
    expect(r.complete).toBe(false);
    expect(Buffer.from(r.data).equals(Buffer.from(data))).toBe(true);
  });
  it('never writes past the bound: output is cut and flagged', () => {
    const data = sample(10_000, 7);
    const enc = lzwEncode(data);
    for (const cap of [0, 1, 99, 5000, 9999]) {
      k.exports.reset();
      const r = decodeLzw(k, enc, cap);
      expect(r.overflow).toBe(true);
      expect(r.data.length).toBe(cap);
      expect(Buffer.from(r.data).equals(Buffer.from(data.subarray(0, cap)))).toBe(true);
    }
  });
  it('guard bytes after the output buffer stay untouched', () => {
    const data = sample(3000, 8);
    const enc = lzwEncode(data);
    k.exports.reset();
    const s = k.put(enc);
    const d = k.alloc(1000 + 64);
    k.u8().fill(0xa5, d + 1000, d + 1064);
    const x = k.exports as unknown as { lzw_decode(a: number, b: number, c: number, d: number): number };
    expect(x.lzw_decode(s, enc.length, d, 1000)).toBe(1000);
    expect(k.u8().subarray(d + 1000, d + 1064).every((v) => v === 0xa5)).toBe(true);
  });
  it('an invalid code is E_CORRUPT_TILE', () => {
    // clear (256), then code 300 (not yet defined) in 9 bits
    const bad = new Uint8Array([0x80, 0x4b, 0x00, 0x00]);
    expect(() => decodeLzw(k, bad, 100)).toThrowError(expect.objectContaining({ code: 'E_CORRUPT_TILE' }));
  });
  it('old-style LSB-first LZW is E_UNSUPPORTED_CODEC', () => {
    expect(() => decodeLzw(k, new Uint8Array([0x00, 0x01, 0x02, 0x03]), 100)).toThrowError(
      expect.objectContaining({ code: 'E_UNSUPPORTED_CODEC' }),
    );
  });
  it('a short tile is E_CORRUPT_TILE; a bound past the limit is E_TOO_LARGE', () => {
    const { bytes, meta } = fixture('bigendian-lzw-L2-c0r0');
    expect(() => decodeLzwTile(k, bytes.subarray(0, 1000), meta)).toThrowError(expect.objectContaining({ code: 'E_CORRUPT_TILE' }));
    expect(() => decodeLzw(k, bytes, 2 ** 31)).toThrowError(expect.objectContaining({ code: 'E_TOO_LARGE' }));
  });
  it('fuzz: 400 seeded mutations of a real tile never overrun or throw anything but ImageboxError', () => {
    const { bytes, meta } = fixture('bigendian-lzw-L2-c0r0');
    const cap = meta.width * meta.height * 3;
    const r = rng(1234);
    for (let i = 0; i < 400; i++) {
      const m = bytes.slice(0, 1 + Math.floor(r() * bytes.length));
      const flips = 1 + Math.floor(r() * 20);
      for (let f = 0; f < flips; f++) m[Math.floor(r() * m.length)] = Math.floor(r() * 256);
      try {
        const out = decodeLzw(k, m, cap);
        expect(out.data.length).toBeLessThanOrEqual(cap);
      } catch (e) {
        expect(e).toBeInstanceOf(ImageboxError);
        expect(['E_CORRUPT_TILE', 'E_UNSUPPORTED_CODEC']).toContain((e as ImageboxError).code);
      }
    }
    // the instance is still usable afterwards
    expect(decodeLzwTile(k, bytes, meta).length).toBe(cap);
  });
});

describe('Predictor 2', () => {
  const encode8 = (a: Uint8Array, w: number, h: number, spp: number) => {
    const o = a.slice();
    for (let y = 0; y < h; y++) for (let i = w * spp - 1; i >= spp; i--) o[y * w * spp + i] = (a[y * w * spp + i]! - a[y * w * spp + i - spp]!) & 0xff;
    return o;
  };
  it('8-bit, 1..5 samples per pixel, random data round-trips', () => {
    const r = rng(42);
    for (const spp of [1, 2, 3, 4, 5]) {
      const w = 37, h = 5;
      const a = Uint8Array.from({ length: w * h * spp }, () => Math.floor(r() * 256));
      const out = undoHorizontalPredictor(k, encode8(a, w, h, spp), { width: w, height: h, samplesPerPixel: spp, bitsPerSample: 8, littleEndian: true });
      expect(Buffer.from(out).equals(Buffer.from(a))).toBe(true);
    }
  });
  it('16-bit, both byte orders, hand-checked values', () => {
    // one row of 3 pixels, 2 samples: diffs (1000, 65535) (1, 2) (65535, 3) -> (1000,65535) (1001,1) (1000,4)
    const diffs = [1000, 65535, 1, 2, 65535, 3];
    const want = [1000, 65535, 1001, 1, 1000, 4];
    for (const le of [true, false]) {
      const b = new Uint8Array(12);
      const dv = new DataView(b.buffer);
      diffs.forEach((v, i) => dv.setUint16(i * 2, v, le));
      undoHorizontalPredictor(k, b, { width: 3, height: 1, samplesPerPixel: 2, bitsPerSample: 16, littleEndian: le });
      expect(want.map((_, i) => dv.getUint16(i * 2, le))).toEqual(want);
    }
  });
  it('rejects other sample sizes and short buffers', () => {
    expect(() => undoHorizontalPredictor(k, new Uint8Array(8), { width: 2, height: 1, samplesPerPixel: 1, bitsPerSample: 32, littleEndian: true })).toThrow(ImageboxError);
    expect(() => undoHorizontalPredictor(k, new Uint8Array(3), { width: 2, height: 1, samplesPerPixel: 3, bitsPerSample: 8, littleEndian: true })).toThrowError(
      expect.objectContaining({ code: 'E_CORRUPT_TILE' }),
    );
  });
});

describe('Deflate via DecompressionStream', () => {
  const names = readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .filter((n) => fixture(n).meta.compression === 8);
  it('has the fixtures', () => expect(names.length).toBeGreaterThanOrEqual(3));
  for (const name of names) {
    it(name, async () => {
      const { bytes, meta } = fixture(name);
      expect(isZlibWrapped(bytes)).toBe(true);
      const samples = await decodeDeflateTile(k, bytes, meta);
      const ref = await referenceRgb(name, meta.validWidth, meta.validHeight);
      expect(Buffer.compare(Buffer.from(crop(samples, meta)), Buffer.from(ref.data))).toBe(0);
    });
  }
  it('raw deflate and zlib both decode; output is bounded and flagged', async () => {
    const data = new TextEncoder().encode('imagebox '.repeat(1000));
    const cs = async (fmt: string) => new Uint8Array(await new Response(new Blob([data]).stream().pipeThrough(new CompressionStream(fmt as CompressionFormat))).arrayBuffer());
    for (const fmt of ['deflate', 'deflate-raw']) {
      const z = await cs(fmt);
      expect(isZlibWrapped(z)).toBe(fmt === 'deflate');
      const full = await inflate(z, data.length);
      expect(full.overflow).toBe(false);
      expect(Buffer.from(full.data).equals(Buffer.from(data))).toBe(true);
      const cut = await inflate(z, 100);
      expect(cut.overflow).toBe(true);
      expect(cut.data.length).toBe(100);
    }
  });
  it('damaged streams are E_CORRUPT_TILE, or decode to the full tile (seeded mutations); cut streams always E_CORRUPT_TILE', async () => {
    const { bytes, meta } = fixture('boxes-deflate-L3-c0r0');
    const r = rng(77);
    let corrupt = 0;
    for (let i = 0; i < 100; i++) {
      const m = bytes.slice(0, 2 + Math.floor(r() * (bytes.length - 2)));
      for (let f = 0; f < 4; f++) m[2 + Math.floor(r() * (m.length - 2))] = Math.floor(r() * 256);
      try {
        const out = await decodeDeflateTile(k, m, meta);
        expect(out.length).toBe(meta.width * meta.height * 3);
      } catch (e) {
        expect(e).toMatchObject({ code: 'E_CORRUPT_TILE' });
        corrupt++;
      }
    }
    expect(corrupt).toBeGreaterThan(0);
    for (const cut of [2, 10, Math.floor(bytes.length / 3), bytes.length - 8]) {
      await expect(decodeDeflateTile(k, bytes.slice(0, cut), meta), `cut at ${cut}`).rejects.toMatchObject({ code: 'E_CORRUPT_TILE' });
    }
  });
});

describe('decodeLosslessTile (EncodedTile -> RGBA)', () => {
  const tileOf = (name: string): { tile: EncodedTile; meta: Meta & { photometric: number; planarConfig: number } } => {
    const { bytes, meta } = fixture(name) as { bytes: Uint8Array; meta: Meta & { photometric: number; planarConfig: number } };
    return {
      meta,
      tile: {
        level: 0, col: 0, row: 0, bytes, missing: false, compression: meta.compression, jpegTables: undefined,
        photometric: meta.photometric, samplesPerPixel: meta.samplesPerPixel, bitsPerSample: meta.bitsPerSample,
        predictor: meta.predictor, planarConfig: meta.planarConfig, ycbcrSubsampling: [1, 1],
        width: meta.width, height: meta.height, validWidth: meta.validWidth, validHeight: meta.validHeight,
      },
    };
  };
  const all = readdirSync(DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
  for (const name of all) {
    it(`${name}: RGBA of the valid part equals the reference`, async () => {
      const { tile, meta } = tileOf(name);
      const rgba = await decodeLosslessTile(k, tile, meta.littleEndian);
      expect([rgba.width, rgba.height]).toEqual([meta.validWidth, meta.validHeight]);
      const ref = await referenceRgb(name, meta.validWidth, meta.validHeight);
      let diff = 0;
      for (let i = 0; i < meta.validWidth * meta.validHeight; i++) {
        if (rgba.data[i * 4 + 3] !== 255) diff++;
        for (let c = 0; c < 3; c++) if (rgba.data[i * 4 + c] !== ref.data[i * 3 + c]) diff++;
      }
      expect(diff).toBe(0);
    });
  }
  it('a missing tile is transparent; unknown compression / planar layout are E_UNSUPPORTED_CODEC', async () => {
    const { tile } = tileOf('boxes-deflate-L3-c0r0');
    const empty = await decodeLosslessTile(k, { ...tile, missing: true, bytes: new Uint8Array(0) });
    expect([empty.width, empty.height]).toEqual([37, 31]);
    expect(empty.data.every((v) => v === 0)).toBe(true);
    await expect(decodeLosslessTile(k, { ...tile, compression: 34712 })).rejects.toMatchObject({ code: 'E_UNSUPPORTED_CODEC' });
    await expect(decodeLosslessTile(k, { ...tile, planarConfig: 2 })).rejects.toMatchObject({ code: 'E_UNSUPPORTED_CODEC' });
  });
  it('uncompressed 16-bit big-endian samples with predictor keep the high byte; MinIsWhite inverts', async () => {
    // 2x1 grey, 16-bit BE, predictor 2: values 0x1234, 0x5678 stored as diffs 0x1234, 0x4444
    const bytes = new Uint8Array([0x12, 0x34, 0x44, 0x44]);
    const base: EncodedTile = {
      level: 0, col: 0, row: 0, bytes, missing: false, compression: 1, jpegTables: undefined, photometric: 1,
      samplesPerPixel: 1, bitsPerSample: 16, predictor: 2, planarConfig: 1, ycbcrSubsampling: [1, 1],
      width: 2, height: 1, validWidth: 2, validHeight: 1,
    };
    const g = await decodeLosslessTile(k, base, false);
    expect(Array.from(g.data)).toEqual([0x12, 0x12, 0x12, 255, 0x56, 0x56, 0x56, 255]);
    const w = await decodeLosslessTile(k, { ...base, bytes: bytes.slice(), photometric: 0 }, false);
    expect(Array.from(w.data)).toEqual([0xed, 0xed, 0xed, 255, 0xa9, 0xa9, 0xa9, 255]);
  });
});
