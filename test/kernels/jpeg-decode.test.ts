// The AssemblyScript baseline JPEG decoder (assembly/jpeg/, src/codecs/jpeg.ts)
// against libjpeg-turbo (sharp, and the committed cjpeg files checked against
// djpeg when they were made): real abbreviated WSI tiles with their JPEGTables
// (test/fixtures/jpeg/README.md), cjpeg streams with restart intervals, odd
// sampling factors and multiple scans, and sharp-made streams of odd sizes.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { kernels } from '../../src/codecs/kernels-node.js';
import type { Kernels } from '../../src/codecs/kernels.js';
import { decodeJpeg, jpegInfo, type JpegDecodeResult } from '../../src/codecs/jpeg.js';
import { ImageboxError } from '../../src/errors.js';
import { colourError } from '../helpers/pixels.js';

const DIR = fileURLToPath(new URL('../fixtures/jpeg/', import.meta.url));
const file = (name: string): Uint8Array => new Uint8Array(readFileSync(DIR + name));

// Every comparison with libjpeg-turbo (sharp's decode, djpeg's scaled PNGs) is
// bit-exact: the decoder implements libjpeg-turbo's islow IDCT, its scaled
// IDCTs and fancy upsampling exactly, and it is exact on every fixture stream.
// Any difference at all is a regression.
const MIN_PSNR = Infinity;
const MAX_DIFF = 0;

/** Aperio RGB tiles: libjpeg needs an Adobe APP14 marker (transform 0) to skip the colour conversion. */
const ADOBE_RGB = new Uint8Array([0xff, 0xee, 0, 14, 0x41, 0x64, 0x6f, 0x62, 0x65, 0, 0x64, 0, 0, 0, 0, 0]);

function oracleStream(tables: Uint8Array | undefined, tile: Uint8Array, rgb: boolean): Buffer {
  if (!tables) return Buffer.from(tile);
  // SOI [APP14] + tables without SOI/EOI + tile without SOI
  return Buffer.concat([Buffer.from([0xff, 0xd8]), rgb ? ADOBE_RGB : new Uint8Array(0), tables.subarray(2, tables.length - 2), tile.subarray(2)]);
}

async function oracle(buf: Buffer): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(buf).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

function compare(got: JpegDecodeResult, ref: { data: Uint8Array; width: number; height: number; channels: number }): { psnr: number; maxDiff: number } {
  expect(got.width).toBe(ref.width);
  expect(got.height).toBe(ref.height);
  expect(got.data.length).toBe(ref.width * ref.height * 4);
  const n = ref.width * ref.height;
  let alphaOk = true;
  for (let i = 0; i < n; i++) if (got.data[i * 4 + 3] !== 255) alphaOk = false;
  expect(alphaOk).toBe(true);
  return colourError(got.data, 4, ref.data, ref.channels, n);
}

function psnrOf(a: Uint8Array, b: Uint8Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    se += d * d;
  }
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255) / (se / a.length));
}

/** Box-average an RGBA image by `s` (edge boxes average what they cover), RGB only compared. */
function boxDown(src: Uint8Array, w: number, h: number, s: number): Uint8Array {
  const ow = Math.ceil(w / s);
  const oh = Math.ceil(h / s);
  const out = new Uint8Array(ow * oh * 4);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      for (let c = 0; c < 4; c++) {
        let sum = 0;
        let n = 0;
        for (let yy = y * s; yy < Math.min(h, y * s + s); yy++) {
          for (let xx = x * s; xx < Math.min(w, x * s + s); xx++) {
            sum += src[(yy * w + xx) * 4 + c]!;
            n++;
          }
        }
        out[(y * ow + x) * 4 + c] = Math.round(sum / n);
      }
    }
  }
  return out;
}

interface TileCase {
  name: string;
  tables: Uint8Array;
  tile: Uint8Array;
  rgb: boolean;
}

const tileCases: TileCase[] = readdirSync(DIR)
  .filter((f) => f.includes('.tile-'))
  .sort()
  .map((f) => {
    const prefix = f.split('.tile-')[0]!;
    return {
      name: f,
      tables: file(`${prefix}.tables.jpg`),
      tile: file(f),
      // Aperio "JPEG/RGB": Photometric RGB, no colour transform
      rgb: prefix.startsWith('aperio-jpeg') || prefix.startsWith('small-svs'),
    };
  });

