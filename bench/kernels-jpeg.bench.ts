// JPEG decode benchmark: the AssemblyScript kernel (src/codecs/jpeg.ts) side by
// side with jpeg-js (pure JS), @jsquash/jpeg (mozjpeg = libjpeg-turbo's decoder
// in WASM) and sharp (native libjpeg-turbo through libvips: includes its
// per-call overhead, thread hop and RGB output), on the same streams, plus
// the kernel's scaled decodes (1/2, 1/4, 1/8 from the DCT).
//
//   npm run build:wasm && npx vitest bench --run bench/kernels-jpeg.bench.ts
//   BENCH_SMOKE=1 ...: a few calls per task and one interleaved round (CI: it still runs)
//
// Every decoder gets the same complete stream (JPEGTables spliced into the
// tile, Adobe transform 0 for the RGB-coded Aperio tiles); the kernel is also
// timed the way the server calls it (abbreviated tile + JPEGTables, whose
// parsed tables stay cached between tiles). All outputs are RGBA except sharp
// (raw RGB). tinybench (through vitest bench) gives the usual per-task
// numbers; afterAll then runs every decoder of an image in interleaved rounds
// and prints the median megapixels/s (pixels of the full-size image / median
// call time) with ratios against the kernel: the figures to quote.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import sharp from 'sharp';
import jpegJs from 'jpeg-js';
import jsquashDecode, { init as jsquashInit } from '@jsquash/jpeg/decode.js';
import { afterAll, bench, describe } from 'vitest';
import { kernels } from '../src/codecs/kernels-node.js';
import { decodeJpeg } from '../src/codecs/jpeg.js';

const k = await kernels();
const require = createRequire(import.meta.url);
await jsquashInit(await WebAssembly.compile(readFileSync(require.resolve('@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm'))));

const fx = (name: string) => new Uint8Array(readFileSync(new URL(`../test/fixtures/jpeg/${name}`, import.meta.url)));
const ADOBE_RGB = new Uint8Array([0xff, 0xee, 0, 14, 0x41, 0x64, 0x6f, 0x62, 0x65, 0, 0x64, 0, 0, 0, 0, 0]);

/** A complete stream from JPEGTables + an abbreviated tile (Adobe transform 0 for RGB-coded tiles). */
function joined(prefix: string, tile: string, rgb: boolean): Uint8Array {
  const t = fx(`${prefix}.tables.jpg`);
  const d = fx(tile);
  return new Uint8Array(Buffer.concat([Buffer.from([0xff, 0xd8]), rgb ? ADOBE_RGB : new Uint8Array(0), t.subarray(2, t.length - 2), d.subarray(2)]));
}

function abbreviated(prefix: string, tile: string): { data: Uint8Array; tables: Uint8Array } {
  return { data: fx(tile), tables: fx(`${prefix}.tables.jpg`) };
}

// 512x512 from fixture pixels: four decoded tissue tiles in a 2x2 mosaic
async function mosaic512(): Promise<{ q85_420: Uint8Array; q70_444: Uint8Array }> {
  const tiles = ['aperio-jpeg.tile-c10-r12.jpg', 'aperio-jpeg.tile-c15-r14.jpg', 'aperio-jpeg.tile-c23-r11.jpg', 'aperio-jpeg.tile-c28-r8.jpg'];
  const rgb = await Promise.all(tiles.map((t) => sharp(Buffer.from(joined('aperio-jpeg', t, true))).raw().toBuffer()));
  const composite = rgb.map((input, i) => ({ input, raw: { width: 256, height: 256, channels: 3 as const }, left: (i % 2) * 256, top: (i >> 1) * 256 }));
  const base = sharp({ create: { width: 512, height: 512, channels: 3, background: { r: 255, g: 255, b: 255 } } }).composite(composite);
  const raw = await base.raw().toBuffer();
  const img = () => sharp(raw, { raw: { width: 512, height: 512, channels: 3 } });
  return {
    q85_420: new Uint8Array(await img().jpeg({ quality: 85, chromaSubsampling: '4:2:0' }).toBuffer()),
    q70_444: new Uint8Array(await img().jpeg({ quality: 70, chromaSubsampling: '4:4:4' }).toBuffer()),
  };
}
const m512 = await mosaic512();

