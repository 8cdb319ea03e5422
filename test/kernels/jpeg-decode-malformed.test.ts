// Malformed input to the JPEG kernel: every outcome is either pixels of the
// declared size or an ImageboxError with a decoder code; never a hang, a trap
// that needs the instance renewed, or a crash. Ends with a seeded mutation fuzz
// loop over real tiles and a check that the instance still decodes correctly.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { kernels } from '../../src/codecs/kernels-node.js';
import type { Kernels } from '../../src/codecs/kernels.js';
import { decodeJpeg, type JpegDecodeOptions, type JpegDecodeResult } from '../../src/codecs/jpeg.js';
import { ImageboxError } from '../../src/errors.js';

const DIR = fileURLToPath(new URL('../fixtures/jpeg/', import.meta.url));
const file = (name: string): Uint8Array => new Uint8Array(readFileSync(DIR + name));

let k: Kernels;
beforeAll(async () => {
  k = await kernels();
});

function errorCode(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (!(e instanceof ImageboxError)) throw e;
    return e.code;
  }
}

/** Offset of the first byte after marker `m`'s segment header start (the 0xFF). */
function markerAt(b: Uint8Array, m: number, from = 0): number {
  for (let i = from; i + 1 < b.length; i++) if (b[i] === 0xff && b[i + 1] === m) return i;
  return -1;
}

function entropyStart(b: Uint8Array): number {
  const sos = markerAt(b, 0xda);
  return sos + 2 + ((b[sos + 2]! << 8) | b[sos + 3]!);
}

const cjpeg420 = () => file('cjpeg-420-rst1row.jpg');
const cjpeg444 = () => file('cjpeg-444-rst3.jpg');
const plain420 = () => file('cjpeg-422.jpg');

