// DICOM WSI through the server: a folder of one series' instances under
// --slides is one slide (id = the folder's relative path), and a configured
// { dicom: [URLs] } slide is one too; IIIF info.json, a passed-through tile and
// regions that pixel workers render after reopening the slide from its
// location (a folder, or the list of URLs).
import { cpSync, copyFileSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJpeg } from '../../src/codecs/jpeg.js';
import { kernels } from '../../src/codecs/kernels-node.js';
import { openSlide } from '../../src/node/open-slide.js';
import { SlideRegistry } from '../../src/server/registry.js';
import { connectTileStream, type StreamTile } from '../../src/stream/client-node.js';
import type { StartedServer } from '../../src/server/serve.js';
import { startOrigin, type Origin } from '../helpers/origin.js';
import { compare, decodeImage, loadPng } from '../helpers/pixels.js';
import { FIXTURES, start } from './helpers.js';

const DICOM = fileURLToPath(new URL('../fixtures/dicom/', import.meta.url));

let s: StartedServer;
let origin: Origin;
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imagebox-dicom-'));
  cpSync(`${DICOM}generic-pyramid-jpeg`, join(dir, 'dicom', 'generic'), { recursive: true });
  cpSync(`${DICOM}boxes`, join(dir, 'dicom', 'boxes'), { recursive: true });
  cpSync(`${DICOM}jpegls/lossless-line.dcm`, join(dir, 'dicom', 'jpegls', 'frame.dcm'));
  cpSync(`${DICOM}variants/native-rgb-implicit.dcm`, join(dir, 'dicom', 'native', 'frame.dcm'));
  copyFileSync(join(FIXTURES, 'generic-pyramid-jpeg.tif'), join(dir, 'source.tif'));
  origin = await startOrigin();
  const files = readdirSync(`${DICOM}generic-pyramid-jpeg`).sort();
  for (const f of files) origin.put(`/series/${f}`, readFileSync(`${DICOM}generic-pyramid-jpeg/${f}`));
  s = await start({
    registry: { slidesDir: dir, config: { slides: { remote: { dicom: files.map((f) => origin.url(`/series/${f}`)) } } } },
  });
});
afterAll(async () => {
  await s?.close();
  await origin?.stop();
});

async function get(path: string): Promise<{ status: number; headers: Headers; body: Uint8Array }> {
  const r = await fetch(s.url + path);
  return { status: r.status, headers: r.headers, body: new Uint8Array(await r.arrayBuffer()) };
}

describe('DICOM slides served', () => {
  it('a JPEG-LS series: rendered by a pixel worker (CharLS) to the pixels of the same frame stored native', async () => {
    const a = await get('/iiif/3/dicom%2Fjpegls/full/max/0/default.png');
    const b = await get('/iiif/3/dicom%2Fnative/full/max/0/default.png');
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.headers.get('x-tile-path')).toBe('transcode');
    expect(compare(await decodeImage(a.body), await decodeImage(b.body), true).maxDiff).toBe(0);
  });

  it('/slides lists each DICOM folder once, as a dicom slide', async () => {
    const l = (await (await fetch(`${s.url}/slides`)).json()).slides as Array<{ id: string; vendor?: string; width?: number; levels?: number }>;
    expect(l.find((x) => x.id === 'dicom/generic')).toMatchObject({ vendor: 'dicom', width: 4096, levels: 5 });
    expect(l.find((x) => x.id === 'dicom/boxes')).toMatchObject({ vendor: 'dicom', width: 16 });
    expect(l.some((x) => x.id.endsWith('.dcm'))).toBe(false);
    expect(l.find((x) => x.id === 'remote')).toBeDefined();
  });

  for (const id of ['dicom%2Fgeneric', 'remote']) {
    it(`${id}: info.json, a passed-through tile equal to OpenSlide's render, a region rendered by a pixel worker`, async () => {
      const info = await get(`/iiif/3/${id}/info.json`);
      expect(info.status).toBe(200);
      const j = JSON.parse(new TextDecoder().decode(info.body));
      expect([j.width, j.height]).toEqual([4096, 3072]);
      expect(j.tiles[0].width).toBe(256);

      const tile = await get(`/iiif/3/${id}/768,512,256,256/256,256/0/default.jpg`);
      expect(tile.status).toBe(200);
      expect(tile.headers.get('x-tile-path')).toBe('passthrough');
      const ref = await loadPng(`${FIXTURES}/reference/generic-pyramid-jpeg_tif/L0_tile_c3_r2.png`);
      expect(compare(await decodeImage(tile.body), ref, false).psnr).toBeGreaterThanOrEqual(40);

      // a resampled region (a worker job): the same pixels as the source TIFF's
      const path = (slide: string) => `/iiif/3/${slide}/1000,700,1500,1100/375,/0/default.png`;
      const a = await get(path(id));
      const b = await get(path('source.tif'));
      expect([a.status, b.status]).toEqual([200, 200]);
      const e = compare(await decodeImage(a.body), await decodeImage(b.body), true);
      expect(e.maxDiff).toBe(0);
    });
  }

  it('a folder that is not a slide and a .dcm file inside a slide folder are not served', async () => {
    expect((await get('/iiif/3/dicom/info.json')).status).toBe(404);
    expect((await get('/iiif/3/dicom%2Fboxes%2Fboxes_0.dcm/info.json')).status).toBe(404);
    expect((await get('/iiif/3/dicom%2Fboxes/info.json')).status).toBe(200);
  });
});

