// A synthetic Aperio SVS for benchmarks, written without downloads by our own
// BigTIFF writer and WASM JPEG encoder (bench/make-slide.mjs is the command).
//
// Layout, as Aperio writes it: IFD 0 level 0 (tiled JPEG, the Aperio
// description with AppMag and MPP), IFD 1 the thumbnail (one JPEG strip), IFDs
// 2-4 the levels at downsample 4, 16, 64, then the label (uncompressed strips,
// NewSubfileType 1) and the macro (JPEG strip, NewSubfileType 9). Every JPEG
// directory carries its tables once (tag 347) and abbreviated tile streams;
// the encoder codes YCbCr 4:2:0, so Photometric is YCbCr (6) with
// YCbCrSubsampling 2,2, as on a GT450.
//
// Memory is bounded: level-0 tiles are rendered on worker threads in a small
// window and written in order; each is reduced 4x into a one-tile-row band of
// the next level, whose tiles are encoded (and reduced into the next band)
// when the band is full. Levels 1-3 go to spill files and are appended after
// level 0, so each level's tiles are contiguous. What stays in memory: the
// bands (cols x tile x tile x 4 bytes for level 1: 26 MB at 100k px wide), the
// level-3 image for the thumbnail (w*h/1024 bytes: 6 MB) and the offset arrays.

import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, extname } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ImageboxError } from '../errors.js';
import { Compression, Photometric } from '../contracts/tile.js';
import { encodeJpeg } from '../codecs/jpeg-encode.js';
import { sameBytes, splitJpegTables } from '../codecs/jpeg-tables.js';
import { resize } from '../codecs/image-ops.js';
import type { Kernels } from '../codecs/kernels.js';
import { kernels } from '../codecs/kernels-node.js';
import { BigTiffWriter, imageFields, type TiffSink } from '../formats/tiff/tiff-writer.js';
import { MAX_IMAGE_SIDE } from '../formats/supported.js';
import { jobRunner, type JobInit, type TileJob, type TileResult } from './synthetic-jobs.js';
import { TissueField } from './synthetic-tissue.js';

export const SYNTHETIC_DEFAULTS = {
  width: 100_000,
  height: 60_000,
  tile: 256,
  quality: 80,
  seed: 1,
  mpp: 0.499,
  appMag: 20,
} as const;

/** Level downsamples (Aperio's 4x steps). */
export const SYNTHETIC_DOWNSAMPLES = [1, 4, 16, 64] as const;

export interface SyntheticSlideOptions {
  out: string;
  width?: number;
  height?: number;
  tile?: number;
  quality?: number;
  seed?: number;
  mpp?: number;
  appMag?: number;
  /** Worker threads for rendering and encoding (default min(2, cores)); 0 runs in this thread. */
  workers?: number;
  /** Replace an existing file at `out` (default: refuse). */
  overwrite?: boolean;
  onProgress?: (p: SyntheticProgress) => void;
}

export interface SyntheticProgress {
  /** Pyramid tiles written (all levels). */
  done: number;
  total: number;
  /** Bytes of tile data so far. */
  bytes: number;
  elapsedMs: number;
}

export interface SyntheticLevel {
  width: number;
  height: number;
  cols: number;
  rows: number;
  /** Tile data bytes of the level. */
  bytes: number;
  glassTiles: number;
}

export interface SyntheticSlideResult {
  path: string;
  /** File size. */
  bytes: number;
  levels: SyntheticLevel[];
  tiles: number;
  seconds: number;
  /** Tile offsets and byte counts of level 0 (IFD 0), tile t = row * cols + col. */
  level0: { offsets: Float64Array; byteCounts: Float64Array };
  jpegTablesBytes: number;
  ifdOffsets: number[];
  description: string;
}

/** Level sizes: floor(size / downsample), at least 1 (as Aperio and the existing bench slide). */
export function syntheticLevelSizes(width: number, height: number): { width: number; height: number }[] {
  return SYNTHETIC_DOWNSAMPLES.map((d) => ({ width: Math.max(1, Math.floor(width / d)), height: Math.max(1, Math.floor(height / d)) }));
}