describe('malformed JPEG streams', () => {
  it('empty, garbage, no SOI -> E_CORRUPT_TILE', () => {
    expect(errorCode(() => decodeJpeg(k, new Uint8Array(0)))).toBe('E_CORRUPT_TILE');
    expect(errorCode(() => decodeJpeg(k, new Uint8Array([1, 2, 3, 4, 5])))).toBe('E_CORRUPT_TILE');
    expect(errorCode(() => decodeJpeg(k, plain420().subarray(2)))).toBe('E_CORRUPT_TILE');
    expect(errorCode(() => decodeJpeg(k, new Uint8Array([0xff, 0xd8, 0xff, 0xd9])))).toBe('E_CORRUPT_TILE');
  });

  it('truncated anywhere: E_CORRUPT_TILE in the header, decoded with warning=true inside the entropy data', () => {
    for (const buf of [plain420(), cjpeg420(), cjpeg444()]) {
      const es = entropyStart(buf);
      const cuts = new Set<number>();
      for (let i = 0; i < es + 2; i++) cuts.add(i);
      for (let i = es + 2; i < buf.length - 2; i += 7) cuts.add(i);
      for (const cut of cuts) {
        const part = buf.subarray(0, cut);
        let r: JpegDecodeResult | undefined;
        const code = errorCode(() => (r = decodeJpeg(k, part)));
        if (cut < es) {
          expect(code, `cut at ${cut}`).toBe('E_CORRUPT_TILE');
        } else {
          expect(code, `cut at ${cut}`).toBeUndefined();
          expect(r!.width * r!.height).toBe(101 * 75);
          if (cut < buf.length - 8) expect(r!.warning, `cut at ${cut}`).toBe(true);
        }
      }
    }
  });

  it('an abbreviated tile cut short decodes with a warning; the rest is mid grey', () => {
    const tables = file('generic.tables.jpg');
    const tile = file('generic.tile-c9-r7.jpg');
    const r = decodeJpeg(k, tile.subarray(0, tile.length >> 1), { tables });
    expect(r.warning).toBe(true);
    expect([r.width, r.height]).toEqual([256, 256]);
    const last = r.data.subarray(r.data.length - 4);
    expect(Array.from(last)).toEqual([128, 128, 128, 255]);
  });

  it('bad Huffman code (all-ones bits) -> E_CORRUPT_TILE', () => {
    const buf = plain420();
    const es = entropyStart(buf);
    const bad = buf.slice();
    for (let i = 0; i < 8; i += 2) {
      bad[es + i] = 0xff;
      bad[es + i + 1] = 0x00; // stuffed 0xFF: 16 one-bits, longer than any code
    }
    const e = (() => {
      try {
        decodeJpeg(k, bad);
      } catch (x) {
        return x as ImageboxError;
      }
      return undefined;
    })();
    expect(e?.code).toBe('E_CORRUPT_TILE');
    expect(e?.message).toMatch(/Huffman code/);
  });

  it('wrong marker lengths -> E_CORRUPT_TILE', () => {
    const buf = plain420();
    for (const m of [0xdb, 0xc4, 0xc0, 0xda, 0xe0]) {
      const at = markerAt(buf, m);
      expect(at).toBeGreaterThan(0);
      const len = (buf[at + 2]! << 8) | buf[at + 3]!;
      for (const bad of [0, 1, len - 1, len + 1, 0xffff]) {
        const b = buf.slice();
        b[at + 2] = bad >> 8;
        b[at + 3] = bad & 255;
        expect(errorCode(() => decodeJpeg(k, b)), `marker ${m.toString(16)} length ${bad}`).toMatch(/E_CORRUPT_TILE|E_UNSUPPORTED_CODEC/);
      }
    }
  });

  it('SOF 65535 x 65535, zero width, 2 and 4 components, bad sampling factors', () => {
    const buf = plain420();
    const sof = markerAt(buf, 0xc0);
    const huge = buf.slice();
    huge.set([0xff, 0xff, 0xff, 0xff], sof + 5);
    expect(errorCode(() => decodeJpeg(k, huge))).toBe('E_CORRUPT_TILE');
    const zeroW = buf.slice();
    zeroW.set([0, 0], sof + 7);
    expect(errorCode(() => decodeJpeg(k, zeroW))).toBe('E_CORRUPT_TILE');
    const badSamp = buf.slice();
    badSamp[sof + 11] = 0x50; // H=5
    expect(errorCode(() => decodeJpeg(k, badSamp))).toBe('E_CORRUPT_TILE');
    const zeroH = buf.slice();
    zeroH.set([0, 0], sof + 5); // height from DNL: not supported
    expect(errorCode(() => decodeJpeg(k, zeroH))).toBe('E_UNSUPPORTED_CODEC');
  });

  it('a large frame over a tiny stream: mid-grey with a warning, or E_TOO_LARGE; never more than the kernel memory cap', () => {
    const buf = plain420();
    const sof = markerAt(buf, 0xc0);
    const big = buf.slice();
    big.set([4000 >> 8, 4000 & 255, 5000 >> 8, 5000 & 255], sof + 5); // 5000 x 4000 = 20 Mpx
    let r: JpegDecodeResult | undefined;
    const code = errorCode(() => (r = decodeJpeg(k, big)));
    if (code === undefined) {
      expect([r!.width, r!.height, r!.warning]).toEqual([5000, 4000, true]);
      expect(Array.from(r!.data.subarray(r!.data.length - 4))).toEqual([128, 128, 128, 255]);
    } else {
      expect(code).toBe('E_TOO_LARGE');
    }
    expect(k.exports.memory.buffer.byteLength).toBeLessThanOrEqual(1024 * 1024 * 1024);
    // just over 64 Mpx is refused before any allocation
    const over = buf.slice();
    over.set([1025 >> 8, 1025 & 255, 65500 >> 8, 65500 & 255], sof + 5);
    expect(errorCode(() => decodeJpeg(k, over))).toBe('E_CORRUPT_TILE');
  });

  it('missing tables, undefined table ids, component ids that do not match the frame', () => {
    const tables = file('aperio-ycbcr.tables.jpg');
    const tile = file('aperio-ycbcr.tile-c5-r1.jpg');
    expect(errorCode(() => decodeJpeg(k, tile))).toBe('E_CORRUPT_TILE');
    expect(errorCode(() => decodeJpeg(k, tile, { tables: tables.subarray(0, 100) }))).toBe('E_CORRUPT_TILE');
    expect(errorCode(() => decodeJpeg(k, tile, { tables: tile }))).toBe('E_CORRUPT_TILE'); // not a tables-only stream
    const sos = markerAt(tile, 0xda);
    const badId = tile.slice();
    badId[sos + 5] = 0x7f; // first scan component id
    expect(errorCode(() => decodeJpeg(k, badId, { tables }))).toBe('E_CORRUPT_TILE');
    const dupId = tile.slice();
    dupId[sos + 7] = dupId[sos + 5]!;
    expect(errorCode(() => decodeJpeg(k, dupId, { tables }))).toBe('E_CORRUPT_TILE');
    const badTable = tile.slice();
    badTable[sos + 6] = 0x33; // DC/AC table 3: never defined
    expect(errorCode(() => decodeJpeg(k, badTable, { tables }))).toBe('E_CORRUPT_TILE');
    const sof = markerAt(tile, 0xc0);
    const badQ = tile.slice();
    badQ[sof + 12] = 3; // quant table 3: never defined
    expect(errorCode(() => decodeJpeg(k, badQ, { tables }))).toBe('E_CORRUPT_TILE');
  });

  it('Huffman tables whose codes overflow -> E_CORRUPT_TILE', () => {
    const buf = plain420();
    const dht = markerAt(buf, 0xc4);
    const b = buf.slice();
    b[dht + 5] = 3; // three codes of length 1
    expect(errorCode(() => decodeJpeg(k, b))).toBe('E_CORRUPT_TILE');
  });

  it('two frames, SOS before SOF, RST outside entropy data -> E_CORRUPT_TILE', () => {
    const buf = plain420();
    const sof = markerAt(buf, 0xc0);
    const sofLen = (buf[sof + 2]! << 8) | buf[sof + 3]!;
    const sofSeg = buf.subarray(sof, sof + 2 + sofLen);
    const two = new Uint8Array([...buf.subarray(0, sof), ...sofSeg, ...buf.subarray(sof)]);
    expect(errorCode(() => decodeJpeg(k, two))).toBe('E_CORRUPT_TILE');
    const sos = markerAt(buf, 0xda);
    const noSof = new Uint8Array([...buf.subarray(0, sof), ...buf.subarray(sof + 2 + sofLen)]);
    expect(markerAt(noSof, 0xda)).toBe(sos - 2 - sofLen);
    expect(errorCode(() => decodeJpeg(k, noSof))).toBe('E_CORRUPT_TILE');
    const rst = new Uint8Array([0xff, 0xd8, 0xff, 0xd0, ...buf.subarray(2)]);
    expect(errorCode(() => decodeJpeg(k, rst))).toBe('E_CORRUPT_TILE');
  });
});