interface Case {
  name: string;
  data: Uint8Array;
  /** The tile as stored in the TIFF (abbreviated) and its JPEGTables: how the server decodes. */
  tile?: { data: Uint8Array; tables: Uint8Array };
  width: number;
  height: number;
  transform: 'none' | 'ycbcr' | 'auto';
  scaled?: boolean;
}
const cases: Case[] = [
  { name: '256x256 4:4:4 RGB Aperio tissue (34 KB)', data: joined('aperio-jpeg', 'aperio-jpeg.tile-c23-r11.jpg', true), tile: abbreviated('aperio-jpeg', 'aperio-jpeg.tile-c23-r11.jpg'), width: 256, height: 256, transform: 'none', scaled: true },
  { name: '256x256 4:4:4 RGB Aperio glass (2.7 KB)', data: joined('aperio-jpeg', 'aperio-jpeg.tile-c0-r15.jpg', true), tile: abbreviated('aperio-jpeg', 'aperio-jpeg.tile-c0-r15.jpg'), width: 256, height: 256, transform: 'none' },
  { name: '256x256 4:2:0 YCbCr Aperio GT450-like (15 KB)', data: joined('aperio-ycbcr', 'aperio-ycbcr.tile-c5-r1.jpg', false), tile: abbreviated('aperio-ycbcr', 'aperio-ycbcr.tile-c5-r1.jpg'), width: 256, height: 256, transform: 'ycbcr', scaled: true },
  { name: '256x256 4:2:0 YCbCr vips/libtiff (13 KB)', data: joined('generic', 'generic.tile-c9-r7.jpg', false), tile: abbreviated('generic', 'generic.tile-c9-r7.jpg'), width: 256, height: 256, transform: 'ycbcr' },
  { name: `512x512 4:2:0 Q85 sharp (${(m512.q85_420.length / 1024).toFixed(0)} KB)`, data: m512.q85_420, width: 512, height: 512, transform: 'auto', scaled: true },
  { name: `512x512 4:4:4 Q70 sharp (${(m512.q70_444.length / 1024).toFixed(0)} KB)`, data: m512.q70_444, width: 512, height: 512, transform: 'auto' },
];

interface Decoder {
  name: string;
  calls: number; // calls per round in the interleaved measurement
  fn: () => unknown;
}

const out = new Uint8Array(512 * 512 * 4);
function decoders(c: Case): Decoder[] {
  const list: Decoder[] = [{ name: 'imagebox AS', calls: 12, fn: () => decodeJpeg(k, c.data, { colorTransform: c.transform, out }) }];
  const t = c.tile;
  if (t) list.push({ name: 'imagebox AS, tile + JPEGTables', calls: 12, fn: () => decodeJpeg(k, t.data, { tables: t.tables, colorTransform: c.transform, out }) });
  list.push(
    { name: '@jsquash/jpeg (mozjpeg WASM)', calls: 6, fn: () => jsquashDecode(c.data.buffer.slice(c.data.byteOffset, c.data.byteOffset + c.data.byteLength) as ArrayBuffer) },
    { name: 'jpeg-js', calls: 2, fn: () => jpegJs.decode(c.data, { useTArray: true, formatAsRGBA: true, colorTransform: c.transform === 'none' ? false : undefined }) },
    { name: 'sharp (native libjpeg-turbo)', calls: 6, fn: () => sharp(c.data).raw().toBuffer() },
  );
  if (c.scaled) {
    for (const scale of [2, 4, 8] as const) {
      list.push({ name: `imagebox AS 1/${scale}`, calls: 12, fn: () => decodeJpeg(k, c.data, { colorTransform: c.transform, scale, out }) });
    }
  }
  return list;
}

// vitest bench: the usual hz / percentiles per decoder
const SMOKE = process.env.BENCH_SMOKE === '1';
const opts = SMOKE ? { time: 1, iterations: 2, warmupTime: 0, warmupIterations: 0 } : { time: 600, warmupTime: 150 };
for (const c of cases) {
  describe(c.name, () => {
    for (const d of decoders(c)) {
      bench(d.name, async () => {
        await d.fn();
      }, opts);
    }
  });
}

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) >> 1]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

// The summary table: decoders of one image run in interleaved rounds, so a
// load change on a shared machine hits all of them alike; median of all calls.
const ROUNDS = SMOKE ? 1 : 12;
afterAll(async () => {
  const rows: Record<string, string | number>[] = [];
  for (const c of cases) {
    const ds = decoders(c);
    const times = ds.map(() => [] as number[]);
    for (const d of ds) for (let i = 0; i < 3; i++) await d.fn(); // warm up
    for (let r = 0; r < ROUNDS; r++) {
      for (let j = 0; j < ds.length; j++) {
        const d = ds[(j + r) % ds.length]!;
        const t = times[(j + r) % ds.length]!;
        for (let i = 0; i < d.calls; i++) {
          const t0 = performance.now();
          await d.fn();
          t.push(performance.now() - t0);
        }
      }
    }
    const mp = (c.width * c.height) / 1e6;
    const mps = times.map((t) => mp / (median(t) / 1000));
    ds.forEach((d, j) => {
      rows.push({ image: c.name, decoder: d.name, 'median MP/s': Number(mps[j]!.toFixed(1)), 'AS full / this': Number((mps[0]! / mps[j]!).toFixed(2)) });
    });
  }
  console.log('\nJPEG decode, median megapixels/s over interleaved rounds (pixels of the full-size image; scaled rows: same input, 1/N output)');
  console.table(rows);
}, 300_000);
