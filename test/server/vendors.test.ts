// Philips, Leica and Ventana slides through the server: listed from --slides by
// their extensions (.tiff, .scn, .bif), IIIF info.json with OpenSlide's level-0 size,
// a stored tile passed through and a region rendered by a pixel worker, both equal to
// OpenSlide 3.4.1's renders (PSNR >= 40 dB).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedServer } from '../../src/server/serve.js';
import { compare, decodeImage, loadPng } from '../helpers/pixels.js';
import { start } from './helpers.js';

const DIR = fileURLToPath(new URL('../fixtures/vendors/', import.meta.url));
const manifest = JSON.parse(readFileSync(`${DIR}manifest.json`, 'utf8')) as {
  files: Record<string, { openslide: { vendor: string; levels: { width: number; height: number }[]; references: { name: string; png: string; location?: [number, number]; level?: number; size?: [number, number] }[] } }>;
};

/** A stored level-0 tile (x, y, size) of each fixture whose pixels a reference covers. */
const STORED_TILE: Record<string, [number, number, number]> = {
  'philips-sparse.tiff': [1024, 768, 256],
  'leica-offset.scn': [896, 768, 128],
  'ventana.bif': [768, 512, 256],
  // overlapping tiles: no stored tile is a tile of the level, so this one is painted (never passed through)
  'ventana-overlap.bif': [512, 512, 256],
};
const PAINTED = new Set(['ventana-overlap.bif']);

let s: StartedServer;
beforeAll(async () => {
  s = await start({ registry: { slidesDir: DIR } });
});
afterAll(() => s?.close());

async function get(path: string): Promise<{ status: number; headers: Headers; body: Uint8Array }> {
  const r = await fetch(s.url + path);
  return { status: r.status, headers: r.headers, body: new Uint8Array(await r.arrayBuffer()) };
}

describe('vendor slides served', () => {
  it('/slides lists the three, with their vendors', async () => {
    const l = (await (await fetch(`${s.url}/slides`)).json()).slides as Array<{ id: string; vendor?: string }>;
    for (const [file, f] of Object.entries(manifest.files)) expect(l.find((x) => x.id === file)?.vendor).toBe(f.openslide.vendor);
  });

  for (const [file, f] of Object.entries(manifest.files)) {
    it(`${file}: info.json, a passed-through tile and a worker-rendered region equal OpenSlide's renders`, async () => {
      const info = await get(`/iiif/3/${encodeURIComponent(file)}/info.json`);
      expect(info.status).toBe(200);
      const j = JSON.parse(new TextDecoder().decode(info.body));
      expect([j.width, j.height]).toEqual([f.openslide.levels[0]!.width, f.openslide.levels[0]!.height]);

      // the level-0 straddle reference, as a IIIF region at full size (pixels from a worker)
      const ref = f.openslide.references.find((r) => r.name === 'L0_straddle')!;
      const [x, y] = ref.location!;
      const [w, h] = ref.size!;
      const want = await loadPng(DIR + ref.png);
      const region = await get(`/iiif/3/${encodeURIComponent(file)}/${x},${y},${w},${h}/max/0/default.png`);
      expect(region.status).toBe(200);
      expect(compare(await decodeImage(region.body), want, false).psnr).toBeGreaterThanOrEqual(40);

      // one stored tile, passed through as JPEG: compare with the crop of the reference it lies in
      const [tx, ty, ts] = STORED_TILE[file]!;
      const tile = await get(`/iiif/3/${encodeURIComponent(file)}/${tx},${ty},${ts},${ts}/${ts},${ts}/0/default.jpg`);
      expect(tile.status).toBe(200);
      expect(tile.headers.get('x-tile-path')).toBe(PAINTED.has(file) ? 'transcode' : 'passthrough');
      // a painted tile is compared as PNG (a JPEG re-encoding would be measured, not the painting)
      const got = await decodeImage(
        PAINTED.has(file) ? (await get(`/iiif/3/${encodeURIComponent(file)}/${tx},${ty},${ts},${ts}/${ts},${ts}/0/default.png`)).body : tile.body,
      );
      const cw = Math.min(ts, x + w - tx);
      const ch = Math.min(ts, y + h - ty);
      expect(tx >= x && ty >= y && cw > 16 && ch > 16).toBe(true);
      const crop = (img: { width: number; data: Uint8Array }, ox: number, oy: number) => {
        const out = new Uint8Array(cw * ch * 4);
        for (let r = 0; r < ch; r++) out.set(img.data.subarray(((oy + r) * img.width + ox) * 4, ((oy + r) * img.width + ox + cw) * 4), r * cw * 4);
        return { width: cw, height: ch, data: out };
      };
      expect(compare(crop(got, 0, 0), crop(want, tx - x, ty - y), false).psnr).toBeGreaterThanOrEqual(40);
    });
  }
});