/**
 * The level-0 pixels of tile (col, row) as the writer renders them before
 * encoding (tile x tile RGBA, also past the image edge): what tests compare
 * the decoded slide against.
 */
export function syntheticTilePixels(o: { width: number; height: number; seed?: number; tile?: number }, col: number, row: number): Uint8Array {
  const tile = o.tile ?? SYNTHETIC_DEFAULTS.tile;
  const f = new TissueField({ seed: o.seed ?? SYNTHETIC_DEFAULTS.seed, slideWidth: o.width, slideHeight: o.height });
  return f.render(col * tile, row * tile, tile, tile).data;
}

function bad(message: string): ImageboxError {
  return new ImageboxError('E_BAD_REQUEST', `synthetic slide: ${message}`);
}

function checkInt(v: number, lo: number, hi: number, what: string): void {
  if (!Number.isInteger(v) || v < lo || v > hi) throw bad(`${what} must be an integer in ${lo}..${hi}, not ${v}`);
}

// --- work distribution: worker threads, or this thread ---------------------------------

interface Executor {
  run(job: TileJob): Promise<TileResult>;
  close(): Promise<void>;
}

function inThread(k: Kernels, init: JobInit): Executor {
  const run = jobRunner(k, init);
  return {
    run: async (job) => run(job),
    close: async () => undefined,
  };
}

