// Hamamatsu NDPI: test/fixtures/ndpi/synthetic.ndpi (made by make_ndpi.py: cjpeg
// streams with restart markers, the NDPI tags, 8-byte IFD pointers; OpenSlide 3.4.1
// opens it as `hamamatsu`). Properties and read_region against OpenSlide's, locally
// and from a real HTTP origin; request counts; hostile variants -> typed errors.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSlide as openInBrowser } from '../../src/browser.js';
import { nodePixelReader } from '../../src/codecs/pixel-reader-node.js';
import { MemorySource } from '../../src/io/memory-source.js';
import { openSlide } from '../../src/node/open-slide.js';
import type { Slide } from '../../src/slide/slide.js';
import { isImageboxError, type ErrorCode } from '../../src/errors.js';
import { fixNdpiOffset, openTiff } from '../../src/formats/tiff/tiff-file.js';
import { startOrigin, type Origin } from '../helpers/origin.js';
import { compare, loadPng } from '../helpers/pixels.js';

const DIR = fileURLToPath(new URL('../fixtures/ndpi/', import.meta.url));
const FILE = `${DIR}synthetic.ndpi`;
const BYTES = new Uint8Array(readFileSync(FILE));
interface Manifest {
  properties: Record<string, string>;
  levels: [number, number][];
  downsamples: number[];
  associated: Record<string, [number, number]>;
  references: { name: string; x: number; y: number; level: number; width: number; height: number; png: string }[];
}
const MANIFEST = JSON.parse(readFileSync(`${DIR}manifest.json`, 'utf8')) as Manifest;

let origin: Origin;
beforeAll(async () => {
  origin = await startOrigin();
  origin.put('/synthetic.ndpi', BYTES);
});
afterAll(async () => {
  await origin?.stop();
});

const ways: Array<{ name: string; open: () => Promise<Slide> }> = [
  { name: 'a local file', open: () => openSlide(FILE) },
  { name: 'an HTTP origin', open: () => openSlide(origin.url('/synthetic.ndpi')) },
];

describe.each(ways)('synthetic.ndpi from $name', ({ open }) => {
  let slide: Slide;
  beforeAll(async () => {
    slide = await open();
  });
  afterAll(async () => {
    await slide?.close();
  });

  it("has OpenSlide's vendor, properties and stored levels", () => {
    const os = MANIFEST.properties;
    expect(slide.vendor).toBe('hamamatsu');
    // OpenSlide's levels 3..5 are DCT-scaled copies of level 2 (1/2, 1/4, 1/8): we list stored levels only
    expect(os['openslide.level-count']).toBe('6');
    expect(slide.levels.length).toBe(3);
    for (const [k, v] of Object.entries(os)) {
      if (k === 'openslide.quickhash-1' || k === 'openslide.level-count' || /^openslide\.level\[[3-5]\]/.test(k)) continue;
      expect([k, slide.properties[k]]).toEqual([k, v]);
    }
    const extra = Object.keys(slide.properties).filter((k) => !(k in os) && k !== 'openslide.level-count');
    expect(extra).toEqual([]);
    expect(slide.mppX).toBeCloseTo(0.4567, 6);
    expect(slide.objectivePower).toBe(20);
    expect(slide.levels.map((l) => [l.width, l.height])).toEqual(MANIFEST.levels.slice(0, 3));
    expect(slide.levels[0]).toMatchObject({ tileWidth: 128, tileHeight: 8, cols: 16, rows: 192 });
    expect(slide.associatedImages).toEqual([{ name: 'macro', width: 480, height: 160 }]);
  });

  it("reads regions like OpenSlide's read_region (PSNR >= 40 dB), across restart intervals, at every level", async () => {
    const worst: string[] = [];
    for (const ref of MANIFEST.references) {
      const got = await slide.readRegion(ref.x, ref.y, ref.level, ref.width, ref.height);
      const want = await loadPng(DIR + ref.png);
      const { psnr, maxDiff } = compare(got, want, true);
      worst.push(`${ref.name} ${psnr.toFixed(1)} (max ${maxDiff})`);
      expect([ref.name, psnr >= 40]).toEqual([ref.name, true]);
    }
    console.log(`NDPI vs OpenSlide 3.4.1: ${worst.join(', ')}`);
  });

  it("decodes the macro like OpenSlide's associated image", async () => {
    const got = await slide.readAssociated('macro');
    const { psnr } = compare(got, await loadPng(`${DIR}reference/macro.png`), true);
    expect(psnr).toBeGreaterThanOrEqual(40);
  });

  it('gives each restart interval as a complete baseline JPEG (SOF of the tile size, no DRI, no RST)', async () => {
    const t = await slide.tile(0, 3, 7);
    expect(t.jpegTables).toBeUndefined();
    const b = t.bytes;
    expect([b[0], b[1], b[b.length - 2], b[b.length - 1]]).toEqual([0xff, 0xd8, 0xff, 0xd9]);
    let sof = -1;
    let dri = -1;
    let rst = 0;
    for (let i = 0; i + 1 < b.length; i++) {
      if (b[i] !== 0xff) continue;
      if (b[i + 1] === 0xc0 && sof < 0) sof = i;
      if (b[i + 1] === 0xdd) dri = i;
      if (b[i + 1]! >= 0xd0 && b[i + 1]! <= 0xd7) rst++;
    }
    expect(((b[sof + 5]! << 8) | b[sof + 6]!) ).toBe(8);
    expect(((b[sof + 7]! << 8) | b[sof + 8]!)).toBe(128);
    expect(dri).toBe(-1);
    expect(rst).toBe(0);
  });
});

