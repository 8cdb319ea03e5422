// Pixels against the reference renders (test/fixtures/wsi/reference, made by
// OpenSlide 3.4.1, or by libvips where OpenSlide cannot read the file): every
// reference region of every copied fixture.
//
// Tolerance: bit-exact, except where a difference is explained below, and
// there the bar is just above what is measured (`npm test` prints every
// comparison: "REF file name: PSNR, max diff"). Our JPEG decoder is bit-exact
// with libjpeg-turbo (OpenSlide's decoder), so JPEG, LZW and Deflate regions on
// the level grid must be identical. Where the manifest marks an OpenSlide render
// `suspect` (libtiff 4.5's scrambled TIFFRGBAImage rows), the independent decode
// (`_independent.png`) is the reference, as the fixtures README says.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSlide } from '../../src/index.js';
import type { Slide } from '../../src/slide/slide.js';
import type { RGBA } from '../../src/contracts/pixels.js';
import { fixturePath, presentFixtures, WSI_DIR, type ManifestReference } from '../helpers/fixtures.js';
import { compare, loadPng } from '../helpers/pixels.js';

/** Where we are not bit-exact with the reference, why, and the measured bound (the bar). */
const KNOWN: { match: RegExp; maxDiff: number; minPsnr: number; why: string }[] = [
  {
    match: /^aperio-jp2k-33003\.svs L/,
    maxDiff: 1,
    minPsnr: 52.5, // measured 52.6-61.9 dB, max diff 1
    why: 'YCbCr JPEG 2000: OpenJPEG turns sYCC into RGB itself, OpenSlide converts the decoded Y, Cb, Cr: one step of rounding',
  },
  {
    match: /^aperio-missing-tiles\.svs L1_/,
    maxDiff: 1,
    minPsnr: 58, // measured 58.4-60.2 dB, max diff 1
    why: 'level 1 tiles that concatenate a missing tile are re-rendered from level 0: our area average against cairo\'s downscale, one step',
  },
  {
    match: /^openslide\/boxes\.tiff L2_/,
    maxDiff: 2,
    minPsnr: 58, // measured 58.3 dB, max diff 2
    why: 'level 2 has downsample 4.016: a level-0 location is off its grid, so the region is shifted by a sub-pixel (bilinear, as cairo) and rounds differently',
  },
  {
    match: / get_thumbnail_/,
    maxDiff: 28,
    minPsnr: 40.5, // measured 40.8-49.9 dB (or exact), max diff 27
    why: 'get_thumbnail is resampled by PIL (its antialias filter) there and by an area average here: the same picture, not the same pixels',
  },
];

function referencePng(r: ManifestReference): string {
  return WSI_DIR + (r.suspect ? r.png.replace(/\.png$/, '_independent.png') : r.png);
}

async function render(slide: Slide, r: ManifestReference & { level?: number }): Promise<RGBA | undefined> {
  const a = r.args as Record<string, unknown>;
  if (r.call === 'read_region') {
    const [x, y] = a['location'] as [number, number];
    const [w, h] = a['size'] as [number, number];
    return slide.readRegion(x, y, a['level'] as number, w, h);
  }
  if (r.call === 'vips crop') {
    // vips references are in the pixel grid of one IFD / SubIFD (= our level).
    const subifd = a['subifd'] as number | null;
    const level = subifd === null ? (r.level ?? 0) : subifd + 1;
    return slide.readLevelRegion(level, a['left'] as number, a['top'] as number, a['width'] as number, a['height'] as number);
  }
  const thumb = /^get_thumbnail\(\((\d+), (\d+)\)\)$/.exec(r.call);
  if (thumb) return slide.thumbnail(Number(thumb[1]), Number(thumb[2]));
  const assoc = /^associated_images\['(\w+)'\]$/.exec(r.call);
  if (assoc) return slide.readAssociated(assoc[1]!);
  return undefined;
}

for (const f of presentFixtures()) {
  const refs = [...(f.openslide.references ?? []), ...(f.vips?.references ?? [])].filter((r) => existsSync(referencePng(r)));
  if (refs.length === 0) continue;
  describe(`${f.file} against its reference renders`, () => {
    let slide: Slide;
    beforeAll(async () => {
      slide = await openSlide(fixturePath(f.file));
    });
    afterAll(() => slide?.close());

    for (const r of refs) {
      const known = KNOWN.find((k) => k.match.test(`${f.file} ${r.name}`));
      it(`${r.name} (${r.call}): ${known ? `max diff <= ${known.maxDiff}, PSNR >= ${known.minPsnr} dB` : 'bit-exact'}`, async () => {
        const ours = await render(slide, r);
        expect(ours, `no renderer for ${r.call}`).toBeDefined();
        const ref = await loadPng(referencePng(r));
        expect([ours!.width, ours!.height]).toEqual([ref.width, ref.height]);
        const { psnr, maxDiff } = compare(ours!, ref, r.call === 'read_region');
        console.log(`REF ${f.file} ${r.name}: PSNR ${psnr.toFixed(1)} dB, max diff ${maxDiff}`);
        expect(maxDiff, `max abs difference of ${r.name}${known ? ` (${known.why})` : ''}`).toBeLessThanOrEqual(known?.maxDiff ?? 0);
        if (known) expect(psnr, `PSNR of ${r.name}`).toBeGreaterThanOrEqual(known.minPsnr);
      });
    }
  });
}
