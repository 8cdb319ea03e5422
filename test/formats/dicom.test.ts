// DICOM WSI, read over ranges: the OrthancWSIDicomizer conversion of
// generic-pyramid-jpeg.tif (JPEG frames passed through, per-frame positions)
// against the source TIFF and OpenSlide's renders of it, locally and from a
// real HTTP origin (with the origin's request counts); OpenSlide's boxes_*.dcm
// against their pydicom references; pydicom-built variants for each way of
// finding frames (no offset table, Extended Offset Table) and for native
// frames in Implicit VR; JPEG 2000 frames; hostile files ending in typed errors.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSlide as openInBrowser } from '../../src/browser.js';
import { nodePixelReader } from '../../src/codecs/pixel-reader-node.js';
import { MemorySource } from '../../src/io/memory-source.js';
import { openSlide } from '../../src/node/open-slide.js';
import type { Slide } from '../../src/slide/slide.js';
import { fixture, fixturePath, WSI_DIR } from '../helpers/fixtures.js';
import { startOrigin, type Origin } from '../helpers/origin.js';
import { colourError, compare, loadPng } from '../helpers/pixels.js';

const DICOM = fileURLToPath(new URL('../fixtures/dicom/', import.meta.url));
const SERIES = `${DICOM}generic-pyramid-jpeg`;
const SOURCE = 'generic-pyramid-jpeg.tif';

function seriesFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.dcm')).sort();
}

/** The entropy-coded data of a JPEG stream: from its (last) SOS marker to its EOI (a DICOM fragment pads to even length after it). */
function scanData(jpeg: Uint8Array): Uint8Array {
  let end = jpeg.length;
  while (end >= 2 && !(jpeg[end - 2] === 0xff && jpeg[end - 1] === 0xd9)) end--;
  for (let i = end - 2; i >= 0; i--) if (jpeg[i] === 0xff && jpeg[i + 1] === 0xda) return jpeg.subarray(i, end);
  throw new Error('no SOS');
}

let origin: Origin;
beforeAll(async () => {
  origin = await startOrigin();
  for (const dir of ['generic-pyramid-jpeg', 'boxes', 'jpeg2000', 'jpegls']) {
    for (const f of seriesFiles(DICOM + dir)) origin.put(`/${dir}/${f}`, readFileSync(`${DICOM}${dir}/${f}`));
  }
});
afterAll(async () => {
  await origin?.stop();
});

const urls = (dir: string): string[] => seriesFiles(DICOM + dir).map((f) => origin.url(`/${dir}/${f}`));

const ways: Array<{ name: string; open: () => Promise<Slide> }> = [
  { name: 'a local folder', open: () => openSlide(SERIES) },
  { name: 'URLs on an HTTP origin', open: () => openSlide(urls('generic-pyramid-jpeg')) },
];