describe("the browser entry (direct mode's core: fetch + range requests)", () => {
  it("reads synthetic.ndpi from its URL: OpenSlide's pixels", async () => {
    const slide = await openInBrowser(origin.url('/synthetic.ndpi'), { pixels: await nodePixelReader() });
    expect(slide.vendor).toBe('hamamatsu');
    const ref = MANIFEST.references.find((r) => r.name === 'l1_cross')!;
    const got = await slide.readRegion(ref.x, ref.y, ref.level, ref.width, ref.height);
    expect(compare(got, await loadPng(DIR + ref.png), true).psnr).toBeGreaterThanOrEqual(40);
    await slide.close();
  });
});

describe('request accounting over HTTP', () => {
  it('open, first tile, later tiles (a tile is one range read once McuStarts is resident)', async () => {
    origin.resetCounters();
    const slide = await openSlide(origin.url('/synthetic.ndpi'));
    const open = origin.log.length;
    const openRanges = origin.log.map((l) => l.range).join(' ');
    origin.resetCounters();
    await slide.tile(0, 5, 100);
    const first = origin.log.length;
    origin.resetCounters();
    await slide.tile(0, 9, 2);
    await slide.tile(0, 15, 191); // the last interval (ends in EOI)
    await slide.tile(1, 3, 40);
    const later = origin.log.length;
    origin.resetCounters();
    await slide.tile(0, 5, 100);
    const again = origin.log.length;
    console.log(`NDPI over HTTP: open ${open} requests (${openRanges}), first tile ${first}, 3 later tiles ${later}, a tile again ${again}`);
    // the 64 KiB head, then the rest of the file from IFD 0 (under 2 MiB: read to EOF), then the levels' JPEG headers
    expect(open).toBeGreaterThanOrEqual(2);
    expect(open).toBeLessThanOrEqual(3);
    expect(first).toBeLessThanOrEqual(1);
    expect(later).toBeLessThanOrEqual(3);
    expect(again).toBe(0);
    await slide.close();
  });

  it('as for a large NDPI (small read windows: McuStarts stays on the origin until a tile needs it)', async () => {
    const small = { headBytes: 4096, tailReadBytes: 4096, ifdWindowBytes: 1024, tailProbeBytes: 4096 };
    origin.resetCounters();
    const slide = await openSlide(origin.url('/synthetic.ndpi'), { tiff: small, backgroundWarm: false });
    const open = origin.log.length;
    origin.resetCounters();
    await slide.tile(0, 5, 100);
    const first = origin.log.map((l) => l.range);
    const counts: number[] = [];
    for (const [c, r] of [[9, 2], [15, 191], [0, 150]] as const) {
      origin.resetCounters();
      await slide.tile(0, c, r);
      counts.push(origin.log.length);
    }
    console.log(`NDPI over HTTP, small windows: open ${open} requests, first tile ${first.length} (${first.join(' ')}), later tiles ${counts.join(', ')}`);
    // open: the head, IFD windows round by round along the chain (with the tail probe and the
    // out-of-line values), then the levels' and macro's JPEG headers in one batch
    expect(open).toBeLessThanOrEqual(10);
    // McuStarts (12 KiB: one block) and the interval
    expect(first.length).toBe(2);
    expect(counts).toEqual([1, 1, 1]);
    await slide.close();
  });
});

/** Where IFD 0's McuStarts values and level 0's JPEG lie in the fixture. */
async function layout(): Promise<{ mcuAt: number; mcuCount: number; jpegAt: number; jpegBytes: number }> {
  const tiff = await openTiff(new MemorySource(BYTES));
  const ifd = tiff.ifds[0]!;
  const mcu = ifd.entries.get(65426)!;
  return {
    mcuAt: mcu.valueOffset,
    mcuCount: mcu.count,
    jpegAt: await ifd.arrays.get(273)!.get(0),
    jpegBytes: await ifd.arrays.get(279)!.get(0),
  };
}

async function failure(p: Promise<unknown>): Promise<ErrorCode | string> {
  try {
    await p;
    return 'no error';
  } catch (e) {
    return isImageboxError(e) ? e.code : `untyped: ${String(e)}`;
  }
}

async function openBytes(bytes: Uint8Array): Promise<Slide> {
  return openSlide(new MemorySource(bytes, 'hostile.ndpi'));
}

