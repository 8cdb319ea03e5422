// JPEG 2000 (Aperio 33003 / 33005) through OpenJPEG's WASM build, against the
// OpenSlide 3.4.1 reference tiles in test/fixtures/j2k (see its README).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { kernels } from '../../src/codecs/kernels-node.js';
import type { Kernels } from '../../src/codecs/kernels.js';
import { jpeg2000Decoder } from '../../src/codecs/jpeg2000-node.js';
import type { Jpeg2000Decoder } from '../../src/codecs/jpeg2000.js';
import { resizeArea, ycbcrInterleavedToRgba } from '../../src/codecs/image-ops.js';
import { ImageboxError } from '../../src/errors.js';
import type { RGBA } from '../../src/contracts/pixels.js';

const DIR = fileURLToPath(new URL('../fixtures/j2k/', import.meta.url));
const load = (name: string) => ({
  bytes: new Uint8Array(readFileSync(DIR + name + '.bin')),
  meta: JSON.parse(readFileSync(DIR + name + '.json', 'utf8')) as { compression: number; width: number; height: number; validWidth: number; validHeight: number },
});

let k: Kernels;
let j2k: Jpeg2000Decoder;
beforeAll(async () => {
  k = await kernels();
  j2k = await jpeg2000Decoder();
});

/** PSNR and max abs diff over RGB of the valid w x h part; the reference must be opaque there. */
async function compare(img: RGBA, png: string, w: number, h: number): Promise<{ psnr: number; max: number }> {
  const { data, info } = await sharp(DIR + png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  let se = 0, max = 0, transparent = 0;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const r = (y * info.width + x) * 4, o = (y * img.width + x) * 4;
    if (data[r + 3] !== 255) transparent++;
    for (let c = 0; c < 3; c++) {
      const d = img.data[o + c]! - data[r + c]!;
      se += d * d;
      max = Math.max(max, Math.abs(d));
    }
  }
  expect(transparent).toBe(0);
  return { psnr: se === 0 ? Infinity : 10 * Math.log10((255 * 255) / (se / (w * h * 3))), max };
}

// measured with this build: 33003 PSNR 51.4 / 51.7 dB, max abs diff 1 (OpenJPEG's
// sYCC conversion truncates where OpenSlide rounds); 33005 identical
const CASES: [string, number, number][] = [
  ['33003-L0-c3r2', 40, 1],
  ['33003-L0-c6r4', 40, 1],
  ['33003-L2-c0r0', 40, 1],
  ['33005-L0-c3r2', 40, 0],
  ['33005-L0-c6r5', 40, 0],
  ['33005-L2-c0r0', 40, 0],
];

describe('JPEG 2000 tiles vs OpenSlide', () => {
  for (const [name, minPsnr, maxDiff] of CASES) {
    it(`${name}: PSNR >= ${minPsnr} dB, max abs diff <= ${maxDiff}`, async () => {
      const { bytes, meta } = load(name);
      const img = await j2k.decode(k, bytes, { compression: meta.compression });
      expect([img.width, img.height]).toEqual([meta.width, meta.height]);
      const { psnr, max } = await compare(img, name + '.png', meta.validWidth, meta.validHeight);
      expect(psnr).toBeGreaterThanOrEqual(minPsnr);
      expect(max).toBeLessThanOrEqual(maxDiff);
      expect(img.data.every((v, i) => i % 4 !== 3 || v === 255)).toBe(true);
    });
  }
});

describe('JPEG 2000 33003 without OpenJPEG\'s own colour conversion', () => {
  it('a YCbCr codestream OpenJPEG leaves alone (full-width chroma, no MCT) goes through our JFIF kernel', async () => {
    // turn the MCT flag off in the COD segment of an RGB tile: OpenJPEG then hands back the
    // raw components (3 full-size, colour space unspecified); as 33003 they must be
    // converted by ycbcrInterleavedToRgba, as 33005 passed through
    const { bytes } = load('33005-L0-c6r5');
    const m = bytes.slice();
    let p = 2;
    while (!(m[p] === 0xff && m[p + 1] === 0x52)) p += 2 + ((m[p + 2]! << 8) | m[p + 3]!);
    expect(m[p + 8]).toBe(1);
    m[p + 8] = 0;
    const raw = await j2k.decode(k, m, { compression: 33005 });
    const ycc = await j2k.decode(k, m, { compression: 33003 });
    const n = raw.width * raw.height;
    const planes = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) planes.set(raw.data.subarray(i * 4, i * 4 + 3), i * 3);
    const want = ycbcrInterleavedToRgba(k, planes, raw.width, raw.height);
    expect(Buffer.from(ycc.data).equals(Buffer.from(want.data))).toBe(true);
    expect(Buffer.from(ycc.data).equals(Buffer.from(raw.data))).toBe(false);
  });
});

