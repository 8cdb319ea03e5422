// Reduced reads (IIIF's case): tiles decoded at 1/2, 1/4, 1/8 from the DCT (JPEG)
// or a lower resolution (JPEG 2000), then only the remaining factor resampled,
// give the same picture as a full-size read + area resampling.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resize } from '../../src/codecs/image-ops.js';
import { kernels } from '../../src/codecs/kernels-node.js';
import { openSlide } from '../../src/index.js';
import type { Slide } from '../../src/slide/slide.js';
import type { RGBA } from '../../src/contracts/pixels.js';
import { fixturePath } from '../helpers/fixtures.js';
import { areaRef, compare } from '../helpers/pixels.js';

const FILES = ['aperio-jpeg.svs', 'aperio-jpeg-ycbcr-bigtiff.svs', 'generic-lzw-predictor.tif', 'aperio-jp2k-33005.svs', 'aperio-missing-tiles.svs'];
const slides: Record<string, Slide> = {};
beforeAll(async () => {
  for (const f of FILES) slides[f] = await openSlide(fixturePath(f));
});
afterAll(async () => {
  for (const s of Object.values(slides)) await s.close();
});

/** The slow path: full-size read of the level, then area average to the output size. */
async function reference(s: Slide, level: number, x: number, y: number, w: number, h: number, ow: number, oh: number): Promise<RGBA> {
  const l = s.levels[level]!;
  const full = await s.readRegion(x, y, level, Math.round(w / l.downsample), Math.round(h / l.downsample));
  return resize(await kernels(), full, ow, oh);
}

describe('readScaledRegion off the 1/s grid', () => {
  it('is the area average of the full-resolution region (against a JS reference, not the code path it uses)', async () => {
    const s = slides['aperio-jpeg.svs']!;
    const fast = await s.readScaledRegion(0, 3, 5, 512, 512, 128, 128);
    const full = await s.readRegion(3, 5, 0, 512, 512);
    const want = areaRef(full, 128, 128);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(fast.data[i]! - want[i]!));
    expect(worst).toBeLessThanOrEqual(1); // the kernel's f32 sums against f64 here
  });
});

describe('readScaledRegion of a large region, band by band', () => {
  it('8000 x 6000 -> 3000 x 2250: the bands give exactly the whole-image resample of the same 1/2 decode', async () => {
    const s = slides['aperio-jpeg.svs']!;
    const banded = await s.readScaledRegion(0, 0, 0, 8000, 6000, 3000, 2250); // 4000 x 3000 at 1/2: over BAND_PIXELS
    const whole = resize(await kernels(), await s.readLevelRegion(0, 0, 0, 8000, 6000, undefined, 2), 3000, 2250);
    expect([banded.width, banded.height]).toEqual([3000, 2250]);
    expect(Buffer.from(banded.data).equals(Buffer.from(whole.data))).toBe(true);
  });
});

describe('readScaledRegion', () => {
  const cases: [string, number, number, number, number, number, number, number][] = [
    // file, level, x0, y0, w, h (level-0), outW, outH
    ['aperio-jpeg.svs', 0, 0, 0, 2048, 2048, 256, 256], // 1/8 exactly
    ['aperio-jpeg.svs', 0, 4096, 3072, 1024, 1024, 256, 256], // 1/4
    ['aperio-jpeg.svs', 1, 0, 0, 8000, 6000, 250, 188], // level 1, 1/8 then resample
    ['aperio-jpeg.svs', 0, 7680, 5632, 320, 368, 160, 184], // edge tiles, 1/2
    ['aperio-jpeg-ycbcr-bigtiff.svs', 0, 512, 512, 1024, 1024, 300, 300], // YCbCr 4:2:0, 1/2 then resample
    ['generic-lzw-predictor.tif', 0, 0, 0, 512, 512, 64, 64], // lossless: decoded full, averaged per tile
    ['aperio-jp2k-33005.svs', 0, 0, 0, 960, 960, 240, 240], // JPEG 2000 reduced resolution
    ['aperio-missing-tiles.svs', 0, 0, 0, 1024, 1024, 256, 256], // a missing tile inside, 1/4
  ];
  for (const [f, level, x, y, w, h, ow, oh] of cases) {
    it(`${f} level ${level} ${x},${y},${w}x${h} -> ${ow}x${oh}`, async () => {
      const s = slides[f]!;
      const fast = await s.readScaledRegion(level, x, y, w, h, ow, oh);
      expect([fast.width, fast.height]).toEqual([ow, oh]);
      const slow = await reference(s, level, x, y, w, h, ow, oh);
      const { psnr } = compare(fast, slow, true);
      // JPEG's scaled IDCT is a box filter in disguise: >= 38 dB. A JPEG 2000 lower
      // resolution is the wavelet's low-pass band (another filter, and a phase
      // half a pixel off a box average per level): the same picture, ~28 dB here.
      expect(psnr).toBeGreaterThanOrEqual(f.includes('jp2k') ? 27 : 38);
    });
  }
});