describe('hostile NDPI variants end in typed errors', () => {
  it('McuStarts past the strip: that tile is E_MALFORMED, the others still read', async () => {
    const { mcuAt } = await layout();
    const bad = BYTES.slice();
    new DataView(bad.buffer).setUint32(mcuAt + 4 * 40, 0x7fffff00, true); // tile 40 = (8, 2)
    const slide = await openBytes(bad);
    expect(await failure(slide.tile(0, 8, 2))).toBe('E_MALFORMED');
    expect(await failure(slide.tile(0, 7, 2))).toBe('E_MALFORMED'); // its byte count runs to the bad start too
    expect((await slide.readTile(0, 3, 100)).width).toBe(128);
  });

  it('McuStarts not on a restart marker: E_CORRUPT_TILE', async () => {
    const { mcuAt } = await layout();
    const bad = BYTES.slice();
    const v = new DataView(bad.buffer);
    v.setUint32(mcuAt + 4 * 41, v.getUint32(mcuAt + 4 * 41, true) - 5, true);
    const slide = await openBytes(bad);
    expect(await failure(slide.readTile(0, 8, 2))).toBe('E_CORRUPT_TILE');
  });

  it('McuStarts decreasing: E_MALFORMED, not a negative allocation', async () => {
    const { mcuAt } = await layout();
    const bad = BYTES.slice();
    const v = new DataView(bad.buffer);
    v.setUint32(mcuAt + 4 * 60, v.getUint32(mcuAt + 4 * 58, true), true);
    const slide = await openBytes(bad);
    expect(await failure(slide.tile(0, 11, 3))).toBe('E_MALFORMED');
  });

  it('McuStartsHighBytes is read: a high byte of 1 puts that interval 4 GiB further, past the strip (E_MALFORMED)', async () => {
    const tiff = await openTiff(new MemorySource(BYTES));
    const high = tiff.ifds[0]!.entries.get(65432)!;
    expect(high.count).toBe(3072);
    const bad = BYTES.slice();
    new DataView(bad.buffer).setUint32(high.valueOffset + 4 * 77, 1, true);
    const slide = await openBytes(bad);
    expect(await failure(slide.tile(0, 13, 4))).toBe('E_MALFORMED'); // tile 77
    expect(await failure(slide.tile(0, 12, 4))).toBe('E_MALFORMED'); // its byte count runs to it
    expect((await slide.readTile(0, 11, 4)).height).toBe(8);
  });

  it("NDPI's 32-bit offsets get the directory's high bits back (OpenSlide's rule)", () => {
    const G4 = 2 ** 32;
    expect(fixNdpiOffset(1000, 500)).toBe(500); // under 4 GiB: unchanged
    expect(fixNdpiOffset(1000, 5000)).toBe(5000); // after the directory, still under 4 GiB: no wrap below 0
    expect(fixNdpiOffset(5 * G4 + 1000, 500)).toBe(5 * G4 + 500); // the directory's high bits
    expect(fixNdpiOffset(5 * G4 + 1000, 5000)).toBe(4 * G4 + 5000); // kept below the directory
  });

  it('a truncated file: E_TRUNCATED', async () => {
    for (const cut of [0.3, 0.7, 0.99]) {
      expect([cut, await failure(openBytes(BYTES.slice(0, Math.floor(BYTES.length * cut))))]).toEqual([cut, 'E_TRUNCATED']);
    }
  });

  it('a level with McuStarts but no DRI in its JPEG: E_MALFORMED at open', async () => {
    const { jpegAt } = await layout();
    const bad = BYTES.slice();
    let dri = -1;
    for (let i = jpegAt; i < jpegAt + 2048; i++) if (bad[i] === 0xff && bad[i + 1] === 0xdd) dri = i;
    expect(dri).toBeGreaterThan(0);
    bad[dri + 1] = 0xfe; // DRI -> COM of the same length
    expect(await failure(openBytes(bad))).toBe('E_MALFORMED');
  });

  it('a JPEG whose size disagrees with the directory, and a strip that is not a JPEG: E_MALFORMED', async () => {
    const { jpegAt } = await layout();
    const bad = BYTES.slice();
    let sof = -1;
    for (let i = jpegAt; i < jpegAt + 2048 && sof < 0; i++) if (bad[i] === 0xff && bad[i + 1] === 0xc0) sof = i;
    bad[sof + 8] ^= 0x10; // width 2048 -> 2064
    expect(await failure(openBytes(bad))).toBe('E_MALFORMED');
    const notJpeg = BYTES.slice();
    notJpeg[jpegAt] = 0;
    expect(await failure(openBytes(notJpeg))).toBe('E_MALFORMED');
  });

  it('a restart interval that does not divide the MCU row: E_NOT_A_SLIDE', async () => {
    const { jpegAt } = await layout();
    const bad = BYTES.slice();
    let dri = -1;
    for (let i = jpegAt; i < jpegAt + 2048; i++) if (bad[i] === 0xff && bad[i + 1] === 0xdd) dri = i;
    bad[dri + 5] = 7; // 7 MCUs per interval, 128 per row
    expect(await failure(openBytes(bad))).toBe('E_NOT_A_SLIDE');
  });
});