describe.each(ways)('generic-pyramid-jpeg.tif converted to DICOM, opened from $name', ({ open }) => {
  let slide: Slide;
  let tiff: Slide;
  beforeAll(async () => {
    slide = await open();
    tiff = await openSlide(fixturePath(SOURCE));
  });
  afterAll(async () => {
    await slide?.close();
    await tiff?.close();
  });

  it('has the source slide\'s levels and sizes, MPP from Pixel Spacing, vendor dicom', () => {
    const os = fixture(SOURCE).openslide;
    expect(slide.vendor).toBe('dicom');
    expect(slide.levels.length).toBe(os.levels!.length);
    os.levels!.forEach((l, i) => {
      expect(slide.levels[i]).toMatchObject({ width: l.width, height: l.height, tileWidth: l.tile_width, tileHeight: l.tile_height });
      expect(slide.levels[i]!.downsample).toBeCloseTo(l.downsample, 10);
    });
    // converted with --imaged-width 0.768 --imaged-height 1.024 (mm): Pixel Spacing 0.000250000012 mm
    expect(slide.properties['dicom.PixelSpacing']).toBe('0.000250000012\\0.000250000012');
    expect(slide.mppX).toBe(0.250000012);
    expect(slide.mppY).toBe(0.250000012);
    expect(slide.properties['openslide.mpp-x']).toBe('0.250000012');
    expect(slide.properties['dicom.TransferSyntaxUID']).toBe('1.2.840.10008.1.2.4.50');
    expect(slide.properties['dicom.level[0].frame-index']).toBe('basic-offset-table');
    // the optical path's ICC profile is read (an ICC header: size, then 'acsp' at 36)
    const icc = slide.iccProfile!;
    expect(icc.length).toBe(6922);
    expect(String.fromCharCode(...icc.subarray(36, 40))).toBe('acsp');
    expect(slide.associatedImages).toEqual([]);
  });

  it('JPEG frames are the source tiles passed through: same entropy-coded bytes, same decoded pixels', async () => {
    for (let level = 0; level < slide.levels.length; level++) {
      const l = slide.levels[level]!;
      for (const [c, r] of [[0, 0], [l.cols - 1, l.rows - 1], [l.cols >> 1, l.rows >> 1]] as const) {
        const d = await slide.tile(level, c, r);
        const t = await tiff.tile(level, c, r);
        expect(d.missing).toBe(false);
        expect([...d.bytes.subarray(0, 2)]).toEqual([0xff, 0xd8]); // a complete stream: no JPEGTables needed
        expect(d.jpegTables).toBeUndefined();
        expect(Buffer.from(scanData(d.bytes)).equals(Buffer.from(scanData(t.bytes)))).toBe(true);
        const a = await slide.readTile(level, c, r);
        const b = await tiff.readTile(level, c, r);
        expect(compare(a, b, true).maxDiff).toBe(0);
      }
    }
  });

  it('reads regions equal to OpenSlide\'s renders of the source (PSNR >= 40 dB)', async () => {
    const refs = fixture(SOURCE).openslide.references!.filter((r) => r.call === 'read_region');
    expect(refs.length).toBeGreaterThan(5);
    const worst: number[] = [];
    for (const ref of refs) {
      const a = ref.args as { location: [number, number]; level: number; size: [number, number] };
      const got = await slide.readRegion(a.location[0], a.location[1], a.level, a.size[0], a.size[1]);
      const want = await loadPng(WSI_DIR + ref.png);
      const { psnr } = compare(got, want, true);
      worst.push(psnr);
      expect([ref.name, psnr >= 40]).toEqual([ref.name, true]);
    }
    console.log(`DICOM vs OpenSlide renders of ${SOURCE}: PSNR min ${Math.min(...worst).toFixed(2)} dB over ${refs.length} regions`);
  });
});

describe('request accounting over HTTP (generic-pyramid-jpeg as 5 DICOM files)', () => {
  it('open, first tile, later tiles', async () => {
    origin.resetCounters();
    const slide = await openSlide(urls('generic-pyramid-jpeg'));
    const open = origin.log.length;
    origin.resetCounters();
    await slide.tile(0, 5, 5);
    const first = origin.log.length;
    origin.resetCounters();
    await slide.tile(0, 9, 2);
    await slide.tile(1, 3, 3);
    await slide.tile(2, 1, 1);
    const later = origin.log.length;
    origin.resetCounters();
    await slide.tile(0, 5, 5); // again: the scheduler's cache
    const again = origin.log.length;
    console.log(`DICOM over HTTP: open ${open} requests (5 files), first tile ${first}, 3 later tiles on 3 levels ${later}, a tile again ${again}`);
    // one 64 KiB header read per file (in parallel); the two files shorter than that are read
    // again exactly (HttpSource's way with a short file); and for the three files whose last
    // frame lies beyond the header window, its 8-byte item header (the Basic Offset Table gives
    // no length for the last frame): 5 + 2 + 3
    expect(open).toBeGreaterThanOrEqual(5);
    expect(open).toBeLessThanOrEqual(10);
    expect(first).toBe(1);
    expect(later).toBeLessThanOrEqual(3);
    expect(again).toBe(0);
    await slide.close();
  });
});

describe('the browser entry (direct mode\'s core: fetch + range requests)', () => {
  it('reads the DICOM series from its URLs: the same tiles and pixels as from the folder', async () => {
    const slide = await openInBrowser(urls('generic-pyramid-jpeg'), { pixels: await nodePixelReader() });
    const local = await openSlide(SERIES);
    expect(slide.levels).toEqual(local.levels);
    const a = await slide.tile(1, 2, 3);
    const b = await local.tile(1, 2, 3);
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    expect(compare(await slide.readRegion(1000, 700, 1, 300, 200), await local.readRegion(1000, 700, 1, 300, 200), true).maxDiff).toBe(0);
    await slide.close();
    await local.close();
  });
});

