// IIIF on multi-channel OME-TIFF: `default` is the composite (every channel, the
// file's colours, the histogram default limits), ?channel=N one channel in grey,
// ?channels=&colors=&limits= a display of one's own; each against a composite
// computed here from tifffile's values (PNG: exact). The display is in the cache
// key and the ETag; bad parameters are 400.
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedServer } from '../../src/server/serve.js';
import { OME_CHANNELS_DIR, reference, referenceComposite, sortedPercentiles } from '../helpers/ome-channels.js';
import { start } from './helpers.js';

const FILE = 'fluo-3c-u16.ome.tif';
const [W1, H1] = [260, 150];
let s: StartedServer;
const ref1 = reference(FILE, 'level1', 3, 16);
const defaults = [0, 1, 2].map((c) => sortedPercentiles(reference(FILE, 'level2', 3, 16)[c]!));
const COLORS: Array<[number, number, number]> = [
  [0, 0, 255],
  [0, 255, 0],
  [255, 0, 0],
];

beforeAll(async () => {
  s = await start({ registry: { slidesDir: OME_CHANNELS_DIR } });
});
afterAll(async () => {
  await s?.close();
});

async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: Uint8Array }> {
  const r = await fetch(s.url + path, { headers });
  return { status: r.status, headers: r.headers, body: new Uint8Array(await r.arrayBuffer()) };
}

async function rgba(png: Uint8Array): Promise<{ data: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}

// level 1 whole: the full image at half size (IIIF reads it from level 1, no resampling)
const LEVEL1 = `/iiif/3/${FILE}/full/${W1},${H1}/0/default.png`;

