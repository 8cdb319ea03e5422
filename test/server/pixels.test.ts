// Every OpenSlide reference region of the fixture manifest (opaque, inside the
// image), requested through IIIF as PNG, must match OpenSlide's render
// (PSNR >= 40 dB). The region is the reference's level-0 footprint and the
// size its pixel size, so the server reads the same level OpenSlide did.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedServer } from '../../src/server/serve.js';
import { FIXTURES, psnr, start } from './helpers.js';

interface Ref {
  name: string;
  call: string;
  args?: { location: [number, number]; level: number; size: [number, number] };
  png?: string;
  transparent_pixels?: number | null;
  integer_level_coords?: boolean;
}
interface FileEntry {
  file: string;
  openslide?: { openable?: boolean; levels?: { width: number; height: number; downsample: number }[]; references?: Ref[] };
}

const manifest = JSON.parse(await readFile(`${FIXTURES}/manifest.json`, 'utf8')) as { files: FileEntry[] };
const cases: { file: string; ref: Ref; region: string; size: string }[] = [];
for (const f of manifest.files) {
  const o = f.openslide;
  if (!o?.openable || !o.levels || f.file === 'openslide/unreadable.svs') continue;
  const [W, H] = [o.levels[0]!.width, o.levels[0]!.height];
  for (const ref of o.references ?? []) {
    if (ref.call !== 'read_region' || !ref.args || !ref.png || ref.transparent_pixels !== 0 || !ref.integer_level_coords) continue;
    const { location: [x, y], level, size: [w, h] } = ref.args;
    const ds = o.levels[level]!.downsample;
    const rw = Math.round(w * ds);
    const rh = Math.round(h * ds);
    if (x + rw > W || y + rh > H) continue;
    cases.push({ file: f.file, ref, region: `${x},${y},${rw},${rh}`, size: `${w},${h}` });
  }
}

let s: StartedServer;
beforeAll(async () => {
  s = await start();
});
afterAll(async () => {
  await s?.close();
});

describe('IIIF renders match OpenSlide', () => {
  it('has cases from several fixtures', () => {
    expect(new Set(cases.map((c) => c.file)).size).toBeGreaterThanOrEqual(8);
  });
  for (const c of cases) {
    it(`${c.file} ${c.ref.name}`, async () => {
      const url = `${s.url}/iiif/3/${encodeURIComponent(c.file)}/${c.region}/${c.size}/0/default.png`;
      const r = await fetch(url);
      const body = new Uint8Array(await r.arrayBuffer());
      expect(r.status, new TextDecoder().decode(body.subarray(0, 200))).toBe(200);
      const got = await sharp(body).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      const ref = await sharp(await readFile(`${FIXTURES}/${c.ref.png}`)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      expect([got.info.width, got.info.height]).toEqual([ref.info.width, ref.info.height]);
      expect(psnr(new Uint8Array(got.data), new Uint8Array(ref.data))).toBeGreaterThanOrEqual(40);
    });
  }
});