describe('boxes_0.dcm + boxes_1.dcm (OpenSlide test suite) against their pydicom references', () => {
  it('opened as a folder: one 16x16 JPEG level (a 64x64 frame), the uncompressed THUMBNAIL instance as "thumbnail"', async () => {
    const slide = await openSlide(`${DICOM}boxes`);
    expect(slide.levels).toHaveLength(1);
    expect(slide.levels[0]).toMatchObject({ width: 16, height: 16, tileWidth: 64, tileHeight: 64 });
    expect(slide.associatedImages).toEqual([{ name: 'thumbnail', width: 16, height: 16 }]);
    expect(slide.mppX).toBe(0.499);
    expect(slide.properties['dicom.Manufacturer']).toBe('Leica Biosystems');
    expect(slide.properties['dicom.DimensionOrganizationType']).toBe('TILED_FULL');
    expect(slide.properties['dicom.level[0].frame-index']).toBe('fragment-walk'); // an empty Basic Offset Table
    const level0 = await slide.readRegion(0, 0, 0, 16, 16);
    const ref0 = await loadPng(`${DICOM}boxes/reference/boxes_0.png`);
    const e0 = compare(level0, ref0, true);
    console.log(`boxes_0 (JPEG) vs pydicom+Pillow: PSNR ${e0.psnr.toFixed(2)} dB, max diff ${e0.maxDiff}`);
    expect(e0.psnr).toBeGreaterThanOrEqual(40);
    const thumb = await slide.readAssociated('thumbnail');
    const ref1 = await loadPng(`${DICOM}boxes/reference/boxes_1.png`);
    expect(compare(thumb, ref1, true).maxDiff).toBe(0); // native frames: exact
    await slide.close();
  });

  it('the same over HTTP, and one instance alone is a one-level slide', async () => {
    const slide = await openSlide(urls('boxes'));
    expect(slide.associatedImages.map((a) => a.name)).toEqual(['thumbnail']);
    const ref0 = await loadPng(`${DICOM}boxes/reference/boxes_0.png`);
    expect(compare(await slide.readRegion(0, 0, 0, 16, 16), ref0, true).psnr).toBeGreaterThanOrEqual(40);
    await slide.close();
    const one = await openSlide(`${DICOM}boxes/boxes_0.dcm`);
    expect(one.levels).toHaveLength(1);
    expect(one.associatedImages).toEqual([]);
    await one.close();
  });
});