describe('IIIF on a multi-channel OME-TIFF', () => {
  it('default is the composite of every channel with its colour and default limits', async () => {
    const r = await get(LEVEL1);
    expect(r.status).toBe(200);
    const img = await rgba(r.body);
    expect([img.width, img.height]).toEqual([W1, H1]);
    const want = referenceComposite(ref1, COLORS.map((color, c) => ({ color, limits: defaults[c]! })), W1 * H1);
    expect(Buffer.from(img.data).equals(Buffer.from(want))).toBe(true);
  });

  it('?channel=N is that channel alone in grey; limits= sets its window', async () => {
    for (const c of [0, 2]) {
      const r = await get(`${LEVEL1}?channel=${c}`);
      expect(r.status).toBe(200);
      const img = await rgba(r.body);
      const want = referenceComposite([ref1[c]!], [{ color: [255, 255, 255], limits: defaults[c]! }], W1 * H1);
      expect(Buffer.from(img.data).equals(Buffer.from(want))).toBe(true);
    }
    const r = await get(`${LEVEL1}?channel=1&limits=1500-9000`);
    const want = referenceComposite([ref1[1]!], [{ color: [255, 255, 255], limits: [1500, 9000] }], W1 * H1);
    expect(Buffer.from((await rgba(r.body)).data).equals(Buffer.from(want))).toBe(true);
    expect(r.headers.get('link')).toContain('channels=1&colors=ffffff&limits=1500-9000');
  });

  it('?channels=&colors=&limits= composites the channels listed, with their colours and windows', async () => {
    const r = await get(`${LEVEL1}?channels=2,0&colors=ffff00,00ffff&limits=400-20000,800-12000`);
    expect(r.status).toBe(200);
    const want = referenceComposite(
      [ref1[2]!, ref1[0]!],
      [
        { color: [255, 255, 0], limits: [400, 20000] },
        { color: [0, 255, 255], limits: [800, 12000] },
      ],
      W1 * H1,
    );
    expect(Buffer.from((await rgba(r.body)).data).equals(Buffer.from(want))).toBe(true);
    // a channel turned off changes the image
    const two = await get(`${LEVEL1}?channels=0,1`);
    const all = await get(LEVEL1);
    expect(Buffer.from(two.body).equals(Buffer.from(all.body))).toBe(false);
    const wantTwo = referenceComposite([ref1[0]!, ref1[1]!], [0, 1].map((c) => ({ color: COLORS[c]!, limits: defaults[c]! })), W1 * H1);
    expect(Buffer.from((await rgba(two.body)).data).equals(Buffer.from(wantTwo))).toBe(true);
  });

  it('a request for exactly one stored tile is composited too (never the stored channel-0 bytes)', async () => {
    // level 1's tile (0, 0): level-0 0,0,512,300 at 256 x 150
    const r = await get(`/iiif/3/${FILE}/0,0,512,300/256,150/0/default.png`);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-tile-path')).toBe('transcode');
    const img = await rgba(r.body);
    const crop = ref1.map((p) => {
      const out = new Uint16Array(256 * 150);
      for (let y = 0; y < 150; y++) out.set(p.subarray(y * W1, y * W1 + 256), y * 256);
      return out;
    });
    const want = referenceComposite(crop, COLORS.map((color, c) => ({ color, limits: defaults[c]! })), 256 * 150);
    expect(Buffer.from(img.data).equals(Buffer.from(want))).toBe(true);
  });

  it('the display is part of the cache key and the ETag', async () => {
    const a = await get(`${LEVEL1}?channel=0`);
    const b = await get(`${LEVEL1}?channel=1`);
    const a2 = await get(`${LEVEL1}?channel=0`);
    expect(a.headers.get('etag')).toBeTruthy();
    expect(a.headers.get('etag')).not.toBe(b.headers.get('etag'));
    expect(a2.headers.get('etag')).toBe(a.headers.get('etag'));
    expect(a2.headers.get('x-tile-path')).toBe('cache');
    expect(Buffer.from(a2.body).equals(Buffer.from(a.body))).toBe(true);
    expect(Buffer.from(b.body).equals(Buffer.from(a.body))).toBe(false);
    // a conditional request for channel 1 with channel 0's ETag is not a 304
    const c = await get(`${LEVEL1}?channel=1`, { 'if-none-match': a.headers.get('etag')! });
    expect(c.status).toBe(200);
  });

  it('the JSON API lists the channels (names, colours, types, default limits) and their properties', async () => {
    const r = await fetch(`${s.url}/slides/${FILE}`);
    const j = (await r.json()) as { channels: Array<{ index: number; name: string; color: number[]; dataType: string; contrastLimits: number[] }>; properties: Record<string, string> };
    expect(j.channels.map((c) => [c.index, c.name, c.color, c.dataType, c.contrastLimits])).toEqual([
      [0, 'DAPI', COLORS[0], 'uint16', defaults[0]],
      [1, 'FITC', COLORS[1], 'uint16', defaults[1]],
      [2, 'TRITC', COLORS[2], 'uint16', defaults[2]],
    ]);
    expect(j.properties['ome.channel[1].contrast-limits']).toBe(defaults[1]!.join(','));
  });

  it('bad channel parameters are 400; channel parameters on an RGB slide are 400', async () => {
    for (const q of [
      'channel=3',
      'channel=x',
      'channel=0&colors=ff0000',
      'channels=0,0',
      'channels=0,1&colors=ff0000',
      'channels=0&colors=red',
      'channels=0&limits=5-5',
      'channels=0&limits=0-70000',
      'channel=0&channel=1',
      `channels=${'0,'.repeat(20)}0`,
    ]) {
      const r = await get(`${LEVEL1}?${q}`);
      expect(r.status, q).toBe(400);
    }
  });
});

describe('channel parameters on an RGB slide', () => {
  let rgb: StartedServer;
  beforeAll(async () => {
    rgb = await start();
  });
  afterAll(async () => {
    await rgb?.close();
  });
  it('are 400, while other query parameters are ignored as before', async () => {
    const r = await fetch(`${rgb.url}/iiif/3/generic-pyramid-jpeg.tif/0,0,256,256/256,/0/default.jpg?channel=0`);
    expect(r.status).toBe(400);
    const ok = await fetch(`${rgb.url}/iiif/3/generic-pyramid-jpeg.tif/0,0,256,256/256,/0/default.jpg?foo=1`);
    expect(ok.status).toBe(200);
  });
});
