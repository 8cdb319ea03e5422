// The synthetic benchmark slide (src/node/synthetic-slide.ts, bench/make-slide.mjs):
// a small one written to a temp dir and read back with our own openSlide - the
// Aperio layout, the levels, MPP, every tile in range, and pixels that are the
// generator's (level 0) and its 4x area downsample (level 1).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RGBA } from '../../src/contracts/pixels.js';
import { isImageboxError } from '../../src/errors.js';
import { imageInfo } from '../../src/formats/tiff/ifd.js';
import { openSlide } from '../../src/node/open-slide.js';
import { syntheticTilePixels, writeSyntheticSlide, type SyntheticSlideResult } from '../../src/node/synthetic-slide.js';
import { reduce4 } from '../../src/node/synthetic-tissue.js';
import type { Slide } from '../../src/slide/slide.js';
import { compare } from '../helpers/pixels.js';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../bench/make-slide.mjs', import.meta.url));
const BUILT = fileURLToPath(new URL('../../dist/node/synthetic-slide.js', import.meta.url));

const W = 3000;
const H = 2000;
const SEED = 7;
const Q = 90;

let dir: string;
let file: string;
let bytes: Uint8Array;
let result: SyntheticSlideResult;
let slide: Slide;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imagebox-synthetic-'));
  file = join(dir, 'small.svs');
  result = await writeSyntheticSlide({ out: file, width: W, height: H, seed: SEED, quality: Q, workers: 0 });
  bytes = new Uint8Array(await readFile(file));
  slide = await openSlide(file);
});
afterAll(async () => {
  await slide?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The top-left w x h of an RGBA buffer of width sw. */
function crop(data: Uint8Array, sw: number, w: number, h: number): RGBA {
  const out = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) out.set(data.subarray(y * sw * 4, (y * sw + w) * 4), y * w * 4);
  return { width: w, height: h, data: out };
}

describe('a synthetic slide (3000 x 2000, Q90) read back with openSlide', () => {
  it('is an Aperio slide with levels at downsample 1, 4, 16, 64, its MPP, objective and associated images', () => {
    expect(slide.vendor).toBe('aperio');
    expect(slide.levels.map((l) => [l.width, l.height])).toEqual([
      [3000, 2000],
      [750, 500],
      [187, 125],
      [46, 31],
    ]);
    const ds = slide.levels.map((l) => l.downsample);
    expect(ds[0]).toBe(1);
    expect(ds[1]).toBe(4);
    expect(ds[2]).toBeCloseTo(16, 0);
    expect(Math.abs(ds[3]! - 64)).toBeLessThan(1.5); // floor(3000 / 64) = 46, floor(2000 / 64) = 31
    expect(slide.levels.every((l) => l.tileWidth === 256 && l.tileHeight === 256)).toBe(true);
    expect(slide.mppX).toBeCloseTo(0.499, 6);
    expect(slide.mppY).toBeCloseTo(0.499, 6);
    expect(slide.objectivePower).toBe(20);
    expect(slide.properties['aperio.MPP']).toBe('0.4990');
    expect(slide.properties['aperio.Seed']).toBe(String(SEED));
    expect(Object.fromEntries(slide.associatedImages.map((a) => [a.name, [a.width, a.height]]))).toEqual({
      thumbnail: [46, 31],
      label: [387, 463],
      macro: [1280, 431],
    });
  });

  it("has Aperio's directory layout: JPEG YCbCr 4:2:0 tiles sharing one JPEGTables per directory", () => {
    const infos = slide.tiff.ifds.map((d) => imageInfo(d)!);
    expect(slide.tiff.bigTiff).toBe(true);
    expect(infos.map((i) => [i.width, i.height, i.tiled])).toEqual([
      [3000, 2000, true],
      [46, 31, false], // thumbnail
      [750, 500, true],
      [187, 125, true],
      [46, 31, true],
      [387, 463, false], // label
      [1280, 431, false], // macro
    ]);
    for (const i of [0, 1, 2, 3, 4, 6]) {
      const info = infos[i]!;
      expect([info.compression, info.photometric, info.ycbcrSubsampling]).toEqual([7, 6, [2, 2]]);
      expect(info.jpegTables && info.jpegTables[0] === 0xff && info.jpegTables[1] === 0xd8).toBe(true);
    }
    expect([infos[5]!.compression, infos[5]!.photometric, infos[5]!.subfileType]).toEqual([1, 2, 1]);
    expect(infos[6]!.subfileType).toBe(9);
    expect(result.bytes).toBe(bytes.length);
  });

  it('every tile offset and byte count lies in the file, each level contiguous, each tile an abbreviated JPEG', async () => {
    const dataEnd = Math.min(...result.ifdOffsets);
    const spans: [number, number][] = [];
    for (const [li, level] of slide.levels.entries()) {
      const info = imageInfo(slide.tiff.ifds[li === 0 ? 0 : li + 1]!)!;
      let lo = Infinity;
      let hi = 0;
      let sum = 0;
      for (let i = 0; i < level.cols * level.rows; i++) {
        const offset = await info.offsets.get(i);
        const n = await info.byteCounts.get(i);
        expect(n).toBeGreaterThan(0);
        expect(offset).toBeGreaterThanOrEqual(16);
        expect(offset + n).toBeLessThanOrEqual(dataEnd);
        // SOI then SOF0 straight away: no APPn, DQT or DHT in the tile; EOI at the end
        expect([bytes[offset], bytes[offset + 1], bytes[offset + 2], bytes[offset + 3]]).toEqual([0xff, 0xd8, 0xff, 0xc0]);
        expect([bytes[offset + n - 2], bytes[offset + n - 1]]).toEqual([0xff, 0xd9]);
        if (li === 0) expect([result.level0.offsets[i], result.level0.byteCounts[i]]).toEqual([offset, n]);
        lo = Math.min(lo, offset);
        hi = Math.max(hi, offset + n);
        sum += n;
      }
      expect(hi - lo).toBe(sum); // the level's tiles are back to back, nothing else between them
      spans.push([lo, hi]);
    }
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
  });

  // The bounds: the output is deterministic (same bytes on every run and thread count), so
  // they guard against changes to the encoder, the renderer or the reader, not noise. Measured
  // at Q90 (4:2:0): tissue tiles 35.6 and 36.5 dB (the per-pixel grain and the nuclei's edges
  // are what JPEG loses), glass 45.0 dB; at Q80 tissue drops to 33 dB, so a wrong quality
  // or a wrong colour transform fails (Photometric RGB would decode the YCbCr data as RGB:
  // 8.8 dB on glass, 15.5 dB on tissue).
  it('level-0 tiles decode to the pixels the generator rendered (PSNR >= 35 dB at Q90)', async () => {
    // glass (corner), tissue (centre), and the right/bottom edge tile (cropped to the image)
    const l0 = slide.levels[0]!;
    for (const [col, row] of [[0, 0], [5, 3], [6, 4], [l0.cols - 1, l0.rows - 1]] as const) {
      const got = await slide.readTile(0, col, row);
      const want = crop(syntheticTilePixels({ width: W, height: H, seed: SEED }, col, row), 256, got.width, got.height);
      const { psnr } = compare(got, want, false);
      expect(psnr, `tile (${col}, ${row})`).toBeGreaterThanOrEqual(35);
    }
    // the centre is tissue (pink/purple, not glass-white), the corner is glass
    const centre = syntheticTilePixels({ width: W, height: H, seed: SEED }, 5, 3);
    const corner = syntheticTilePixels({ width: W, height: H, seed: SEED }, 0, 0);
    const mean = (d: Uint8Array, c: number) => d.reduce((s, v, i) => (i % 4 === c ? s + v : s), 0) / (d.length / 4);
    expect(mean(centre, 1)).toBeLessThan(200);
    expect(mean(corner, 1)).toBeGreaterThan(235);
  });

  // measured: 36.1 dB against the downsample of the decoded level 0 (both sides JPEG'd once);
  // the thumbnail (level 3's pixels re-encoded at Q90) 42.4 dB against level 3
  it('a level-1 tile is the 4x area downsample of level 0 (PSNR >= 35 dB)', async () => {
    // level-1 tile (1, 0) covers level-0 x 1024..2047, y 0..1023
    const got = await slide.readTile(1, 1, 0);
    const level0 = await slide.readRegion(1024, 0, 0, 1024, 1024);
    const fromDecoded = reduce4(level0.data, 1024, 1024);
    const a = compare(got, fromDecoded, false).psnr;
    expect(a).toBeGreaterThanOrEqual(35);
    // and against the downsample of what the generator rendered (before any JPEG)
    const src = new Uint8Array(1024 * 1024 * 4);
    for (let r = 0; r < 4; r++) {
      for (let c = 0; c < 4; c++) {
        const t = syntheticTilePixels({ width: W, height: H, seed: SEED }, 4 + c, r);
        for (let y = 0; y < 256; y++) src.set(t.subarray(y * 1024, (y + 1) * 1024), ((r * 256 + y) * 1024 + c * 256) * 4);
      }
    }
    expect(compare(got, reduce4(src, 1024, 1024), false).psnr).toBeGreaterThanOrEqual(35);
    // the thumbnail is level 3 here (46 px wide), and both decode
    const thumb = await slide.readAssociated('thumbnail');
    const l3 = await slide.readTile(3, 0, 0);
    expect(compare(thumb, l3, false).psnr).toBeGreaterThanOrEqual(30);
    const label = await slide.readAssociated('label');
    expect([label.width, label.height]).toEqual([387, 463]);
  });

  it('refuses bad options and an existing file with E_BAD_REQUEST', async () => {
    const bad = async (o: Partial<Parameters<typeof writeSyntheticSlide>[0]>, pattern: RegExp) => {
      const err = await writeSyntheticSlide({ out: join(dir, 'bad.svs'), width: 640, height: 480, workers: 0, ...o }).catch((e: unknown) => e);
      expect(isImageboxError(err, 'E_BAD_REQUEST'), String(err)).toBe(true);
      expect((err as Error).message).toMatch(pattern);
    };
    await bad({ width: 10 }, /width/);
    await bad({ height: 1.5 }, /height/);
    await bad({ tile: 100 }, /multiple of 16/);
    await bad({ tile: 32 }, /tile size/);
    await bad({ quality: 0 }, /quality/);
    await bad({ seed: -1 }, /seed/);
    await bad({ workers: -1 }, /workers/);
    await bad({ mpp: 0 }, /MPP/);
    await bad({ out: '' }, /output path/);
    await bad({ out: file }, /exists/);
    await bad({ out: join(dir, 'no-such-dir', 'x.svs') }, /cannot write/);
    expect(existsSync(join(dir, 'bad.svs'))).toBe(false);
  });

  it('bench/make-slide.mjs on worker threads writes the same bytes, and the level-0 tile index', async () => {
    if (!existsSync(BUILT)) throw new Error('dist/ missing: run npm run build (npm test does)');
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    const opts = { width: 900, height: 700, seed: SEED, quality: 75 };
    await mkdir(a);
    await mkdir(b);
    const inThread = await writeSyntheticSlide({ ...opts, out: join(a, 'same.svs'), workers: 0 });
    const { stdout } = await run(process.execPath, [SCRIPT, '--width', '900', '--height', '700', '--seed', String(SEED), '--quality', '75', '--workers', '2', '--out', join(b, 'same.svs')]);
    const summary = JSON.parse(stdout) as { bytes: number; tiles: number; index: string };
    expect(summary.bytes).toBe(inThread.bytes);
    expect(summary.tiles).toBe(inThread.tiles);
    expect(Buffer.compare(await readFile(join(a, 'same.svs')), await readFile(join(b, 'same.svs')))).toBe(0);
    const index = JSON.parse(await readFile(summary.index, 'utf8')) as { cols: number; rows: number; offsets: number[]; counts: number[]; jpegTablesBytes: number };
    expect([index.cols, index.rows]).toEqual([4, 3]);
    expect(index.offsets).toEqual(Array.from(inThread.level0.offsets));
    expect(index.counts).toEqual(Array.from(inThread.level0.byteCounts));
    expect(index.jpegTablesBytes).toBe(inThread.jpegTablesBytes);
    // it will not replace a file without --force
    await writeFile(join(b, 'keep.svs'), 'precious');
    const refused = await run(process.execPath, [SCRIPT, '--width', '640', '--height', '480', '--out', join(b, 'keep.svs')]).catch((e: { code: number; stderr: string }) => e);
    expect((refused as { code: number }).code).toBe(1);
    expect((refused as { stderr: string }).stderr).toMatch(/--force/);
    expect(await readFile(join(b, 'keep.svs'), 'utf8')).toBe('precious');
  });
});
