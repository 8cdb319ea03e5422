// Every fixture copied into test/fixtures/wsi opens and matches the manifest:
// what OpenSlide 3.4.1 reports where it reads the file, else the TIFF structure
// the manifest records (OpenSlide is blind to OME SubIFD pyramids, big-endian
// files and stripped TIFFs: for those the expected levels come from manifest.tiff).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ByteSource } from '../../src/io/byte-source.js';
import { FileSource } from '../../src/io/file-source.js';
import { openSlide } from '../../src/slide/open-slide.js';
import type { Slide } from '../../src/slide/slide.js';
import { fixturePath, presentFixtures, type ManifestFile } from '../helpers/fixtures.js';
import { transports } from '../helpers/transports.js';

const OPENSLIDE_BLIND = new Set(['ome-pyramid.ome.tif', 'strip-lzw.tif', 'bigendian-jpeg-tiled.tif', 'bigendian-lzw-pyramid.tif']);
/** Files that must not open, with the error code they give. */
const MUST_FAIL: Record<string, string> = { 'openslide/unopenable.tiff': 'E_NOT_A_SLIDE' };

/** The levels the TIFF structure implies (largest first), for files OpenSlide cannot read. */
function structuralLevels(f: ManifestFile) {
  const ifds = f.tiff!.ifds;
  const tiled = ifds.filter((i) => i.tiled);
  const chosen = tiled.length > 0 ? tiled : [ifds[0]!];
  const w0 = chosen[0]!.width;
  const h0 = chosen[0]!.height;
  return chosen
    .map((i) => ({
      width: i.width,
      height: i.height,
      tileWidth: i.tile ? i.tile[0] : i.width,
      tileHeight: i.tile ? i.tile[1] : Math.min(i.rowsperstrip ?? i.height, i.height),
      downsample: (w0 / i.width + h0 / i.height) / 2,
    }))
    .sort((a, b) => b.width - a.width);
}

const files = presentFixtures().filter((f) => f.openslide.openable || OPENSLIDE_BLIND.has(f.file));

for (const transport of transports) {
  describe(`manifest fixtures via ${transport.name}`, () => {
    beforeAll(() => transport.start());
    afterAll(() => transport.stop());

    for (const f of files) {
      it(`${f.file}: vendor, levels, MPP, associated images, properties`, async () => {
        const slide: Slide = await openSlide(transport.source(f.file));
        try {
          const os = f.openslide;
          if (os.openable && f.file !== 'ome-pyramid.ome.tif') {
            expect(slide.vendor).toBe(os.vendor);
            expect(slide.levels.length).toBe(os.levels!.length);
            os.levels!.forEach((l, i) => {
              expect(slide.levels[i]).toMatchObject({
                width: l.width,
                height: l.height,
                tileWidth: l.tile_width,
                tileHeight: l.tile_height,
              });
              expect(slide.levels[i]!.downsample).toBeCloseTo(l.downsample, 10);
            });
            expect(slide.mppX ?? null).toBe(os.mpp_x ?? null);
            expect(slide.mppY ?? null).toBe(os.mpp_y ?? null);
            expect(slide.objectivePower === undefined ? null : String(slide.objectivePower)).toBe(os.objective_power ?? null);
            const assoc = Object.fromEntries(slide.associatedImages.map((a) => [a.name, [a.width, a.height]]));
            expect(assoc).toEqual(os.associated_images ?? {});
            // Every property OpenSlide reports, except its content hash (not computed yet)
            // is reported identically, formatted as OpenSlide prints it.
            for (const [k, v] of Object.entries(os.properties ?? {})) {
              if (k === 'openslide.quickhash-1') continue;
              expect([k, slide.properties[k]]).toEqual([k, v]);
            }
          } else {
            // OpenSlide 3.4.1 cannot read this file's pyramid (see the file comment): follow the TIFF structure.
            const expected = f.file === 'ome-pyramid.ome.tif' ? f.tiff!.ifds.map((i) => ({
              width: i.width, height: i.height, tileWidth: i.tile![0], tileHeight: i.tile![1],
              downsample: (f.tiff!.ifds[0]!.width / i.width + f.tiff!.ifds[0]!.height / i.height) / 2,
            })) : structuralLevels(f);
            expect(slide.levels.length).toBe(expected.length);
            expected.forEach((l, i) => {
              expect(slide.levels[i]).toMatchObject({ width: l.width, height: l.height, tileWidth: l.tileWidth, tileHeight: l.tileHeight });
              expect(slide.levels[i]!.downsample).toBeCloseTo(l.downsample, 10);
            });
            expect(slide.notes.length).toBeGreaterThan(0);
            if (f.file === 'ome-pyramid.ome.tif') {
              expect(slide.vendor).toBe('ome-tiff');
              expect([slide.mppX, slide.mppY]).toEqual([0.25, 0.25]); // OME-XML PhysicalSizeX/Y
              // OpenSlide's own level 0 agrees.
              expect(slide.levels[0]).toMatchObject({ width: os.levels![0]!.width, height: os.levels![0]!.height });
            } else {
              expect(slide.vendor).toBe('generic-tiff');
            }
          }
          // The first and the last tile of every level can be read.
          for (let i = 0; i < slide.levels.length; i++) {
            const l = slide.levels[i]!;
            const first = await slide.tile(i, 0, 0);
            const last = await slide.tile(i, l.cols - 1, l.rows - 1);
            // (Aperio tiles can be missing, see the dedicated test below; a present one has bytes.)
            if (!first.missing) expect(first.bytes.length).toBeGreaterThan(0);
            expect(last.validWidth).toBe(l.width - (l.cols - 1) * l.tileWidth);
            expect(last.validHeight).toBe(l.height - (l.rows - 1) * l.tileHeight);
          }
        } finally {
          await slide.close();
        }
      });
    }

    for (const [file, code] of Object.entries(MUST_FAIL)) {
      it(`${file}: ${code}`, async () => {
        await expect(openSlide(transport.source(file))).rejects.toMatchObject({ code });
      });
    }
  });
}