describe('variants (pydicom, from the converted level 3 and 4)', () => {
  it('no Basic Offset Table (fragment walk) and an Extended Offset Table find the very frames the Basic Offset Table gives', async () => {
    const series = await openSlide(SERIES);
    for (const [file, how] of [['no-offset-table.dcm', 'fragment-walk'], ['extended-offset-table.dcm', 'extended-offset-table']] as const) {
      const slide = await openSlide(`${DICOM}variants/${file}`);
      expect(slide.properties['dicom.level[0].frame-index']).toBe(how);
      expect(slide.levels[0]).toMatchObject({ width: 512, height: 384, cols: 2, rows: 2 });
      for (const [c, r] of [[0, 0], [1, 0], [0, 1], [1, 1]] as const) {
        const a = await slide.tile(0, c, r);
        const b = await series.tile(3, c, r);
        expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
      }
      await slide.close();
    }
    await series.close();
  });

  it('TILED_SPARSE with a grid cell no frame covers: that tile is missing (transparent), the others are the frames', async () => {
    const series = await openSlide(SERIES);
    const slide = await openSlide(`${DICOM}variants/sparse-missing.dcm`);
    expect(slide.properties['dicom.DimensionOrganizationType']).toBe('TILED_SPARSE');
    const gone = await slide.tile(0, 1, 1);
    expect(gone.missing).toBe(true);
    for (const [c, r] of [[0, 0], [1, 0], [0, 1]] as const) {
      expect(Buffer.from((await slide.tile(0, c, r)).bytes).equals(Buffer.from((await series.tile(3, c, r)).bytes))).toBe(true);
    }
    const region = await slide.readRegion(256, 256, 0, 256, 128);
    expect(region.data.every((v, i) => (i & 3) !== 3 || v === 0)).toBe(true); // alpha 0 throughout
    await slide.close();
    await series.close();
  });

  it('a level split over two instances (a TILED_FULL concatenation, Concatenation Frame Offset Number 0 and 6) is one level', async () => {
    const series = await openSlide(SERIES);
    const slide = await openSlide(`${DICOM}concatenated`);
    expect(slide.levels).toHaveLength(1);
    expect(slide.levels[0]).toMatchObject({ width: 1024, height: 768, cols: 4, rows: 3 });
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 4; c++) {
        expect(Buffer.from((await slide.tile(0, c, r)).bytes).equals(Buffer.from((await series.tile(2, c, r)).bytes))).toBe(true);
      }
    }
    const ref = await loadPng(`${WSI_DIR}reference/generic-pyramid-jpeg_tif/L2_tile_c2_r1.png`);
    expect(compare(await slide.readRegion(2048 / 4, 1024 / 4, 0, 256, 256), ref, true).psnr).toBeGreaterThanOrEqual(40);
    await slide.close();
    await series.close();
  });

  it('the fragment walk is lazy: open reads no frame header, a tile walks to its frame, a later one from there', async () => {
    const o = await startOrigin();
    o.put('/walk.dcm', file(`${DICOM}variants/no-offset-table.dcm`));
    // a 4 KiB head, so that the pixel data lies beyond the header window
    const slide = await openSlide([o.url('/walk.dcm')], { dicom: { headBytes: 4096 } });
    const open = o.log.length;
    const at = (): string => o.log.slice(-3).map((l) => l.range).join(' ');
    expect(slide.levelResident(0)).toBe(false);
    o.resetCounters();
    const t0 = await slide.tile(0, 0, 0);
    const first = o.log.length;
    expect(slide.levelResident(0)).toBe(true); // a 4-cell level: its arrays are small, walked whole at once
    o.resetCounters();
    const t3 = await slide.tile(0, 1, 1);
    const later = o.log.length;
    console.log(`fragment walk over HTTP: open ${open} requests (header only), first tile ${first} (${at()}), later tile ${later}`);
    const series = await openSlide(SERIES);
    expect(Buffer.from(t0.bytes).equals(Buffer.from((await series.tile(3, 0, 0)).bytes))).toBe(true);
    expect(Buffer.from(t3.bytes).equals(Buffer.from((await series.tile(3, 1, 1)).bytes))).toBe(true);
    expect(open).toBeLessThanOrEqual(3);
    expect(first).toBeLessThanOrEqual(6);
    expect(later).toBeLessThanOrEqual(1);
    await series.close();
    await slide.close();
    await o.stop();
  });

  it('native RGB frames in Implicit VR Little Endian (TILED_FULL) equal OpenSlide\'s render exactly', async () => {
    const slide = await openSlide(`${DICOM}variants/native-rgb-implicit.dcm`);
    expect(slide.properties['dicom.level[0].frame-index']).toBe('native');
    expect(slide.levels[0]).toMatchObject({ width: 256, height: 192 });
    const got = await slide.readRegion(0, 0, 0, 256, 192);
    const want = await loadPng(`${WSI_DIR}reference/generic-pyramid-jpeg_tif/L4_tile_c0_r0.png`);
    expect(compare(got, want, true).maxDiff).toBe(0);
    await slide.close();
  });
});

describe('JPEG-LS frames (CharLS WASM; DCMTK dcmcjpls of the native frame)', () => {
  it('lossless (line-interleaved and planar) decodes to the native frame exactly, near-lossless (NEAR 2) within 2 per sample; locally and over HTTP', async () => {
    const native = await openSlide(`${DICOM}variants/native-rgb-implicit.dcm`);
    const want = await native.readRegion(0, 0, 0, 256, 192);
    await native.close();
    for (const [name, ts, bound] of [
      ['lossless-line', '1.2.840.10008.1.2.4.80', 0],
      ['lossless-planar', '1.2.840.10008.1.2.4.80', 0],
      ['near-lossless-sample', '1.2.840.10008.1.2.4.81', 2],
    ] as const) {
      for (const slide of [await openSlide(`${DICOM}jpegls/${name}.dcm`), await openSlide([origin.url(`/jpegls/${name}.dcm`)])]) {
        expect(slide.properties['dicom.TransferSyntaxUID']).toBe(ts);
        expect(slide.levels[0]).toMatchObject({ width: 256, height: 192 });
        const got = await slide.readRegion(0, 0, 0, 256, 192);
        const c = compare(got, want, true);
        expect(c.maxDiff, name).toBeLessThanOrEqual(bound);
        if (bound > 0) expect(c.maxDiff, `${name} is lossy`).toBeGreaterThan(0);
        await slide.close();
      }
    }
  });

  it('a damaged JPEG-LS frame: E_CORRUPT_TILE, and the next read of a good one works', async () => {
    const bytes = file(`${DICOM}jpegls/lossless-line.dcm`).slice();
    // the codestream's SOF55 marker (FF F7) turned into garbage: CharLS refuses the frame
    const sof = Buffer.from(bytes).indexOf(Buffer.from([0xff, 0xd8, 0xff, 0xf7]));
    bytes[sof + 3] = 0x00;
    const bad = await openSlide(new MemorySource(bytes, 'damaged'));
    await expect(bad.readRegion(0, 0, 0, 64, 64)).rejects.toMatchObject({ code: 'E_CORRUPT_TILE' });
    await bad.close();
    const good = await openSlide(`${DICOM}jpegls/lossless-line.dcm`);
    expect((await good.readRegion(0, 0, 0, 64, 64)).width).toBe(64);
    await good.close();
  });
});