/** mulberry32: a small seeded PRNG. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('seeded mutation fuzz', () => {
  // JPEG_FUZZ_ITER / JPEG_FUZZ_SEED run a longer or different loop by hand
  const iterations = Number(process.env['JPEG_FUZZ_ITER'] ?? 2000);
  const seed = Number(process.env['JPEG_FUZZ_SEED'] ?? 0x1badb002);
  it(`${iterations} mutated real tiles: pixels of the declared size or E_CORRUPT_TILE / E_UNSUPPORTED_CODEC; instance healthy after`, () => {
    const sources: { data: Uint8Array; opts: JpegDecodeOptions }[] = [
      { data: file('aperio-jpeg.tile-c15-r14.jpg'), opts: { tables: file('aperio-jpeg.tables.jpg'), colorTransform: 'none' } },
      { data: file('aperio-ycbcr.tile-c8-r4.jpg'), opts: { tables: file('aperio-ycbcr.tables.jpg') } },
      { data: file('generic.tile-c1-r7.jpg'), opts: { tables: file('generic.tables.jpg') } },
      { data: cjpeg420(), opts: {} },
      { data: file('cjpeg-odd-2x2-1x2-2x1.jpg'), opts: {} },
      { data: file('cjpeg-grey-rst2.jpg'), opts: { scale: 2 } },
      { data: cjpeg444(), opts: { scale: 8 } },
      { data: file('aperio-jpeg.tile-c23-r11.jpg'), opts: { tables: file('aperio-jpeg.tables.jpg'), colorTransform: 'none', scale: 8 } },
      { data: file('generic.tile-c9-r7.jpg'), opts: { tables: file('generic.tables.jpg'), scale: 4 } },
    ];
    const good = sources.map((s) => decodeJpeg(k, s.data, s.opts));
    const renewalsBefore = k.renewals;
    const rand = rng(seed);
    const counts: Record<string, number> = {};
    for (let iter = 0; iter < iterations; iter++) {
      const si = Math.floor(rand() * sources.length);
      const src = sources[si]!;
      let data = src.data.slice();
      let tables = src.opts.tables?.slice();
      const kind = Math.floor(rand() * 6);
      const flips = 1 + Math.floor(rand() * 8);
      const target = kind === 5 && tables ? tables : data;
      for (let f = 0; f < flips; f++) {
        // bias towards the headers, where the structure is
        const span = rand() < 0.6 ? Math.min(target.length, 700) : target.length;
        const at = Math.floor(rand() * span);
        if (kind === 0 || kind === 5) target[at] = Math.floor(rand() * 256);
        else if (kind === 1) target[at] = target[at]! ^ (1 << Math.floor(rand() * 8));
        else if (kind === 2) target[at] = 0xff;
        else if (kind === 3) target[at] = [0x00, 0xff, 0xd9, 0xda, 0xc4, 0xdb, 0xd0][Math.floor(rand() * 7)]!;
      }
      if (kind === 4) data = data.subarray(0, Math.floor(rand() * data.length));
      const opts = { ...src.opts, tables };
      let r: JpegDecodeResult | undefined;
      let code: string | undefined;
      try {
        r = decodeJpeg(k, data, opts);
      } catch (e) {
        expect(e).toBeInstanceOf(ImageboxError);
        code = (e as ImageboxError).code;
      }
      if (code !== undefined) {
        expect(['E_CORRUPT_TILE', 'E_UNSUPPORTED_CODEC']).toContain(code);
      } else {
        const scale = src.opts.scale ?? 1;
        // the frame may have been mutated: the output follows the declared size
        const dims = declaredSize(data);
        expect(r!.width).toBe(Math.ceil(dims[0] / scale));
        expect(r!.height).toBe(Math.ceil(dims[1] / scale));
        expect(r!.data.length).toBe(r!.width * r!.height * 4);
      }
      const key = code ?? (r!.warning ? 'warning' : 'ok');
      counts[key] = (counts[key] ?? 0) + 1;
    }
    // the loop met every outcome
    expect(counts['E_CORRUPT_TILE']).toBeGreaterThan(100);
    expect((counts['ok'] ?? 0) + (counts['warning'] ?? 0)).toBeGreaterThan(100);
    // no trap needed an instance renewal, and good tiles still decode exactly as before
    expect(k.renewals).toBe(renewalsBefore);
    sources.forEach((s, i) => {
      const again = decodeJpeg(k, s.data, s.opts);
      expect(Buffer.compare(Buffer.from(again.data), Buffer.from(good[i]!.data))).toBe(0);
    });
  });
});

/** Width and height from the first SOF0/SOF1 (the fuzz may have changed them). */
function declaredSize(b: Uint8Array): [number, number] {
  let p = 2;
  while (p + 4 < b.length) {
    while (p < b.length && b[p] === 0xff) p++;
    const m = b[p]!;
    p++;
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) continue;
    const len = (b[p]! << 8) | b[p + 1]!;
    if (m === 0xc0 || m === 0xc1) return [(b[p + 5]! << 8) | b[p + 6]!, (b[p + 3]! << 8) | b[p + 4]!];
    p += len;
  }
  throw new Error('no SOF');
}