async function workerPool(n: number, init: JobInit): Promise<Executor> {
  const url = new URL('./synthetic-slide-worker.js', import.meta.url);
  if (!existsSync(url)) throw new ImageboxError('E_INTERNAL', 'synthetic-slide-worker.js not found (run npm run build, or use workers: 0)');
  type Pending = { job: TileJob; resolve: (r: TileResult) => void; reject: (e: unknown) => void };
  const queue: Pending[] = [];
  const busy = new Map<Worker, Pending>();
  const idle: Worker[] = [];
  let failure: unknown;
  let closing = false;
  const fail = (e: unknown) => {
    failure ??= e;
    for (const p of queue.splice(0)) p.reject(failure);
    for (const p of busy.values()) p.reject(failure);
    busy.clear();
  };
  const pump = () => {
    while (idle.length > 0 && queue.length > 0) {
      const w = idle.pop()!;
      const p = queue.shift()!;
      busy.set(w, p);
      w.postMessage(p.job, p.job.kind === 'encode' ? [p.job.rgba.buffer as ArrayBuffer] : []);
    }
  };
  const workers = await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<Worker>((resolve, reject) => {
        const w = new Worker(url, { workerData: init });
        w.once('error', reject);
        w.on('message', (m: { ready?: boolean; result?: TileResult; error?: { message: string } }) => {
          if (m.ready) {
            w.off('error', reject);
            w.on('error', fail);
            w.on('exit', (code) => {
              if (!closing) fail(new ImageboxError('E_INTERNAL', `a synthetic-slide worker exited (code ${code})`));
            });
            resolve(w);
            idle.push(w);
            pump();
            return;
          }
          const p = busy.get(w);
          busy.delete(w);
          idle.push(w);
          if (p) {
            if (m.error) p.reject(new ImageboxError('E_INTERNAL', `tile job failed: ${m.error.message}`));
            else p.resolve(m.result!);
          }
          pump();
        });
      }),
    ),
  );
  return {
    run: (job) =>
      new Promise<TileResult>((resolve, reject) => {
        if (failure) return reject(failure);
        queue.push({ job, resolve, reject });
        pump();
      }),
    close: async () => {
      closing = true;
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

// --- sequential files ---------------------------------------------------------------------

/** Appends through a buffer to a file handle; remembers where it is. */
class Appender {
  position = 0;
  private buf: Uint8Array;
  private fill = 0;
  constructor(
    readonly fh: FileHandle,
    bytes = 4 * 1024 * 1024,
  ) {
    this.buf = new Uint8Array(bytes);
  }
  async append(data: Uint8Array): Promise<number> {
    const at = this.position;
    if (this.fill + data.length > this.buf.length) await this.flush();
    if (data.length > this.buf.length) await this.fh.write(data, 0, data.length);
    else {
      this.buf.set(data, this.fill);
      this.fill += data.length;
    }
    this.position += data.length;
    return at;
  }
  async flush(): Promise<void> {
    if (this.fill === 0) return;
    await this.fh.write(this.buf, 0, this.fill);
    this.fill = 0;
  }
}

/**
 * A job's promise that counts as handled: after a failure the jobs still in the
 * window reject too, and are not awaited (the first failure is what is thrown).
 */
function settled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

const GLASS_RGBA = (255 << 24) | (243 << 16) | (240 << 8) | 241; // (241, 240, 243, 255) little-endian

// --- the writer -----------------------------------------------------------------------------

export async function writeSyntheticSlide(options: SyntheticSlideOptions): Promise<SyntheticSlideResult> {
  const t0 = performance.now();
  const o = { ...SYNTHETIC_DEFAULTS, ...options };
  const { out, width, height, tile, quality, seed, mpp, appMag } = o;
  if (typeof out !== 'string' || out === '') throw bad('no output path');
  checkInt(width, 64, MAX_IMAGE_SIDE, 'width');
  checkInt(height, 64, MAX_IMAGE_SIDE, 'height');
  checkInt(tile, 64, 2048, 'tile size');
  if (tile % 16 !== 0) throw bad(`tile size must be a multiple of 16, not ${tile}`);
  checkInt(quality, 1, 100, 'quality');
  checkInt(seed, 0, 0x7fffffff, 'seed');
  if (!Number.isFinite(mpp) || mpp <= 0) throw bad(`MPP must be a positive number, not ${mpp}`);
  if (!Number.isFinite(appMag) || appMag <= 0) throw bad(`AppMag must be a positive number, not ${appMag}`);
  const nWorkers = options.workers ?? Math.min(2, availableParallelism());
  checkInt(nWorkers, 0, 64, 'workers');
  if (!options.overwrite && existsSync(out)) throw bad(`${out} exists (overwrite it explicitly)`);

  const sizes = syntheticLevelSizes(width, height);
  const levels: SyntheticLevel[] = sizes.map((s) => ({
    ...s,
    cols: Math.ceil(s.width / tile),
    rows: Math.ceil(s.height / tile),
    bytes: 0,
    glassTiles: 0,
  }));
  const total = levels.reduce((n, l) => n + l.cols * l.rows, 0);
  const nLevels = levels.length;
  const q4 = tile / 4;
  const k = await kernels();
  const init: JobInit = { seed, slideWidth: width, slideHeight: height, tile, quality };
  const tag = randomBytes(4).toString('hex');
  const partial = `${out}.${tag}.partial`;
  const spillPaths = levels.map((_, i) => `${partial}.L${i}`);

  let fh: FileHandle;
  try {
    fh = await open(partial, 'w');
  } catch (e) {
    throw bad(`cannot write ${out}: ${(e as Error).message}`);
  }
  const spills: (Appender | undefined)[] = [];
  let exec: Executor | undefined;
  try {
    exec = nWorkers === 0 ? inThread(k, init) : await workerPool(nWorkers, init);
    const run = exec.run;
    for (let i = 1; i < nLevels; i++) spills[i] = new Appender(await open(spillPaths[i]!, 'w'));
    const sink: TiffSink = { write: async (d, p) => void (await fh.write(d, 0, d.length, p)) };
    const writer = new BigTiffWriter(sink);
    const offsets = levels.map((l) => new Float64Array(l.cols * l.rows));
    const counts = levels.map((l) => new Float64Array(l.cols * l.rows));
    const tables: (Uint8Array | undefined)[] = [];
    const bands = levels.map((l, i) => (i === 0 ? undefined : new Uint8Array(l.cols * tile * tile * 4)));
    const glassBand = (i: number) => new Uint32Array(bands[i]!.buffer).fill(GLASS_RGBA);
    for (let i = 1; i < nLevels; i++) glassBand(i);
    const last = levels[nLevels - 1]!;
    const lastImage = new Uint8Array(last.width * last.height * 4);
    let done = 0;
    let dataBytes = 0;
    let lastReport = 0;
    const report = (force = false) => {
      const now = performance.now();
      if (!options.onProgress || (!force && now - lastReport < 100)) return;
      lastReport = now;
      options.onProgress({ done, total, bytes: dataBytes, elapsedMs: now - t0 });
    };

    const handle = async (li: number, col: number, row: number, r: TileResult): Promise<void> => {
      const l = levels[li]!;
      const idx = row * l.cols + col;
      const t = tables[li];
      if (!t) tables[li] = r.tables;
      else if (!sameBytes(t, r.tables)) throw new ImageboxError('E_INTERNAL', `level ${li}: tile (${col}, ${row}) has different JPEG tables`);
      offsets[li]![idx] = li === 0 ? await writer.append(r.stream) : await spills[li]!.append(r.stream);
      counts[li]![idx] = r.stream.length;
      l.bytes += r.stream.length;
      if (r.glass) l.glassTiles++;
      dataBytes += r.stream.length;
      done++;
      report();
      if (li + 1 >= nLevels) return;
      // into the next level's band
      const next = levels[li + 1]!;
      const band = bands[li + 1]!;
      const bandW = next.cols * tile;
      const x0 = col * q4;
      const y0 = (row % 4) * q4;
      const w = Math.min(q4, bandW - x0);
      if (w > 0) {
        for (let y = 0; y < q4; y++) band.set(r.reduced!.subarray(y * q4 * 4, (y * q4 + w) * 4), ((y0 + y) * bandW + x0) * 4);
      }
      if (col === l.cols - 1 && ((row + 1) % 4 === 0 || row === l.rows - 1)) {
        const nr = row >> 2;
        if (nr < next.rows) await emitRow(li + 1, nr);
        glassBand(li + 1);
      }
    };

    const emitRow = async (li: number, row: number): Promise<void> => {
      const l = levels[li]!;
      const band = bands[li]!;
      const bandW = l.cols * tile;
      if (li === nLevels - 1) {
        const rows = Math.min(tile, l.height - row * tile);
        for (let y = 0; y < rows; y++) {
          lastImage.set(band.subarray(y * bandW * 4, (y * bandW + l.width) * 4), ((row * tile + y) * l.width) * 4);
        }
      }
      const jobs: Promise<TileResult>[] = [];
      for (let col = 0; col < l.cols; col++) {
        const rgba = new Uint8Array(tile * tile * 4);
        for (let y = 0; y < tile; y++) rgba.set(band.subarray((y * bandW + col * tile) * 4, (y * bandW + col * tile + tile) * 4), y * tile * 4);
        jobs.push(settled(run({ kind: 'encode', rgba, reduce: li + 1 < nLevels })));
      }
      for (let col = 0; col < l.cols; col++) await handle(li, col, row, await jobs[col]!);
    };

    // level 0: a window of render jobs, handled in order
    const l0 = levels[0]!;
    const window = Math.max(4, nWorkers * 4);
    const fifo: { col: number; row: number; p: Promise<TileResult> }[] = [];
    for (let row = 0; row < l0.rows; row++) {
      for (let col = 0; col < l0.cols; col++) {
        fifo.push({ col, row, p: settled(run({ kind: 'render', x: col * tile, y: row * tile, reduce: nLevels > 1 })) });
        if (fifo.length >= window) {
          const f = fifo.shift()!;
          await handle(0, f.col, f.row, await f.p);
        }
      }
    }
    while (fifo.length > 0) {
      const f = fifo.shift()!;
      await handle(0, f.col, f.row, await f.p);
    }
    if (done !== total) throw new ImageboxError('E_INTERNAL', `wrote ${done} of ${total} tiles`);

    // thumbnail (from the last level), then levels 1.., then label and macro
    // as Aperio and the existing bench slide: CRLF after the first line of IFD 0's description, LF
    // elsewhere (OpenSlide names an associated image by the first word of the second line, split at \r or \n)
    const head = 'Aperio Image Library v12.0.15';
    const frame = `${width}x${height} [0,0 ${width}x${height}] (${tile}x${tile})`;
    // the description is ASCII and '|'-separated: keep the file name's safe characters
    const name = basename(out, extname(out)).replace(/[^\x20-\x7e]|\|/g, '_');
    const description =
      `${head}\r\n${frame} JPEG/YCC Q=${quality}|AppMag = ${appMag}|StripeWidth = 2040|ScanScope ID = SYNTHETIC|Filename = ${name}` +
      `|MPP = ${mpp.toFixed(4)}|OriginalWidth = ${width}|OriginalHeight = ${height}` +
      `|Generator = imagebox synthetic slide (bench/make-slide.mjs)|Seed = ${seed}`;
    const lastRgba = { width: last.width, height: last.height, data: lastImage };
    const tScale = Math.min(1, 1024 / last.width, 768 / last.height);
    const thumbSize = { width: Math.max(1, Math.round(last.width * tScale)), height: Math.max(1, Math.round(last.height * tScale)) };
    const thumbRgba = tScale === 1 ? lastRgba : resize(k, lastRgba, thumbSize.width, thumbSize.height);
    const thumb = splitJpegTables(encodeJpeg(k, thumbRgba, { quality: 90, subsampling: '420' }));
    const thumbAt = await writer.append(thumb.stream);
    const bases: number[] = [0];
    for (let i = 1; i < nLevels; i++) {
      const s = spills[i]!;
      await s.flush();
      await s.fh.close();
      spills[i] = undefined;
      bases[i] = writer.position;
      for await (const chunk of createReadStream(spillPaths[i]!, { highWaterMark: 4 * 1024 * 1024 })) await writer.append(chunk as Buffer);
      if (writer.position - bases[i]! !== levels[i]!.bytes) throw new ImageboxError('E_INTERNAL', `level ${i}: spill file size mismatch`);
    }
    const label = labelImage(seed);
    const labelRows = 56;
    const labelStrips: { at: number; n: number }[] = [];
    for (let y = 0; y < label.height; y += labelRows) {
      const rows = Math.min(labelRows, label.height - y);
      const strip = new Uint8Array(rows * label.width * 3);
      for (let i = 0; i < rows * label.width; i++) {
        const s = ((y * label.width) + i) * 4;
        strip[i * 3] = label.data[s]!;
        strip[i * 3 + 1] = label.data[s + 1]!;
        strip[i * 3 + 2] = label.data[s + 2]!;
      }
      labelStrips.push({ at: await writer.append(strip), n: strip.length });
    }
    const macro = splitJpegTables(encodeJpeg(k, macroImage(k, thumbRgba, label), { quality: 85, subsampling: '420' }));
    const macroAt = await writer.append(macro.stream);

    const jpegDir = { compression: Compression.Jpeg, photometric: Photometric.YCbCr, ycbcrSubsampling: [2, 2] as [number, number] };
    for (let i = 0; i < nLevels; i++) {
      const l = levels[i]!;
      const base = bases[i]!;
      const offs = offsets[i]!;
      if (base) for (let j = 0; j < offs.length; j++) offs[j] = offs[j]! + base;
      if (i === 1) {
        writer.addDirectory(
          imageFields({
            ...jpegDir,
            width: thumbRgba.width,
            height: thumbRgba.height,
            rowsPerStrip: thumbRgba.height,
            offsets: [thumbAt],
            byteCounts: [thumb.stream.length],
            jpegTables: thumb.tables,
            description: `${head}\n${width}x${height} -> ${thumbRgba.width}x${thumbRgba.height} - `,
          }),
        );
      }
      writer.addDirectory(
        imageFields({
          ...jpegDir,
          width: l.width,
          height: l.height,
          tile: [tile, tile],
          offsets: offs,
          byteCounts: counts[i]!,
          jpegTables: tables[i]!,
          description: i === 0 ? description : `${head}\n${frame} -> ${l.width}x${l.height} JPEG/YCC Q=${quality}`,
        }),
      );
    }
    writer.addDirectory(
      imageFields({
        width: label.width,
        height: label.height,
        rowsPerStrip: labelRows,
        compression: Compression.None,
        photometric: Photometric.Rgb,
        offsets: labelStrips.map((s) => s.at),
        byteCounts: labelStrips.map((s) => s.n),
        newSubfileType: 1,
        description: `${head}\nlabel ${label.width}x${label.height}`,
      }),
    );
    writer.addDirectory(
      imageFields({
        ...jpegDir,
        width: MACRO.width,
        height: MACRO.height,
        rowsPerStrip: MACRO.height,
        offsets: [macroAt],
        byteCounts: [macro.stream.length],
        jpegTables: macro.tables,
        newSubfileType: 9,
        description: `${head}\nmacro ${MACRO.width}x${MACRO.height}`,
      }),
    );
    const res = await writer.finish();
    await fh.close();
    await rename(partial, out);
    report(true);
    return {
      path: out,
      bytes: res.size,
      levels,
      tiles: total,
      seconds: (performance.now() - t0) / 1000,
      level0: { offsets: offsets[0]!, byteCounts: counts[0]! },
      jpegTablesBytes: tables[0]!.length,
      ifdOffsets: res.ifdOffsets,
      description,
    };
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(partial, { force: true });
    throw e;
  } finally {
    for (const s of spills) await s?.fh.close().catch(() => undefined);
    for (const p of spillPaths) await rm(p, { force: true });
    await exec?.close();
  }
}

// --- associated images ---------------------------------------------------------------------

const LABEL = { width: 387, height: 463 };
const MACRO = { width: 1280, height: 431 };

function rand(seed: number): () => number {
  let x = (seed ^ 0x9e3779b9) >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

function fillRect(img: { width: number; height: number; data: Uint8Array }, x0: number, y0: number, w: number, h: number, rgb: [number, number, number]): void {
  for (let y = Math.max(0, y0); y < Math.min(img.height, y0 + h); y++) {
    for (let x = Math.max(0, x0); x < Math.min(img.width, x0 + w); x++) {
      const p = (y * img.width + x) * 4;
      img.data[p] = rgb[0];
      img.data[p + 1] = rgb[1];
      img.data[p + 2] = rgb[2];
      img.data[p + 3] = 255;
    }
  }
}

/** A paper label: a barcode and a few dark "text" lines (seeded). */
function labelImage(seed: number): { width: number; height: number; data: Uint8Array } {
  const img = { ...LABEL, data: new Uint8Array(LABEL.width * LABEL.height * 4) };
  fillRect(img, 0, 0, img.width, img.height, [236, 236, 230]);
  const r = rand(seed + 1);
  let x = 40;
  while (x < img.width - 40) {
    const bar = 2 + Math.floor(r() * 5);
    fillRect(img, x, 40, bar, 150, [20, 20, 24]);
    x += bar + 2 + Math.floor(r() * 5);
  }
  for (let line = 0; line < 5; line++) {
    let tx = 40;
    const ty = 240 + line * 40;
    while (tx < img.width - 60) {
      const word = 12 + Math.floor(r() * 40);
      fillRect(img, tx, ty, word, 18, [40, 40, 60]);
      tx += word + 10;
    }
  }
  return img;
}

/** The whole glass slide: a label at the left, the tissue in the middle, a grey holder around. */
function macroImage(k: Kernels, thumb: { width: number; height: number; data: Uint8Array }, label: { width: number; height: number; data: Uint8Array }) {
  const img = { ...MACRO, data: new Uint8Array(MACRO.width * MACRO.height * 4) };
  fillRect(img, 0, 0, img.width, img.height, [92, 96, 104]);
  fillRect(img, 10, 10, img.width - 20, img.height - 20, [226, 226, 230]);
  const paste = (src: { width: number; height: number; data: Uint8Array }, x0: number, y0: number, w: number, h: number) => {
    const s = resize(k, src, w, h);
    for (let y = 0; y < h; y++) img.data.set(s.data.subarray(y * w * 4, (y + 1) * w * 4), ((y0 + y) * img.width + x0) * 4);
  };
  // the label turned to fit the left end (approximately: scaled, not rotated)
  const lh = img.height - 40;
  const lw = Math.round(lh * 0.8);
  paste(label, 20, 20, Math.min(lw, label.width), Math.min(lh, label.height));
  const area = { x: lw + 60, y: 30, w: img.width - lw - 90, h: img.height - 60 };
  const s = Math.min(area.w / thumb.width, area.h / thumb.height, 1);
  const tw = Math.max(1, Math.floor(thumb.width * s));
  const th = Math.max(1, Math.floor(thumb.height * s));
  paste(thumb, area.x + Math.floor((area.w - tw) / 2), area.y + Math.floor((area.h - th) / 2), tw, th);
  return img;
}