describe('JPEG 2000 reduced resolution', () => {
  for (const name of ['33003-L0-c6r4', '33005-L0-c6r5']) {
    it(`${name}: reduce 1 and 2 give 1/2 and 1/4 size, close to an area-averaged full decode`, async () => {
      const { bytes, meta } = load(name);
      const full = await j2k.decode(k, bytes, { compression: meta.compression });
      for (const reduce of [1, 2]) {
        const small = await j2k.decode(k, bytes, { compression: meta.compression, reduce });
        const w = Math.ceil(meta.width / 2 ** reduce), h = Math.ceil(meta.height / 2 ** reduce);
        expect([small.width, small.height]).toEqual([w, h]);
        const ref = resizeArea(k, full, w, h);
        let se = 0;
        for (let i = 0; i < w * h * 4; i++) if (i % 4 !== 3) se += (small.data[i]! - ref.data[i]!) ** 2;
        // the wavelet low band is sharper than a box filter: measured 30-31 dB at 1/2, 25 dB at 1/4
        // (a wrong or shifted image scores ~12-15 dB); the mean must agree closely
        expect(10 * Math.log10((255 * 255) / (se / (w * h * 3)))).toBeGreaterThan(reduce === 1 ? 28 : 23);
        let ds = 0;
        for (let i = 0; i < w * h * 4; i++) if (i % 4 !== 3) ds += small.data[i]! - ref.data[i]!;
        expect(Math.abs(ds / (w * h * 3))).toBeLessThan(1.5);
      }
    });
  }
});

describe('JPEG 2000 decodeTile (EncodedTile)', () => {
  it('crops an edge tile to its valid part, also when reduced; a missing tile is transparent', async () => {
    const { bytes, meta } = load('33003-L2-c0r0');
    const tile = {
      level: 2, col: 0, row: 0, bytes, missing: false, compression: 33003, jpegTables: undefined, photometric: 6,
      samplesPerPixel: 3, bitsPerSample: 8, predictor: 1, planarConfig: 1, ycbcrSubsampling: [2, 1] as [number, number],
      width: meta.width, height: meta.height, validWidth: meta.validWidth, validHeight: meta.validHeight,
    };
    const full = await j2k.decodeTile(k, tile);
    expect([full.width, full.height]).toEqual([187, 137]);
    const { psnr } = await compare(full, '33003-L2-c0r0.png', 187, 137);
    expect(psnr).toBeGreaterThan(40);
    const half = await j2k.decodeTile(k, tile, 1);
    expect([half.width, half.height]).toEqual([94, 69]);
    const none = await j2k.decodeTile(k, { ...tile, missing: true, bytes: new Uint8Array(0) });
    expect([none.width, none.height, none.data.every((v) => v === 0)]).toEqual([187, 137, true]);
  });
});

describe('JPEG 2000 errors', () => {
  it('non-J2K bytes and codestreams cut inside the main header are E_CORRUPT_TILE; damaged ones are E_CORRUPT_TILE or the full tile; the decoder keeps working', async () => {
    const { bytes, meta } = load('33005-L0-c6r5');
    await expect(j2k.decode(k, new Uint8Array([1, 2, 3, 4, 5]), { compression: 33005 })).rejects.toMatchObject({ code: 'E_CORRUPT_TILE' });
    // the main header ends at the first SOT marker (FF 90): a cut before it leaves no decodable image
    let sot = -1;
    for (let i = 2; i + 1 < bytes.length; i++) if (bytes[i] === 0xff && bytes[i + 1] === 0x90) { sot = i; break; }
    expect(sot).toBeGreaterThan(40);
    for (const cut of [2, 4, 20, 41, 60, sot - 1, sot]) {
      await expect(j2k.decode(k, bytes.slice(0, cut), { compression: 33005 }), `cut at ${cut}`).rejects.toMatchObject({ code: 'E_CORRUPT_TILE' });
    }
    const full = await j2k.decode(k, bytes, { compression: meta.compression });
    let seed = 99;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / 2 ** 24;
    let failed = 0;
    for (let i = 0; i < 30; i++) {
      const m = bytes.slice();
      for (let f = 0; f < 3; f++) m[2 + Math.floor(rnd() * (m.length - 2))] = Math.floor(rnd() * 256);
      try {
        const img = await j2k.decode(k, m, { compression: 33005 });
        // a damaged packet body still decodes: then to the full tile, never another size
        expect([img.width, img.height]).toEqual([full.width, full.height]);
      } catch (e) {
        expect(e).toMatchObject({ code: 'E_CORRUPT_TILE' });
        failed++;
      }
    }
    expect(failed).toBeGreaterThan(0); // the damage reached places that must fail
    const ok = await j2k.decode(k, bytes, { compression: meta.compression });
    expect(ok.width).toBe(240);
    expect(Buffer.from(ok.data).equals(Buffer.from(full.data))).toBe(true);
  });
  it('other compressions are E_UNSUPPORTED_CODEC', async () => {
    await expect(j2k.decode(k, new Uint8Array([0xff, 0x4f, 0xff, 0x51]), { compression: 7 })).rejects.toMatchObject({ code: 'E_UNSUPPORTED_CODEC' });
  });
});