// cjpeg-chroma-sweep-444/420.jpg carry every Cb and Cr value (0-255), each
// where its R / B result is not clamped: they pin the colour conversion's
// rounding for all chroma values (upsample-color.ts computes two of its terms
// with pmulhrsw constants that are exact only for the range).
const cjpegFiles = readdirSync(DIR)
  .filter((f) => f.startsWith('cjpeg-') && !f.includes('progressive') && !f.includes('arithmetic'))
  .sort();

let k: Kernels;
beforeAll(async () => {
  k = await kernels();
});

describe('real WSI tiles (abbreviated streams + JPEGTables) vs libjpeg-turbo', () => {
  it('has the fixture tiles', () => {
    expect(tileCases.length).toBeGreaterThanOrEqual(20);
  });

  for (const t of tileCases) {
    it(`${t.name}: bit-exact, same size`, async () => {
      const ref = await oracle(oracleStream(t.tables, t.tile, t.rgb));
      const got = decodeJpeg(k, t.tile, { tables: t.tables, colorTransform: t.rgb ? 'none' : 'ycbcr' });
      expect(got.warning).toBe(false);
      const { psnr, maxDiff } = compare(got, ref);
      expect(psnr).toBeGreaterThanOrEqual(MIN_PSNR);
      expect(maxDiff).toBeLessThanOrEqual(MAX_DIFF);
    });
  }

  it('the scalar reference IDCTs (8x8, 4x4, 2x2) and the SIMD ones give identical pixels', () => {
    for (const t of tileCases) {
      for (const scale of [1, 2, 4] as const) {
        const opts = { tables: t.tables, colorTransform: (t.rgb ? 'none' : 'ycbcr') as 'none' | 'ycbcr', scale };
        const simd = decodeJpeg(k, t.tile, opts);
        (k.exports.jpeg_set_simd as (on: number) => void)(0);
        try {
          const scalar = decodeJpeg(k, t.tile, opts);
          expect(Buffer.compare(Buffer.from(scalar.data), Buffer.from(simd.data))).toBe(0);
        } finally {
          (k.exports.jpeg_set_simd as (on: number) => void)(1);
        }
      }
    }
  });

  it("Aperio RGB tiles decoded as YCbCr ('auto' guesses YCbCr: ids 0,1,2, no marker) differ: the caller must say 'none'", () => {
    const t = tileCases.find((c) => c.name.startsWith('aperio-jpeg.tile-c23'))!;
    const none = decodeJpeg(k, t.tile, { tables: t.tables, colorTransform: 'none' });
    const auto = decodeJpeg(k, t.tile, { tables: t.tables });
    expect(psnrOf(none.data, auto.data)).toBeLessThan(30);
  });

  it('missing JPEGTables -> E_CORRUPT_TILE naming the missing table', () => {
    const t = tileCases[0]!;
    try {
      decodeJpeg(k, t.tile);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ImageboxError);
      expect((e as ImageboxError).code).toBe('E_CORRUPT_TILE');
      expect((e as ImageboxError).message).toMatch(/table/);
    }
  });

  it('kernel RGB output (channels 3) is the RGBA output without alpha', () => {
    type X = { jpeg_read_header(d: number, dl: number, t: number, tl: number): number; jpeg_decode(o: number, s: number, c: number, ch: number): number };
    for (const t of [tileCases.find((c) => c.name.startsWith('generic.tile-c9'))!, tileCases.find((c) => c.name.startsWith('aperio-jpeg.tile-c23'))!]) {
      const rgba = decodeJpeg(k, t.tile, { tables: t.tables, colorTransform: t.rgb ? 'none' : 'ycbcr' });
      const x = k.exports as unknown as X;
      const rgb = k.run(() => {
        k.exports.reset();
        const tp = k.put(t.tables);
        const dp = k.put(t.tile);
        expect(x.jpeg_read_header(dp, t.tile.length, tp, t.tables.length)).toBe(0);
        const op = k.alloc(256 * 256 * 3);
        expect(x.jpeg_decode(op, 1, t.rgb ? 1 : 2, 3)).toBe(0);
        return k.u8().slice(op, op + 256 * 256 * 3);
      });
      const stripped = new Uint8Array(256 * 256 * 3);
      for (let i = 0; i < 256 * 256; i++) stripped.set(rgba.data.subarray(i * 4, i * 4 + 3), i * 3);
      expect(Buffer.compare(Buffer.from(rgb), Buffer.from(stripped))).toBe(0);
    }
  });

  it('writes into a caller buffer (out) and reuses kernel memory across tiles', () => {
    const t = tileCases.find((c) => c.name.startsWith('generic.tile-c9'))!;
    const out = new Uint8Array(256 * 256 * 4 + 100);
    const before = k.exports.memory.buffer.byteLength;
    for (let i = 0; i < 20; i++) {
      const r = decodeJpeg(k, t.tile, { tables: t.tables, out });
      expect(r.data.buffer).toBe(out.buffer);
    }
    expect(k.exports.memory.buffer.byteLength).toBe(before);
  });
});

