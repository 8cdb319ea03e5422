// Passthrough: a request that is exactly one stored JPEG tile is answered with
// the stored bytes (tables spliced in, APP14 for RGB tiles), no decode, no
// encode; and it shows the same pixels as OpenSlide and as the transcode path.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openByteSource } from '../../src/io/open-source-node.js';
import { ADOBE_APP14_RGB, readJpegHeader, spliceJpeg } from '../../src/codecs/jpeg-splice.js';
import type { StartedServer } from '../../src/server/serve.js';
import { openSlide } from '../../src/slide/open-slide.js';
import type { Slide } from '../../src/slide/slide.js';
import { FIXTURES, psnr, start } from './helpers.js';

let s: StartedServer;
let slide: Slide;
beforeAll(async () => {
  s = await start();
  slide = await openSlide(openByteSource(`${FIXTURES}/aperio-jpeg.svs`));
});
afterAll(async () => {
  await s?.close();
  await slide?.close();
});

async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: Uint8Array }> {
  const r = await fetch(s.url + path, { headers });
  return { status: r.status, headers: r.headers, body: new Uint8Array(await r.arrayBuffer()) };
}

async function reference(name: string): Promise<{ data: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(await readFile(`${FIXTURES}/reference/aperio-jpeg_svs/${name}.png`)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}

async function decode(bytes: Uint8Array): Promise<{ data: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(bytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}

describe('JPEG splice', () => {
  it('tables without EOI + tile without SOI, APP14 transform 0 after SOI for RGB', () => {
    const tables = Uint8Array.of(0xff, 0xd8, 0xff, 0xdb, 0x00, 0x03, 0x07, 0xff, 0xd9);
    const tile = Uint8Array.of(0xff, 0xd8, 0xff, 0xc0, 0x00, 0x0b, 8, 0, 16, 0, 32, 3, 1, 0x22, 0, 0xff, 0xda, 0x00, 0x02, 0x55, 0xff, 0xd9);
    const rgb = spliceJpeg(tables, tile, true)!;
    expect([...rgb]).toEqual([0xff, 0xd8, ...ADOBE_APP14_RGB, 0xff, 0xdb, 0x00, 0x03, 0x07, ...tile.subarray(2)]);
    const ycc = spliceJpeg(tables, tile, false)!;
    expect([...ycc]).toEqual([0xff, 0xd8, 0xff, 0xdb, 0x00, 0x03, 0x07, ...tile.subarray(2)]);
    expect(readJpegHeader(rgb)).toEqual({ width: 32, height: 16, components: 3, hasAdobe: true });
    expect(spliceJpeg(tables, Uint8Array.of(1, 2, 3, 4), false)).toBeUndefined();
  });
});

describe('passthrough over HTTP', () => {
  it('level-0 tile (3,2): the stored bytes with tables spliced, decoding to OpenSlide pixels', async () => {
    const r = await get('/iiif/3/aperio-jpeg.svs/768,512,256,256/256,256/0/default.jpg');
    expect(r.status).toBe(200);
    expect(r.headers.get('x-tile-path')).toBe('passthrough');
    expect(r.headers.get('content-type')).toBe('image/jpeg');
    const t = await slide.tile(0, 3, 2);
    expect(t.photometric).toBe(2); // Aperio JPEG/RGB
    const expected = spliceJpeg(t.jpegTables, t.bytes, true)!;
    expect(Buffer.from(r.body).equals(Buffer.from(expected))).toBe(true);
    // the tile's own bytes appear verbatim at the end
    expect(Buffer.from(r.body.subarray(r.body.length - (t.bytes.length - 2))).equals(Buffer.from(t.bytes.subarray(2)))).toBe(true);
    const px = await decode(r.body);
    const ref = await reference('L0_tile_c3_r2');
    expect([px.width, px.height]).toEqual([256, 256]);
    expect(psnr(px.data, ref.data)).toBeGreaterThanOrEqual(45);
  });

  it('level-0 tissue tile (16,12) and a level-1 tile pass through with OpenSlide pixels', async () => {
    for (const [path, ref] of [
      ['/iiif/3/aperio-jpeg.svs/4096,3072,256,256/max/0/default.jpg', 'L0_tile_c16_r12'],
      ['/iiif/3/aperio-jpeg.svs/4096,3072,1024,1024/256,256/0/color.jpg', 'L1_tile_c4_r3'],
      ['/iiif/2/aperio-jpeg.svs/4096,3072,1024,1024/256,/0/default.jpg', 'L1_tile_c4_r3'],
    ] as const) {
      const r = await get(path);
      expect(r.status, path).toBe(200);
      expect(r.headers.get('x-tile-path'), path).toMatch(/passthrough|cache/);
      expect(psnr((await decode(r.body)).data, (await reference(ref)).data), path).toBeGreaterThanOrEqual(45);
    }
  });

  it('a YCbCr slide passes through without APP14', async () => {
    const r = await get('/iiif/3/aperio-jpeg-ycbcr-bigtiff.svs/256,256,256,256/max/0/default.jpg');
    expect(r.headers.get('x-tile-path')).toBe('passthrough');
    expect(readJpegHeader(r.body)?.hasAdobe).toBe(false);
  });

  it('the same tile through the transcode path (png) shows the same pixels', async () => {
    const pass = await decode((await get('/iiif/3/aperio-jpeg.svs/4096,3072,256,256/max/0/default.jpg')).body);
    const r = await get('/iiif/3/aperio-jpeg.svs/4096,3072,256,256/max/0/default.png');
    expect(r.headers.get('x-tile-path')).toBe('transcode');
    const png = await decode(r.body);
    expect(psnr(png.data, pass.data)).toBeGreaterThanOrEqual(45);
  });

  it('edge tiles (padded in the file) are transcoded to their real size', async () => {
    const r = await get('/iiif/3/aperio-jpeg.svs/7936,5888,64,112/max/0/default.jpg');
    expect(r.status).toBe(200);
    expect(r.headers.get('x-tile-path')).toBe('transcode');
    const px = await decode(r.body);
    expect([px.width, px.height]).toEqual([64, 112]);
  });
});

describe('transcoded pixels match OpenSlide (PSNR >= 40 dB)', () => {
  it('a region straddling tile borders (png)', async () => {
    const r = await get('/iiif/3/aperio-jpeg.svs/4059,3049,301,203/max/0/default.png');
    expect(r.status).toBe(200);
    const px = await decode(r.body);
    const ref = await reference('L0_straddle');
    expect([px.width, px.height]).toEqual([301, 203]);
    expect(psnr(px.data, ref.data)).toBeGreaterThanOrEqual(40);
  });

  it('level 2, top-left 256 x 256 (png)', async () => {
    const r = await get('/iiif/3/aperio-jpeg.svs/0,0,4096,4096/256,256/0/default.png');
    const px = await decode(r.body);
    const ref = await reference('L2_lowest');
    expect([px.width, px.height]).toEqual([ref.width, ref.height]);
    expect(psnr(px.data, ref.data)).toBeGreaterThanOrEqual(40);
  });

  it('the edge tile (1,1) of level 2: 244 x 119 (png)', async () => {
    const r = await get('/iiif/3/aperio-jpeg.svs/4096,4096,3904,1904/244,119/0/default.png');
    expect(r.status).toBe(200);
    expect(r.headers.get('x-tile-path')).toBe('transcode');
    const px = await decode(r.body);
    const ref = await reference('L2_tile_c1_r1');
    expect([px.width, px.height]).toEqual([244, 119]);
    expect(psnr(px.data, ref.data)).toBeGreaterThanOrEqual(40);
  });

  it('the last level-0 tile, cropped to the image (png)', async () => {
    const r = await get('/iiif/3/aperio-jpeg.svs/7936,5888,64,112/max/0/default.png');
    const px = await decode(r.body);
    const ref = await reference('L0_tile_c31_r23');
    // compare the valid 64 x 112 corner of the 256 x 256 reference
    const crop = new Uint8Array(64 * 112 * 4);
    for (let y = 0; y < 112; y++) crop.set(ref.data.subarray(y * 256 * 4, y * 256 * 4 + 64 * 4), y * 64 * 4);
    expect(psnr(px.data, crop)).toBeGreaterThanOrEqual(40);
  });
});