describe('JPEG 2000 frames (lossless codestreams of OpenSlide\'s renders of source levels 3 and 4; YBR_RCT and RGB)', () => {
  it('decode to those renders exactly, locally and over HTTP', async () => {
    for (const slide of [await openSlide(`${DICOM}jpeg2000`), await openSlide(urls('jpeg2000'))]) {
      expect(slide.properties['dicom.TransferSyntaxUID']).toBe('1.2.840.10008.1.2.4.90');
      expect(slide.levels.map((l) => [l.width, l.height])).toEqual([[512, 384], [256, 192]]);
      // source level 3 region (2048,2048) 256x128 = this slide's level 0 at (256,256)
      const a = compare(await slide.readRegion(256, 256, 0, 256, 128), await loadPng(`${WSI_DIR}reference/generic-pyramid-jpeg_tif/L3_tile_c1_r1.png`), true);
      const b = compare(await slide.readRegion(0, 0, 1, 256, 192), await loadPng(`${WSI_DIR}reference/generic-pyramid-jpeg_tif/L4_tile_c0_r0.png`), true);
      expect(slide.properties['dicom.PhotometricInterpretation']).toBe('YBR_RCT');
      expect([a.maxDiff, b.maxDiff]).toEqual([0, 0]);
      await slide.close();
    }
  });
});

// --- hostile input -------------------------------------------------------------

const file = (p: string): Uint8Array => new Uint8Array(readFileSync(p));

