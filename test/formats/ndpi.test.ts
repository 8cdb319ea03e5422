// Hamamatsu NDPI: test/fixtures/ndpi/synthetic.ndpi (made by make_ndpi.py: cjpeg
// streams with restart markers, the NDPI tags, 8-byte IFD pointers; OpenSlide 3.4.1
// opens it as `hamamatsu`). Properties and read_region against OpenSlide's, locally
// and from a real HTTP origin; request counts; hostile variants -> typed errors.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemorySource } from '../../src/io/memory-source.js';
import { openSlide } from '../../src/node/open-slide.js';
import type { Slide } from '../../src/slide/slide.js';
import { isImageboxError } from '../../src/errors.js';
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