describe('cjpeg streams: restart intervals, sampling factors, scans (libjpeg-turbo 2.1.5 made them)', () => {
  for (const f of cjpegFiles) {
    it(`${f}: bit-exact vs sharp`, async () => {
      const buf = file(f);
      const got = decodeJpeg(k, buf);
      expect(got.warning).toBe(false);
      const { psnr, maxDiff } = compare(got, await oracle(Buffer.from(buf)));
      expect(psnr).toBeGreaterThanOrEqual(MIN_PSNR);
      expect(maxDiff).toBeLessThanOrEqual(MAX_DIFF);
    });
  }

  it("'auto' follows libjpeg: Adobe transform 0 (cjpeg -rgb) -> no conversion", async () => {
    const buf = file('cjpeg-rgb.jpg');
    const info = jpegInfo(buf);
    expect(info.adobeTransform).toBe(0);
    const auto = decodeJpeg(k, buf);
    const none = decodeJpeg(k, buf, { colorTransform: 'none' });
    const ycc = decodeJpeg(k, buf, { colorTransform: 'ycbcr' });
    expect(Buffer.compare(Buffer.from(auto.data), Buffer.from(none.data))).toBe(0);
    expect(psnrOf(auto.data, ycc.data)).toBeLessThan(30);
  });

  it('a damaged restart marker is resynchronised: warning, only that interval differs', () => {
    const buf = file('cjpeg-420-rst1row.jpg');
    const good = decodeJpeg(k, buf);
    // find the 3rd RST marker (FFD2) and make it FFD6 (far from the expected one: libjpeg action 1, discard and go on)
    const bad = buf.slice();
    let seen = 0;
    let at = -1;
    for (let i = 0; i + 1 < bad.length; i++) {
      if (bad[i] === 0xff && bad[i + 1]! >= 0xd0 && bad[i + 1]! <= 0xd7) {
        if (++seen === 3) {
          at = i;
          break;
        }
      }
    }
    expect(at).toBeGreaterThan(0);
    bad[at + 1] = 0xd6;
    const got = decodeJpeg(k, bad);
    expect(got.warning).toBe(true);
    expect(psnrOf(got.data, good.data)).toBeGreaterThan(30);
    {
      // the intervals before the damaged marker (3 MCU rows = 48 image rows, less the one fancy upsampling shares) are exact
      const w0 = got.width * 4;
      expect(Buffer.from(got.data.subarray(0, 47 * w0)).equals(Buffer.from(good.data.subarray(0, 47 * w0)))).toBe(true);
    }
    // zero the entropy bytes of the 2nd restart interval (MCU row 1 = image rows 16-31):
    // decoded with a warning, that interval differs, every other row is exact but the
    // two next to it (fancy upsampling takes chroma from the neighbouring rows, as libjpeg)
    const rst: number[] = [];
    for (let i = 0; i + 1 < buf.length; i++) if (buf[i] === 0xff && buf[i + 1]! >= 0xd0 && buf[i + 1]! <= 0xd7) rst.push(i);
    const bad2 = buf.slice();
    for (let i = rst[0]! + 2; i < rst[1]!; i++) bad2[i] = 0;
    const r = decodeJpeg(k, bad2);
    expect(r.warning).toBe(true);
    const w = r.width * 4;
    const row = (a: Uint8Array, y: number) => Buffer.from(a.subarray(y * w, (y + 1) * w));
    const differing: number[] = [];
    for (let y = 0; y < r.height; y++) if (!row(r.data, y).equals(row(good.data, y))) differing.push(y);
    expect(differing.length).toBeGreaterThan(8);
    expect(Math.min(...differing)).toBeGreaterThanOrEqual(15);
    expect(Math.max(...differing)).toBeLessThanOrEqual(32);
  });

  it('progressive and arithmetic streams -> E_UNSUPPORTED_CODEC; jpegInfo still reads them', () => {
    for (const f of ['cjpeg-progressive.jpg', 'cjpeg-arithmetic.jpg']) {
      const buf = file(f);
      expect(() => decodeJpeg(k, buf)).toThrowError(expect.objectContaining({ code: 'E_UNSUPPORTED_CODEC' }) as Error);
    }
    const info = jpegInfo(file('cjpeg-progressive.jpg'));
    expect(info).toMatchObject({ width: 101, height: 75, components: 3, progressive: true, supported: false });
  });

  it('SOF1 (extended sequential, Huffman, 8-bit) decodes like SOF0', () => {
    const buf = file('cjpeg-444-rst3.jpg');
    const sof = buf.findIndex((b, i) => b === 0xff && buf[i + 1] === 0xc0);
    const sof1 = buf.slice();
    sof1[sof + 1] = 0xc1;
    expect(Buffer.compare(Buffer.from(decodeJpeg(k, sof1).data), Buffer.from(decodeJpeg(k, buf).data))).toBe(0);
  });

  it('tables cached between tiles are dropped when a stream brings its own', () => {
    // same JPEGTables bytes twice, a self-contained stream (own DQT/DHT) in between, then a different file's tables
    const a = tileCases.find((c) => c.name.startsWith('aperio-ycbcr.tile-c8'))!;
    const g = tileCases.find((c) => c.name.startsWith('generic.tile-c9'))!;
    const first = decodeJpeg(k, a.tile, { tables: a.tables });
    decodeJpeg(k, file('cjpeg-422.jpg'));
    const again = decodeJpeg(k, a.tile, { tables: a.tables });
    expect(Buffer.compare(Buffer.from(again.data), Buffer.from(first.data))).toBe(0);
    const g1 = decodeJpeg(k, g.tile, { tables: g.tables });
    const g2 = decodeJpeg(k, g.tile, { tables: g.tables.slice() });
    expect(Buffer.compare(Buffer.from(g1.data), Buffer.from(g2.data))).toBe(0);
  });

  it('12-bit, lossless and hierarchical frames -> E_UNSUPPORTED_CODEC', () => {
    const buf = file('cjpeg-444-rst3.jpg');
    const sof = buf.findIndex((b, i) => b === 0xff && buf[i + 1] === 0xc0);
    const p12 = buf.slice();
    p12[sof + 4] = 12;
    const lossless = buf.slice();
    lossless[sof + 1] = 0xc3;
    const hier = buf.slice();
    hier[sof + 1] = 0xc5;
    for (const b of [p12, lossless, hier]) {
      expect(() => decodeJpeg(k, b)).toThrowError(expect.objectContaining({ code: 'E_UNSUPPORTED_CODEC' }) as Error);
    }
  });
});

