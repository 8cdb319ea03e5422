// Multi-channel (fluorescence) OME-TIFF: 3 channels uint16 and 4 channels uint8,
// one IFD per channel with its pyramid in SubIFDs, made by tifffile
// (test/fixtures/ome-channels/make_fixtures.py). Channel values against
// tifffile's reading of the same files (exact), locally and from an HTTP origin;
// channel names/colours/types and histogram default limits in the properties;
// the RGBA composite against one computed here from tifffile's values.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSlide } from '../../src/node/open-slide.js';
import { MemorySource } from '../../src/io/memory-source.js';
import { isImageboxError } from '../../src/errors.js';
import type { Slide } from '../../src/slide/slide.js';
import { startOrigin, type Origin } from '../helpers/origin.js';
import { OME_CHANNELS_DIR, reference, referenceComposite, REFS, sortedPercentiles } from '../helpers/ome-channels.js';

function hex(c: string): [number, number, number] {
  return [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)) as [number, number, number];
}

let origin: Origin;
beforeAll(async () => {
  origin = await startOrigin();
  for (const f of [...REFS.map((r) => r.file), 'fluo-2c-u16-be.ome.tif']) origin.put(`/${f}`, readFileSync(OME_CHANNELS_DIR + f));
});
afterAll(async () => {
  await origin.stop();
});

for (const r of REFS) {
  describe(r.file, () => {
    const where = [
      { name: 'local file', open: () => openSlide(OME_CHANNELS_DIR + r.file) },
      { name: 'HTTP origin', open: () => openSlide(origin.url(`/${r.file}`)) },
    ];
    for (const w of where) {
      it(`${w.name}: every channel's values equal tifffile's, at every level and across tile borders`, async () => {
        const slide = await w.open();
        try {
          expect(slide.vendor).toBe('ome-tiff');
          expect(slide.levels.map((l) => [l.width, l.height])).toEqual(r.levels);
          expect(slide.levels[0]).toMatchObject({ tileWidth: 256, tileHeight: 256 });
          // whole levels 1 and 2
          for (const level of [1, 2]) {
            const [lw, lh] = r.levels[level]!;
            const ref = reference(r.file, `level${level}`, r.channels, r.bits);
            const got = await slide.readChannels(level, 0, 0, lw, lh);
            expect(got).toHaveLength(r.channels);
            got.forEach((p, c) => {
              expect(p.data).toBeInstanceOf(r.bits === 16 ? Uint16Array : Uint8Array);
              expect([p.width, p.height]).toEqual([lw, lh]);
              expect(Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength).equals(Buffer.from(ref[c]!.buffer))).toBe(true);
            });
          }
          // level 0, x 200..460 (or the image's right edge), y 180..290: four tiles (borders at 256), the bottom ones edge tiles
          const ref0 = reference(r.file, 'level0-region', r.channels, r.bits);
          const region = await slide.readChannels(0, 200, 180, Math.min(460, r.levels[0]![0]) - 200, 110);
          region.forEach((p, c) => expect(Array.from(p.data)).toEqual(Array.from(ref0[c]!)));
          // one channel alone, overhanging the image's right and bottom edges: zeros outside
          const [lw2, lh2] = r.levels[2]!;
          const ref2 = reference(r.file, 'level2', r.channels, r.bits)[r.channels - 1]!;
          const [over] = await slide.readChannels(2, lw2 - 30, lh2 - 25, 60, 40, [r.channels - 1]);
          expect(over!.width * over!.height).toBe(2400);
          for (let y = 0; y < 40; y++) {
            for (let x = 0; x < 60; x++) {
              const gx = lw2 - 30 + x;
              const gy = lh2 - 25 + y;
              expect(over!.data[y * 60 + x]).toBe(gx < lw2 && gy < lh2 ? ref2[gy * lw2 + gx] : 0);
            }
          }
        } finally {
          await slide.close();
        }
      });
    }

    it('lists the channels: names and colours from the OME-XML, data type, histogram default contrast limits', async () => {
      const slide = await openSlide(OME_CHANNELS_DIR + r.file);
      try {
        const ref2 = reference(r.file, 'level2', r.channels, r.bits);
        const ch = slide.channels!;
        expect(ch.map((c) => c.name)).toEqual(r.names);
        expect(ch.map((c) => c.color)).toEqual(r.colors.map(hex));
        expect(ch.every((c) => c.dataType === `uint${r.bits}`)).toBe(true);
        expect(slide.properties['ome.channel-count']).toBe(String(r.channels));
        ch.forEach((c, i) => {
          const limits = sortedPercentiles(ref2[i]!);
          expect(limits[1]).toBeGreaterThan(limits[0]);
          expect(c.contrastLimits).toEqual(limits);
          expect(slide.properties[`ome.channel[${i}].name`]).toBe(r.names[i]);
          expect(slide.properties[`ome.channel[${i}].color`]).toBe(r.colors[i]);
          expect(slide.properties[`ome.channel[${i}].data-type`]).toBe(`uint${r.bits}`);
          expect(slide.properties[`ome.channel[${i}].contrast-limits`]).toBe(`${limits[0]},${limits[1]}`);
        });
      } finally {
        await slide.close();
      }
    });

    it('RGBA reads are the composite of the channels (default display, and one given)', async () => {
      const slide = await openSlide(OME_CHANNELS_DIR + r.file);
      try {
        const [lw, lh] = r.levels[1]!;
        const ref1 = reference(r.file, 'level1', r.channels, r.bits);
        const ch = slide.channels!;
        const whole = await slide.readLevelRegion(1, 0, 0, lw, lh);
        const want = referenceComposite(ref1, ch.map((c) => ({ color: c.color, limits: c.contrastLimits })), lw * lh);
        expect(Buffer.from(whole.data).equals(Buffer.from(want))).toBe(true);
        // a display: the last channel off, the first in white with a narrow window
        const lo = ch[0]!.contrastLimits[0];
        const display = ch.slice(0, -1).map((c) => ({ index: c.index, color: c.color, limits: c.contrastLimits }));
        display[0] = { index: 0, color: [255, 255, 255], limits: [lo, lo + 10] };
        const shown = await slide.readLevelRegion(1, 0, 0, lw, lh, undefined, 1, display);
        const want2 = referenceComposite(ref1.slice(0, -1), display, lw * lh);
        expect(Buffer.from(shown.data).equals(Buffer.from(want2))).toBe(true);
        expect(Buffer.from(shown.data).equals(Buffer.from(want))).toBe(false);
        // level-0 tile (1, 1): an edge tile
        const tile = await slide.readTile(0, 1, 1);
        expect([tile.width, tile.height]).toEqual([Math.min(256, r.levels[0]![0] - 256), 300 - 256]);
        expect(tile.data[3]).toBe(255);
      } finally {
        await slide.close();
      }
    });
  });
}