/** A Part 10 file: preamble, DICM, File Meta (transfer syntax), then `body` (Explicit VR LE elements). */
function part10(body: Uint8Array, ts = '1.2.840.10008.1.2.1'): Uint8Array {
  const uid = ts.length % 2 ? ts + '\0' : ts;
  const tsEl = el(0x0002, 0x0010, 'UI', new TextEncoder().encode(uid));
  const len = el(0x0002, 0x0000, 'UL', u32(tsEl.length));
  const out = new Uint8Array(132 + len.length + tsEl.length + body.length);
  out.set(new TextEncoder().encode('DICM'), 128);
  out.set(len, 132);
  out.set(tsEl, 132 + len.length);
  out.set(body, 132 + len.length + tsEl.length);
  return out;
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

function el(group: number, element: number, vr: string, value: Uint8Array): Uint8Array {
  const long = ['OB', 'OW', 'SQ', 'UN', 'UT', 'OV'].includes(vr);
  const out = new Uint8Array((long ? 12 : 8) + value.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, group, true);
  v.setUint16(2, element, true);
  out[4] = vr.charCodeAt(0);
  out[5] = vr.charCodeAt(1);
  if (long) v.setUint32(8, value.length, true);
  else v.setUint16(6, value.length, true);
  out.set(value, long ? 12 : 8);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A sequence of undefined length holding one undefined-length item holding `inner`. */
function nest(inner: Uint8Array): Uint8Array {
  const head = Uint8Array.of(0x29, 0x52, 0x30, 0x92, 0x53, 0x51, 0, 0, 0xff, 0xff, 0xff, 0xff); // (5200,9230) SQ u/l
  const item = Uint8Array.of(0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xff);
  const itemEnd = Uint8Array.of(0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0);
  const seqEnd = Uint8Array.of(0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0);
  return concat(head, item, inner, itemEnd, seqEnd);
}

describe('hostile DICOM files end in typed errors', () => {
  const open = (bytes: Uint8Array) => openSlide(new MemorySource(bytes, 'hostile.dcm'));

  it('a file cut inside its pixel data: E_TRUNCATED', async () => {
    const whole = file(`${SERIES}/wsi-000003.dcm`);
    await expect(open(whole.subarray(0, whole.length - 5000))).rejects.toMatchObject({ code: 'E_TRUNCATED' });
    await expect(open(whole.subarray(0, 2000))).rejects.toMatchObject({ code: 'E_TRUNCATED' });
  });

  it('a huge length in the header: E_TOO_LARGE, never an allocation of it', async () => {
    const huge = el(0x0009, 0x0010, 'OB', new Uint8Array(0));
    new DataView(huge.buffer).setUint32(8, 0xfffffff0, true);
    await expect(open(part10(concat(huge, new Uint8Array(64))))).rejects.toMatchObject({ code: 'E_TOO_LARGE' });
    // and a length past the end of a small file
    const past = el(0x0009, 0x0010, 'OB', new Uint8Array(0));
    new DataView(past.buffer).setUint32(8, 1_000_000, true);
    await expect(open(part10(concat(past, new Uint8Array(64))))).rejects.toMatchObject({ code: 'E_TRUNCATED' });
  });

  it('sequences nested too deep: E_MALFORMED', async () => {
    let body: Uint8Array = el(0x0008, 0x0060, 'CS', new TextEncoder().encode('SM'));
    for (let i = 0; i < 40; i++) body = nest(body);
    await expect(open(part10(body))).rejects.toMatchObject({ code: 'E_MALFORMED', message: expect.stringContaining('nested deeper') });
  });

  it('not a WSI instance, a big-endian data set, JPEG-LS over YBR samples: E_NOT_A_SLIDE', async () => {
    const ct = el(0x0008, 0x0016, 'UI', new TextEncoder().encode('1.2.840.10008.5.1.4.1.1.2\0'));
    await expect(open(part10(ct))).rejects.toMatchObject({ code: 'E_NOT_A_SLIDE', message: expect.stringContaining('SOP class') });
    await expect(open(part10(ct, '1.2.840.10008.1.2.2'))).rejects.toMatchObject({ code: 'E_NOT_A_SLIDE' });
    const wsi = file(`${SERIES}/wsi-000004.dcm`);
    // rewrite the transfer syntax in place: ...4.50 -> ...4.80 (same length)
    const ls = wsi.slice();
    const at = Buffer.from(ls).indexOf('1.2.840.10008.1.2.4.50');
    ls.set(new TextEncoder().encode('1.2.840.10008.1.2.4.80'), at);
    await expect(open(ls)).rejects.toMatchObject({ code: 'E_NOT_A_SLIDE', message: expect.stringContaining('JPEG-LS') });
  });

  it('a damaged item tag in the pixel data: E_MALFORMED when the walk meets it; a folder that holds no DICOM file: E_NOT_A_SLIDE', async () => {
    const bytes = file(`${DICOM}variants/no-offset-table.dcm`).slice();
    // the walk meets a non-item where the second fragment's header should be
    const first = Buffer.from(bytes).indexOf(Buffer.from([0xfe, 0xff, 0x00, 0xe0, 0x00, 0x00, 0x00, 0x00])); // the empty BOT
    const frag = first + 8;
    const len = new DataView(bytes.buffer).getUint32(frag + 4, true);
    bytes[frag + 8 + len] = 0x12;
    const slide = await open(bytes); // the walk is lazy: open reads no frame header
    await expect(slide.tile(0, 1, 0)).rejects.toMatchObject({ code: 'E_MALFORMED' });
    await slide.close();
    // more fragments than frames (a frame of two fragments) is refused, not mis-read
    const one = file(`${DICOM}boxes/boxes_0.dcm`);
    const end = Buffer.from(one).lastIndexOf(Buffer.from([0xfe, 0xff, 0xdd, 0xe0]));
    const extra = concat(one.subarray(0, end), Uint8Array.of(0xfe, 0xff, 0x00, 0xe0, 2, 0, 0, 0, 0xff, 0xd9), one.subarray(end));
    await expect(open(extra)).rejects.toMatchObject({ code: 'E_NOT_A_SLIDE', message: expect.stringContaining('more fragments') });
    await expect(openSlide(`${WSI_DIR}openslide`)).rejects.toMatchObject({ code: 'E_NOT_A_SLIDE' });
  });
});