describe('sharp-made streams: sizes that are not MCU multiples', () => {
  const sizes: [number, number][] = [[101, 75], [37, 23], [16, 16], [1, 1], [2, 9], [17, 3], [9, 2]];
  for (const [w, h] of sizes) {
    it(`${w}x${h} 4:2:0, 4:2:2, 4:4:4, grey: bit-exact`, async () => {
      const src = await sharp(DIR + 'cjpeg-444-rst3.jpg').extract({ left: 3, top: 5, width: Math.min(w, 98), height: Math.min(h, 70) }).resize(w, h, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
      const img = sharp(src.data, { raw: src.info });
      const streams = [
        await img.clone().jpeg({ quality: 80, chromaSubsampling: '4:2:0' }).toBuffer(),
        await img.clone().jpeg({ quality: 90, chromaSubsampling: '4:4:4' }).toBuffer(),
        await img.clone().greyscale().jpeg({ quality: 80 }).toBuffer(),
      ];
      for (const s of streams) {
        const got = decodeJpeg(k, s);
        const { psnr, maxDiff } = compare(got, await oracle(s));
        expect(psnr).toBeGreaterThanOrEqual(MIN_PSNR);
        expect(maxDiff).toBeLessThanOrEqual(MAX_DIFF);
      }
    });
  }

  it('jpegInfo reads size, components, sampling', async () => {
    const s = await sharp({ create: { width: 33, height: 17, channels: 3, background: { r: 200, g: 30, b: 90 } } }).jpeg({ chromaSubsampling: '4:2:0' }).toBuffer();
    expect(jpegInfo(s)).toMatchObject({ width: 33, height: 17, components: 3, sampling: [[2, 2], [1, 1], [1, 1]], progressive: false, supported: true });
    const t = tileCases.find((c) => c.name.startsWith('aperio-jpeg.tile'))!;
    expect(jpegInfo(t.tile, t.tables)).toMatchObject({ width: 256, height: 256, components: 3, sampling: [[1, 1], [1, 1], [1, 1]], componentIds: [0, 1, 2] });
  });
});

describe('scaled decode 1/2, 1/4, 1/8 (from the DCT)', () => {
  const picks = () => tileCases.filter((t) => /c23-r11|c5-r1|c9-r7|nonmultiple-l3|small-svs/.test(t.name));
  for (const scale of [2, 4, 8] as const) {
    it(`1/${scale}: ceil(w/${scale}) x ceil(h/${scale}); PSNR >= 30 dB vs the full decode box-averaged`, () => {
      for (const t of picks()) {
        const opts = { tables: t.tables, colorTransform: (t.rgb ? 'none' : 'ycbcr') as 'none' | 'ycbcr' };
        const full = decodeJpeg(k, t.tile, opts);
        const got = decodeJpeg(k, t.tile, { ...opts, scale });
        expect(got.width).toBe(Math.ceil(full.width / scale));
        expect(got.height).toBe(Math.ceil(full.height / scale));
        const ref = boxDown(full.data, full.width, full.height, scale);
        expect(psnrOf(got.data, ref)).toBeGreaterThanOrEqual(30);
      }
    });
  }

  it('odd sizes and sampling factors scale too (cjpeg files, 101x75 and the 256x256 chroma sweeps)', () => {
    for (const f of cjpegFiles) {
      const buf = file(f);
      const full = decodeJpeg(k, buf);
      if (!f.includes('chroma-sweep')) expect([full.width, full.height]).toEqual([101, 75]);
      for (const scale of [2, 4, 8] as const) {
        const got = decodeJpeg(k, buf, { scale });
        expect([got.width, got.height]).toEqual([Math.ceil(full.width / scale), Math.ceil(full.height / scale)]);
        expect(psnrOf(got.data, boxDown(full.data, full.width, full.height, scale))).toBeGreaterThanOrEqual(28);
      }
    }
  });

  it(`matches libjpeg-turbo's own scaled IDCT (djpeg -scale 1/N, committed PNGs): bit-exact`, async () => {
    const refs = readdirSync(DIR + 'djpeg-scaled').sort();
    expect(refs.length).toBe(12);
    for (const png of refs) {
      const m = /^(.*)\.scale(\d)\.png$/.exec(png)!;
      const name = `${m[1]}.jpg`;
      const scale = Number(m[2]) as 2 | 4 | 8;
      const t = tileCases.find((c) => c.name === name);
      const got = t
        ? decodeJpeg(k, t.tile, { tables: t.tables, colorTransform: t.rgb ? 'none' : 'ycbcr', scale })
        : decodeJpeg(k, file(name), { scale });
      const { data, info } = await sharp(DIR + 'djpeg-scaled/' + png).raw().toBuffer({ resolveWithObject: true });
      const { psnr, maxDiff } = compare(got, { data, width: info.width, height: info.height, channels: info.channels });
      expect(psnr).toBeGreaterThanOrEqual(MIN_PSNR);
      expect(maxDiff).toBeLessThanOrEqual(MAX_DIFF);
    }
  });
});