describe('tile contents (file)', () => {
  it('aperio-missing-tiles.svs: zero-length tiles are reported missing, not as errors', async () => {
    const slide = await openSlide(new FileSource(fixturePath('aperio-missing-tiles.svs')));
    const missing = [
      [0, 1, 1],
      [0, 6, 4],
      [1, 1, 0],
    ] as const;
    for (const [l, c, r] of missing) {
      const t = await slide.tile(l, c, r);
      expect(t.missing).toBe(true);
      expect(t.bytes.length).toBe(0);
    }
    expect((await slide.tile(0, 0, 0)).missing).toBe(false);
    // OpenSlide's propagation: level-1 tiles that concatenate a missing level-0 tile
    // are missing too (level-0 (1,1) -> level-1 (0,0); (6,4) -> (1,1) with 3 rows per row).
    expect((await slide.tile(1, 0, 0)).missing).toBe(true);
    expect((await slide.tile(1, 1, 1)).missing).toBe(true);
    expect((await slide.tile(1, 0, 1)).missing).toBe(false);
    await slide.close();
  });

  it('aperio-jpeg.svs: tiles carry the stored bytes, JPEGTables and the TIFF facts a codec needs', async () => {
    const source: ByteSource = new FileSource(fixturePath('aperio-jpeg.svs'));
    const slide = await openSlide(source);
    const t = await slide.tile(0, 3, 2);
    expect(t).toMatchObject({ compression: 7, photometric: 2, samplesPerPixel: 3, bitsPerSample: 8, width: 256, height: 256 });
    expect(t.ycbcrSubsampling).toEqual([2, 2]); // the stale tag Aperio writes; the stream is 4:4:4
    expect(t.jpegTables!.length).toBe(289);
    expect([...t.bytes.subarray(0, 2)]).toEqual([0xff, 0xd8]); // SOI
    expect([...t.bytes.subarray(-2)]).toEqual([0xff, 0xd9]); // EOI
    expect([...t.jpegTables!.subarray(0, 2)]).toEqual([0xff, 0xd8]);
    const strips = await slide.associatedStrips('macro');
    expect(strips.length).toBe(7); // 431 rows in 64-row strips
    expect(strips.every((s) => s.bytes[0] === 0xff && s.bytes[1] === 0xd8)).toBe(true);
    await slide.close();
  });
});
