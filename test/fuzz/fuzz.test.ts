// Seeded mutation fuzzing of every parser that reads untrusted bytes: the TIFF /
// BigTIFF parser and vendor readers (through openSlide on a MemorySource, then a
// tile read and decode), the JPEG decoder (WASM kernel), LZW and Deflate tiles,
// the JPEG 2000 wrapper (OpenJPEG WASM), the JPEG-LS one (CharLS WASM), the IIIF request parser, every HTTP
// route (DeepZoom, IIIF, the JSON API, token prefixes) through the real handler,
// and the WebSocket protocol decoders. Inputs are fixtures with bytes flipped, runs
// overwritten with extreme values, spliced or truncated, plus random bytes. Every
// input must end in a result or a typed ImageboxError (a WASM trap, a RangeError
// or a hang is a failure) within a time bound, and the process's memory must stay
// bounded. Cases per target: FUZZ_CASES (default 150: a few seconds in CI);
// `npm run fuzz` runs 3000. The seed: FUZZ_SEED (default 1); a failure prints the
// seed and case so it replays.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isImageboxError } from '../../src/errors.js';
import { MemorySource } from '../../src/io/memory-source.js';
import { openSlide } from '../../src/node/open-slide.js';
import { kernels } from '../../src/codecs/kernels-node.js';
import type { Kernels } from '../../src/codecs/kernels.js';
import { decodeJpeg } from '../../src/codecs/jpeg.js';
import { decodeLzwTile } from '../../src/codecs/lzw.js';
import { decodeDeflateTile } from '../../src/codecs/deflate.js';
import { jpeg2000Decoder } from '../../src/codecs/jpeg2000-node.js';
import type { Jpeg2000Decoder } from '../../src/codecs/jpeg2000.js';
import { jpegLsDecoder } from '../../src/codecs/jpegls-node.js';
import { parseImageRequest } from '../../src/server/iiif/request.js';
import { xorshift32 } from '../helpers/rng.js';
import { ImageboxError } from '../../src/errors.js';
import { createImagebox } from '../../src/server/app.js';
import { AccessControl } from '../../src/server/access.js';
import { workerUrl } from '../server/helpers.js';
import { decodeClientMessage, decodeServerMessage, encodeClientMessage, encodeServerMessage, encodeTile, MessageType, PROTOCOL } from '../../src/stream/protocol.js';

const CASES = Number(process.env['FUZZ_CASES'] ?? 150);
const SEED = Number(process.env['FUZZ_SEED'] ?? 1);
/** Longest any one input may take (ms): generous for a loaded CI machine; a hang is far longer. */
const CASE_BOUND_MS = 5000;
const FIX = fileURLToPath(new URL('../fixtures/', import.meta.url));
const read = (p: string): Uint8Array => new Uint8Array(readFileSync(FIX + p));

/** A seeded integer in [0, n). */
function rng(seed: number): (n: number) => number {
  const next = xorshift32(seed);
  return (n: number) => {
    const x = next();
    return n <= 0 ? 0 : x % n;
  };
}

/** The byte at 128 (D of DICM in a Part 10 file). */
const r0 = (b: Uint8Array): number => b[128] ?? 0;

const EXTREMES = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0xffffffff];

/** One mutation of `src` (a copy): flips, extreme words, a spliced run, a cut, or random bytes. `focus`: mutate mostly the first bytes (headers, directories). */
function mutate(src: Uint8Array, r: (n: number) => number, focus = src.length): Uint8Array {
  const kind = r(6);
  if (kind === 5) {
    const out = new Uint8Array(1 + r(4096));
    for (let i = 0; i < out.length; i++) out[i] = r(256);
    return out;
  }
  let out = src.slice();
  const at = (): number => (r(4) === 0 ? r(out.length) : r(Math.min(focus, out.length)));
  const n = 1 + r(8);
  for (let k = 0; k < n; k++) {
    const m = kind === 4 ? r(4) : kind;
    if (m === 0) out[at()] ^= 1 << r(8);
    else if (m === 1) {
      const p = at();
      const v = EXTREMES[r(EXTREMES.length)]!;
      for (let b = 0; b < 4 && p + b < out.length; b++) out[p + b] = (v >>> (8 * b)) & 0xff;
    } else if (m === 2) {
      const from = r(out.length);
      const to = at();
      const len = Math.min(1 + r(64), out.length - from, out.length - to);
      out.copyWithin(to, from, from + len);
    } else out = out.subarray(0, Math.max(1, r(out.length)));
  }
  return out;
}

interface Tally {
  cases: number;
  ok: number;
  typed: Record<string, number>;
  slowestMs: number;
}
const tallies: Record<string, Tally> = {};