describe('fluo-2c-u16-be.ome.tif: big-endian, horizontal predictor, 128x128 tiles', () => {
  it("every channel's values equal tifffile's at every level; the composite too", async () => {
    const file = 'fluo-2c-u16-be.ome.tif';
    for (const open of [() => openSlide(OME_CHANNELS_DIR + file), () => openSlide(origin.url(`/${file}`))]) {
      const slide = await open();
      try {
        expect(slide.levels.map((l) => [l.width, l.height, l.tileWidth])).toEqual([
          [200, 150, 128],
          [100, 75, 128],
          [50, 37, 128],
        ]);
        for (const [level, l] of slide.levels.entries()) {
          const ref = reference(file, `level${level}`, 2, 16);
          const got = await slide.readChannels(level, 0, 0, l.width, l.height);
          got.forEach((p, c) => expect(Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength).equals(Buffer.from(ref[c]!.buffer)), `level ${level} channel ${c}`).toBe(true));
        }
        const ch = slide.channels!;
        expect(ch.map((c) => [c.name, c.color])).toEqual([
          ['Nuclei', [0, 255, 255]],
          ['Membrane', [255, 0, 128]],
        ]);
        const ref0 = reference(file, 'level0', 2, 16);
        const img = await slide.readLevelRegion(0, 0, 0, 200, 150);
        const want = referenceComposite(ref0, ch.map((c) => ({ color: c.color, limits: c.contrastLimits })), 200 * 150);
        expect(Buffer.from(img.data).equals(Buffer.from(want))).toBe(true);
      } finally {
        await slide.close();
      }
    }
  });
});

describe('hostile multi-channel files', () => {
  it('a channel count over 8 and a channel without its IFD are typed errors at open', async () => {
    const bytes = readFileSync(OME_CHANNELS_DIR + 'fluo-3c-u16.ome.tif');
    const text = bytes.toString('latin1');
    const at = text.indexOf('SizeC="3"');
    expect(at).toBeGreaterThan(0);
    for (const [sizeC, code] of [
      ['9', 'E_NOT_A_SLIDE'],
      ['5', 'E_MALFORMED'],
    ] as const) {
      const b = Buffer.from(bytes);
      b.write(`SizeC="${sizeC}"`, at, 'latin1');
      const err = await openSlide(new MemorySource(new Uint8Array(b))).catch((e: unknown) => e);
      expect(isImageboxError(err, code), String(err)).toBe(true);
    }
  });

  it('display settings out of range are E_BAD_REQUEST', async () => {
    const slide: Slide = await openSlide(OME_CHANNELS_DIR + 'fluo-4c-u8.ome.tif');
    try {
      for (const display of [
        [{ index: 4, color: [255, 0, 0] as [number, number, number], limits: [0, 10] as [number, number] }],
        [{ index: 0, color: [256, 0, 0] as [number, number, number], limits: [0, 10] as [number, number] }],
        [{ index: 0, color: [255, 0, 0] as [number, number, number], limits: [10, 10] as [number, number] }],
        [{ index: 0, color: [255, 0, 0] as [number, number, number], limits: [0, 256] as [number, number] }],
      ]) {
        const err = await slide.readTile(2, 0, 0, undefined, display).catch((e: unknown) => e);
        expect(isImageboxError(err, 'E_BAD_REQUEST'), String(err)).toBe(true);
      }
      const err = await slide.readChannels(0, 0, 0, 8192, 8192).catch((e: unknown) => e);
      expect(isImageboxError(err, 'E_TOO_LARGE'), String(err)).toBe(true);
    } finally {
      await slide.close();
    }
  });
});