describe('the tile stream', () => {
  it('streams a DICOM slide\'s frames as stored JPEG (passthrough), with the pixels of readTile', async () => {
    const c = await connectTileStream(s.url.replace(/^http/, 'ws') + '/stream', { encodings: ['passthrough'] });
    const local = await openSlide(`${DICOM}generic-pyramid-jpeg`);
    try {
      const slide = await c.open('dicom/generic');
      const got: StreamTile[] = [];
      c.on('tile', (t) => {
        if (t.level === 0) got.push(t);
      });
      const r = await c.view(slide.handle, { level: 0, x: 300, y: 200, width: 600, height: 500 });
      expect(r.tiles).toBeGreaterThan(0);
      expect(got.length).toBeGreaterThanOrEqual(r.tiles);
      const k = await kernels();
      for (const t of got.slice(0, r.tiles)) {
        expect([t.encoding, t.transcoded]).toEqual(['jpeg', false]);
        const img = decodeJpeg(k, t.data);
        const ref = await local.readTile(0, t.col, t.row);
        expect(Buffer.from(img.data).equals(Buffer.from(ref.data)), `pixels of ${t.col},${t.row}`).toBe(true);
      }
    } finally {
      await c.close();
      await local.close();
    }
  });
});

describe('{ dicom: [...] } in the config', () => {
  it('relative paths resolve against the config directory; a bad list is E_BAD_REQUEST', async () => {
    const reg = new SlideRegistry({
      configDir: DICOM,
      config: { slides: { boxes: { dicom: ['boxes/boxes_1.dcm', 'boxes/boxes_0.dcm'] } } },
    });
    const got = await reg.use('boxes', async (_e, slide) => ({ vendor: slide.vendor, levels: slide.levels.length, associated: slide.associatedImages.map((a) => a.name) }));
    expect(got).toEqual({ vendor: 'dicom', levels: 1, associated: ['thumbnail'] });
    await reg.close();
    for (const dicom of [[], 'boxes/boxes_0.dcm', [42], ['ftp://x/y.dcm']]) {
      expect(() => new SlideRegistry({ config: { slides: { bad: { dicom: dicom as unknown as string[] } } } })).toThrow(expect.objectContaining({ code: 'E_BAD_REQUEST' }));
    }
  });
});

describe('a DICOM slide with an ICC profile (Optical Path)', () => {
  it('the stream SLIDE frame carries the profile, byte for byte; a slide without one has none', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'imagebox-icc-'));
    cpSync(`${DICOM}icc/prophoto.dcm`, join(dir, 'icc', 'frame.dcm'));
    copyFileSync(join(FIXTURES, 'generic-pyramid-jpeg.tif'), join(dir, 'plain.tif'));
    const t = await start({ registry: { slidesDir: dir } });
    const c = await connectTileStream(t.url.replace(/^http/, 'ws') + '/stream');
    try {
      const a = await c.open('icc');
      expect(Buffer.from(a.iccProfile!, 'base64').equals(readFileSync(`${DICOM}icc/prophoto.icc`))).toBe(true);
      const b = await c.open('plain.tif');
      expect(b.iccProfile).toBeUndefined();
    } finally {
      await c.close();
      await t.close();
    }
  });
});
