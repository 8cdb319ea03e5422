// Benchmarks of the non-JPEG-decode kernels (tinybench through vitest bench):
//   npm run build:wasm && npx vitest bench --run bench/kernels-ops.bench.ts
//   BENCH_SMOKE=1 ...: a few calls per task (CI: it still runs)
// Colour conversion is timed on buffers already in kernel memory (kernel only);
// the other rows go through the TypeScript wrappers (copy in, run, copy out).
// MP/s = hz x megapixels per call (the names carry the sizes).
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { bench, describe } from 'vitest';
import { kernels } from '../src/codecs/kernels-node.js';
import { jpeg2000Decoder } from '../src/codecs/jpeg2000-node.js';
import { resizeArea, resizeBilinear, rotate } from '../src/codecs/image-ops.js';
import { encodeJpeg } from '../src/codecs/jpeg-encode.js';
import { encodePng } from '../src/codecs/png-encode.js';
import { decodeLzwTile } from '../src/codecs/lzw.js';
import { decodeDeflateTile } from '../src/codecs/deflate.js';
import type { RGBA } from '../src/contracts/pixels.js';

const k = await kernels();
const SMOKE = process.env.BENCH_SMOKE === '1';
/** tinybench options of every task: the defaults, or a few calls in smoke mode. */
const opts = SMOKE ? { time: 1, iterations: 2, warmupTime: 0, warmupIterations: 0 } : {};
const j2k = await jpeg2000Decoder();
const fx = (p: string) => new URL(`../test/fixtures/${p}`, import.meta.url);

async function png(p: string): Promise<RGBA> {
  const { data, info } = await sharp(fx(p).pathname).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}
function tileOf(img: RGBA, w: number, h: number): RGBA {
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(img.data.subarray(((y % img.height) * img.width + (x % img.width)) * 4, ((y % img.height) * img.width + (x % img.width)) * 4 + 4), (y * w + x) * 4);
  return { width: w, height: h, data };
}

const tissue512 = await png('lzw/bigtiff-deflate-L1-c0r0.png');
const tissue256 = tileOf(tissue512, 256, 256);
const big1024 = tileOf(tissue512, 1024, 1024);

// colour conversion: 512x512 in kernel memory, converted in place each call
type Ops = {
  ycbcr_interleaved_rgba(s: number, d: number, n: number, simd: number): void;
  ycbcr_planar_rgba(y: number, cb: number, cr: number, ys: number, cs: number, sh: number, d: number, w: number, h: number, simd: number): void;
};
const ops = () => k.exports as unknown as Ops;
const N = 512 * 512;
let inter = 0, yP = 0, cbP = 0, crP = 0, dst = 0;
function setupColour() {
  k.exports.reset();
  inter = k.alloc(N * 3);
  yP = k.alloc(N);
  cbP = k.alloc(N / 2);
  crP = k.alloc(N / 2);
  dst = k.alloc(N * 4);
  const u = k.u8();
  for (let i = 0; i < N * 3; i++) u[inter + i] = (i * 7919) & 0xff;
  for (let i = 0; i < N; i++) u[yP + i] = (i * 31) & 0xff;
  for (let i = 0; i < N / 2; i++) {
    u[cbP + i] = (i * 13) & 0xff;
    u[crP + i] = (i * 17) & 0xff;
  }
}

describe('YCbCr -> RGBA, 512x512 (0.262 MP), kernel only', () => {
  bench('interleaved scalar', () => ops().ycbcr_interleaved_rgba(inter, dst, N, 0), { ...opts, setup: setupColour });
  bench('interleaved SIMD', () => ops().ycbcr_interleaved_rgba(inter, dst, N, 1), { ...opts, setup: setupColour });
  bench('planar 4:2:2 scalar', () => ops().ycbcr_planar_rgba(yP, cbP, crP, 512, 256, 1, dst, 512, 512, 0), { ...opts, setup: setupColour });
  bench('planar 4:2:2 SIMD', () => ops().ycbcr_planar_rgba(yP, cbP, crP, 512, 256, 1, dst, 512, 512, 1), { ...opts, setup: setupColour });
});

describe('resample (wrapper)', () => {
  bench('area 1024x1024 -> 256x256 (1.05 MP in)', () => void resizeArea(k, big1024, 256, 256), opts);
  bench('area 512x512 -> 341x341 (0.262 MP in)', () => void resizeArea(k, tissue512, 341, 341), opts);
  bench('bilinear 256x256 -> 512x512 (0.262 MP out)', () => void resizeBilinear(k, tissue256, 512, 512), opts);
  bench('rotate 90 512x512', () => void rotate(k, tissue512, 90), opts);
});

describe('JPEG encode 256x256 Q90 4:2:0', () => {
  bench('imagebox', () => void encodeJpeg(k, tissue256, { quality: 90 }), opts);
  bench('sharp (libjpeg-turbo, incl. libuv hop)', async () => {
    await sharp(tissue256.data, { raw: { width: 256, height: 256, channels: 4 } }).removeAlpha().jpeg({ quality: 90 }).toBuffer();
  }, opts);
});

describe('JPEG encode 512x512 Q90 4:2:0', () => {
  bench('imagebox', () => void encodeJpeg(k, tissue512, { quality: 90 }), opts);
  bench('sharp (libjpeg-turbo, incl. libuv hop)', async () => {
    await sharp(tissue512.data, { raw: { width: 512, height: 512, channels: 4 } }).removeAlpha().jpeg({ quality: 90 }).toBuffer();
  }, opts);
});

describe('PNG encode 256x256 RGB', () => {
  bench('imagebox (CompressionStream)', async () => void (await encodePng(tissue256)), opts);
});

const j2k33003 = new Uint8Array(readFileSync(fx('j2k/33003-L0-c6r4.bin')));
const j2k33005 = new Uint8Array(readFileSync(fx('j2k/33005-L0-c6r5.bin')));
describe('JPEG 2000 tile decode (OpenJPEG WASM)', () => {
  bench('33003 256x256', async () => void (await j2k.decode(k, j2k33003, { compression: 33003 })), opts);
  bench('33005 240x240', async () => void (await j2k.decode(k, j2k33005, { compression: 33005 })), opts);
  bench('33003 256x256 reduce 2 (64x64)', async () => void (await j2k.decode(k, j2k33003, { compression: 33003, reduce: 2 })), opts);
});

const lzwTile = new Uint8Array(readFileSync(fx('lzw/bigendian-lzw-L2-c0r0.bin')));
const lzwMeta = JSON.parse(readFileSync(fx('lzw/bigendian-lzw-L2-c0r0.json'), 'utf8'));
const zTile = new Uint8Array(readFileSync(fx('lzw/bigtiff-deflate-L1-c0r0.bin')));
const zMeta = JSON.parse(readFileSync(fx('lzw/bigtiff-deflate-L1-c0r0.json'), 'utf8'));
describe('lossless tile decode (+ predictor)', () => {
  bench('LZW 256x256 RGB', () => void decodeLzwTile(k, lzwTile, lzwMeta), opts);
  bench('Deflate 512x512 RGB', async () => void (await decodeDeflateTile(k, zTile, zMeta)), opts);
});
