// Pixels against the reference renders (test/fixtures/wsi/reference, made by
// OpenSlide 3.4.1, or by libvips where OpenSlide cannot read the file): every
// reference region of every copied fixture.
//
// Tolerance: PSNR >= 40 dB and max abs channel difference <= 16. JPEG decoders
// may round the IDCT and the colour conversion differently from libjpeg-turbo
// (OpenSlide's decoder), JPEG 2000 decoders may differ by one step in YCbCr
// rounding, and off-grid locations are resampled (OpenSlide: cairo bilinear);
// beyond that a difference is a bug. Where the manifest marks an OpenSlide render
// `suspect` (libtiff 4.5's scrambled TIFFRGBAImage rows), the independent decode
// (`_independent.png`) is the reference, as the fixtures README says.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSlide } from '../../src/index.js';
import type { Slide } from '../../src/slide/slide.js';
import type { RGBA } from '../../src/contracts/pixels.js';
import { fixturePath, presentFixtures, WSI_DIR, type ManifestReference } from '../helpers/fixtures.js';
import { compare, loadPng } from '../helpers/pixels.js';

const MIN_PSNR = 40;
const MAX_DIFF = 16;

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
      // get_thumbnail is resampled (PIL's antialias filter there, area average here):
      // the same picture, not the same pixels, so its bounds are looser.
      const resampled = r.call.startsWith('get_thumbnail');
      it(`${r.name} (${r.call})`, async () => {
        const ours = await render(slide, r);
        expect(ours, `no renderer for ${r.call}`).toBeDefined();
        const ref = await loadPng(referencePng(r));
        expect([ours!.width, ours!.height]).toEqual([ref.width, ref.height]);
        const { psnr, maxDiff } = compare(ours!, ref, r.call === 'read_region');
        if (resampled) console.log(`${f.file} ${r.name}: PSNR ${psnr.toFixed(1)} dB, max diff ${maxDiff}`);
        expect(psnr, `PSNR of ${r.name}`).toBeGreaterThanOrEqual(resampled ? 35 : MIN_PSNR);
        expect(maxDiff, `max abs difference of ${r.name}`).toBeLessThanOrEqual(resampled ? 48 : MAX_DIFF);
      });
    }
  });
}