/** Run `CASES` inputs through `fn`; anything but a result or an ImageboxError fails with the case to replay. */
async function fuzz(target: string, input: (r: (n: number) => number) => Uint8Array, fn: (b: Uint8Array) => unknown | Promise<unknown>): Promise<void> {
  const t: Tally = (tallies[target] = { cases: 0, ok: 0, typed: {}, slowestMs: 0 });
  const r = rng(SEED * 7919 + target.length * 104729 + target.charCodeAt(0));
  for (let i = 0; i < CASES; i++) {
    const bytes = input(r);
    const t0 = performance.now();
    try {
      await fn(bytes);
      t.ok++;
    } catch (e) {
      if (!isImageboxError(e)) {
        throw new Error(`fuzz ${target}: case ${i} (FUZZ_SEED=${SEED}) threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
      }
      t.typed[e.code] = (t.typed[e.code] ?? 0) + 1;
    }
    const ms = performance.now() - t0;
    t.slowestMs = Math.max(t.slowestMs, ms);
    if (ms > CASE_BOUND_MS) throw new Error(`fuzz ${target}: case ${i} (FUZZ_SEED=${SEED}) took ${ms.toFixed(0)} ms`);
    t.cases++;
  }
}

let k: Kernels;
let j2k: Jpeg2000Decoder;
const rss0 = process.memoryUsage().rss;
beforeAll(async () => {
  k = await kernels();
  j2k = await jpeg2000Decoder();
});
afterAll(() => {
  const total = Object.values(tallies).reduce((n, t) => n + t.cases, 0);
  for (const [name, t] of Object.entries(tallies)) {
    console.log(`fuzz ${name}: ${t.cases} cases, ${t.ok} decoded, typed errors ${JSON.stringify(t.typed)}, slowest ${t.slowestMs.toFixed(0)} ms`);
  }
  console.log(`fuzz: ${total} cases, 0 failures (seed ${SEED}, ${CASES} per target); RSS ${Math.round(rss0 / 2 ** 20)} -> ${Math.round(process.memoryUsage().rss / 2 ** 20)} MB`);
});

describe('fuzz: every untrusted-bytes parser ends in a result or a typed error', () => {
  const slides = ['wsi/openslide/boxes.tiff', 'wsi/openslide/small.svs', 'wsi/bigendian-jpeg-tiled.tif', 'wsi/nonmultiple-tiles.tif', 'wsi/strip-lzw.tif'].map(read);
  it('TIFF / BigTIFF parser and vendor readers (open, a tile, its pixels)', async () => {
    await fuzz('tiff', (r) => mutate(slides[r(slides.length)]!, r, 8192), async (b) => {
      const slide = await openSlide(new MemorySource(b));
      try {
        const last = slide.levels.length - 1;
        await slide.tile(last, 0, 0);
        await slide.readTile(last, 0, 0);
        await slide.readRegion(0, 0, last, 64, 64);
      } finally {
        await slide.close();
      }
    });
  }, 300_000);

  // the newer readers: Hamamatsu NDPI (a TIFF with 8-byte IFD pointers and McuStarts), DICOM WSI (our Part 10 reader, frame tables), Philips / Leica / Ventana (XML and XMP)
  const more = ['vendors/philips-sparse.tiff', 'vendors/leica-offset.scn', 'vendors/ventana.bif', 'vendors/ventana-overlap.bif', 'ndpi/synthetic.ndpi', 'dicom/variants/no-offset-table.dcm', 'dicom/variants/sparse-missing.dcm', 'dicom/variants/extended-offset-table.dcm', 'dicom/boxes/boxes_0.dcm', 'dicom/jpegls/near-lossless-sample.dcm'].map(read);
  it('NDPI, DICOM, Philips, Leica and Ventana readers (open, a tile, its pixels)', async () => {
    await fuzz('vendors-ndpi-dicom', (r) => mutate(more[r(more.length)]!, r, 4096), async (b) => {
      const slide = await openSlide(new MemorySource(b, r0(b) === 0x44 ? 'fuzz.dcm' : 'fuzz.ndpi'));
      try {
        const last = slide.levels.length - 1;
        await slide.tile(last, 0, 0);
        await slide.readRegion(0, 0, last, 64, 64);
        await slide.readRegion(0, 0, 0, 300, 40);
      } finally {
        await slide.close();
      }
    });
  }, 300_000);

  const jpegs: [string, string | undefined][] = [
    ['jpeg/aperio-jpeg.tile-c10-r12.jpg', 'jpeg/aperio-jpeg.tables.jpg'],
    ['jpeg/aperio-ycbcr.tile-c5-r1.jpg', 'jpeg/aperio-ycbcr.tables.jpg'],
    ['jpeg/cjpeg-progressive.jpg', undefined],
    ['jpeg/cjpeg-444-rst3.jpg', undefined],
    ['jpeg/cjpeg-odd-2x2-1x2-2x1.jpg', undefined],
    ['jpeg/cjpeg-arithmetic.jpg', undefined],
  ];
  const jpegData = jpegs.map(([d, t]) => ({ data: read(d), tables: t ? read(t) : undefined }));
  it('JPEG decoder (WASM kernel), full size and scaled', async () => {
    let which = 0;
    await fuzz(
      'jpeg',
      (r) => {
        which = r(jpegData.length);
        return mutate(jpegData[which]!.data, r, 700);
      },
      (b) => {
        const scale = ([1, 2, 8] as const)[b.length % 3]!;
        return decodeJpeg(k, b, { tables: jpegData[which]!.tables, scale });
      },
    );
  }, 300_000);

  const lossless = ['lzw/strip-lzw-s0.bin', 'lzw/bigendian-lzw-L2-c0r0.bin', 'lzw/bigtiff-deflate-L1-c0r0.bin', 'lzw/boxes-deflate-L0-c3r2.bin']
    .filter((f) => {
      try {
        readFileSync(FIX + f);
        return true;
      } catch {
        return false;
      }
    })
    .map((f) => ({ data: read(f), meta: JSON.parse(readFileSync(FIX + f.replace(/\.bin$/, '.json'), 'utf8')) as Record<string, number> }));
  it('LZW and Deflate tiles (+ predictor)', async () => {
    expect(lossless.length).toBeGreaterThanOrEqual(3);
    let which = 0;
    await fuzz(
      'lzw-deflate',
      (r) => {
        which = r(lossless.length);
        return mutate(lossless[which]!.data, r, 256);
      },
      async (b) => {
        const { meta } = lossless[which]!; // the fixture's layout (width, height, samples, bits, predictor, byte order)
        return meta['compression'] === 5 ? decodeLzwTile(k, b, meta as never) : decodeDeflateTile(k, b, meta as never);
      },
    );
  }, 300_000);

  const j2ks = ['j2k/33003-L0-c3r2', 'j2k/33003-L2-c0r0'].map((n) => ({ data: read(`${n}.bin`), meta: JSON.parse(readFileSync(`${FIX}${n}.json`, 'utf8')) as { compression: number } }));
  it('JPEG 2000 wrapper (OpenJPEG WASM)', async () => {
    await fuzz('jpeg2000', (r) => mutate(j2ks[r(j2ks.length)]!.data, r, 300), (b) => j2k.decode(k, b, { compression: 33003 }));
  }, 300_000);

  it('JPEG-LS wrapper (CharLS WASM)', async () => {
    const dcm = read('dicom/jpegls/lossless-line.dcm');
    const soi = Buffer.from(dcm).indexOf(Buffer.from([0xff, 0xd8, 0xff, 0xf7]));
    const eoi = Buffer.from(dcm).lastIndexOf(Buffer.from([0xff, 0xd9]));
    const stream = dcm.slice(soi, eoi + 2);
    const jls = await jpegLsDecoder();
    // as the tile reader calls it: with the frame size the DICOM header gives
    await fuzz('jpegls', (r) => mutate(stream, r, 200), (b) => jls.decode(k, b, { width: 256, height: 256 }));
  }, 300_000);

  const alphabet = '0123456789,.!^%:/pctfulmaxsqre-_ ~\u0000\u00ff%25%5E%21defaultgraybitonalcolorjpgpngwebpgifmax';
  it('IIIF request parser (3.0 and 2.1)', async () => {
    const valid = ['full/max/0/default.jpg', '0,0,256,256/256,/0/default.jpg', 'pct:10,10,50,50/!200,200/!90/gray.png', 'square/^pct:150/180/bitonal.jpg'];
    await fuzz(
      'iiif',
      (r) => {
        let s = valid[r(valid.length)]!;
        const n = 1 + r(6);
        for (let i = 0; i < n; i++) {
          const p = r(s.length + 1);
          s = r(3) === 0 ? s.slice(0, p) + s.slice(p + 1 + r(4)) : s.slice(0, p) + alphabet.slice(r(alphabet.length), r(alphabet.length) + 1 + r(3)) + s.slice(p);
        }
        if (r(20) === 0) s = s.repeat(1 + r(40));
        return new TextEncoder().encode(s);
      },
      (b) => {
        const parts = new TextDecoder().decode(b).split('/');
        const params = [parts[0] ?? '', parts[1] ?? '', parts[2] ?? '', parts.slice(3).join('/')] as [string, string, string, string];
        return parseImageRequest(b.length % 2 === 0 ? 3 : 2, params);
      },
    );
  }, 300_000);

  // the whole HTTP surface: DeepZoom and IIIF routes, the JSON API, token prefixes, percent-escapes, through the real handler and pixel workers
  it('HTTP routes: DeepZoom and IIIF URL parsers, the JSON API, token prefixes (the real handler: never a 500)', async () => {
    const box = createImagebox({ registry: { slidesDir: `${FIX}wsi` }, pixels: { size: 1, workerUrl: await workerUrl() }, access: new AccessControl('the fuzzer secret, thirty-two bytes at least') });
    const token = await box.access!.sign('*', 3600);
    const valid = [
      '/dzi/aperio-jpeg.svs.dzi',
      '/dzi/aperio-jpeg.svs_files/12/3_2.jpeg',
      '/dzi/generic-pyramid-jpeg.tif_files/9/0_0.jpeg',
      '/dzi/strip-lzw.tif_files/5/0_0.jpg',
      '/iiif/3/aperio-jpeg.svs/info.json',
      '/iiif/2/generic-lzw-predictor.tif/0,0,512,512/256,/0/default.png',
      '/iiif/3/bigendian-lzw-pyramid.tif/pct:10,10,20,20/max/90/gray.jpg',
      '/slides/aperio-jpeg.svs',
      '/slides/aperio-jpeg.svs/associated/thumbnail.png',
      '/slides',
    ];
    const bits = ['/', '%2F', '%', '%00', '..', '_files', '.dzi', '_', '.jpeg', '99', '-1', '9999999', '/t/', token, 'x'.repeat(300), '?', '\u00e9', ',', '!'];
    try {
      await fuzz(
        'http-routes',
        (r) => {
          let s = valid[r(valid.length)]!;
          const n = r(4);
          for (let i = 0; i < n; i++) {
            const p = r(s.length + 1);
            const m = r(7); // 3-6: a number replaced (the structure kept, the values extreme)
            if (m === 0) s = s.slice(0, p) + s.slice(p + 1 + r(6));
            else if (m === 1) s = s.slice(0, p) + bits[r(bits.length)] + s.slice(p);
            else if (m === 2) s = s.slice(0, p) + alphabet.slice(r(alphabet.length), r(alphabet.length) + 1 + r(3)) + s.slice(p);
            else s = s.replace(/\d+/, r(2) === 0 ? String(EXTREMES[r(EXTREMES.length)]) : String(r(40)));
          }
          if (r(3) === 0) s = `/t/${r(2) === 0 ? token : token.slice(0, r(token.length))}${s}`;
          return new TextEncoder().encode(s);
        },
        async (b) => {
          const raw = new TextDecoder().decode(b);
          const q = raw.indexOf('?');
          const res = await box.handle({ method: 'GET', path: q < 0 ? raw : raw.slice(0, q), query: q < 0 ? '' : raw.slice(q + 1), headers: { host: 'fuzz', authorization: `Bearer ${token}` } });
          if (res.status >= 500 && res.status !== 503) throw new Error(`status ${res.status} for ${raw.slice(0, 200)}: ${String(res.body).slice(0, 200)}`);
          if (res.status >= 400) {
            const code = (JSON.parse(String(res.body)) as { error: { code: string } }).error.code;
            throw new ImageboxError(code as never, 'typed');
          }
        },
      );
    } finally {
      await box.close();
    }
  }, 300_000);

  const client = [
    encodeClientMessage({ type: MessageType.Hello, protocol: PROTOCOL, encodings: ['rgba', 'jpeg'], inFlightBytes: 1 << 20 }),
    encodeClientMessage({ type: MessageType.Open, requestId: 7, slide: 'CMU-1.svs' }),
    encodeClientMessage({ type: MessageType.View, seq: 3, handle: 1, level: 2, x: 100, y: 200, width: 1920, height: 1080, vx: 1.5, vy: -2 }),
    encodeClientMessage({ type: MessageType.Cancel, handle: 1 }),
  ];
  const server = [
    encodeServerMessage({ type: MessageType.ViewDone, seq: 3, handle: 1, tiles: 12, flags: 0 } as never),
    encodeTile({ handle: 1, level: 0, col: 3, row: 4, width: 2, height: 2, encoding: 'rgba', flags: 0, data: new Uint8Array(16) } as never),
  ];
  it('WebSocket protocol decoders (client and server messages)', async () => {
    await fuzz('ws-client', (r) => mutate(client[r(client.length)]!, r), (b) => decodeClientMessage(b));
    await fuzz('ws-server', (r) => mutate(server[r(server.length)]!, r), (b) => decodeServerMessage(b));
  }, 300_000);

  it('memory stays bounded over all the cases', () => {
    expect(process.memoryUsage().rss - rss0).toBeLessThan(1536 * 2 ** 20);
  });
});
