// The tile stream on a multi-channel OME-TIFF: SLIDE lists the channels, tiles
// (decoded RGBA) are the composite of tifffile's values with the default display
// or the one OPEN asked for; a bad display is E_BAD_REQUEST (in the frame's shape
// or against the slide), a display for an RGB slide too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isImageboxError } from '../../src/errors.js';
import { connectTileStream, type StreamTile } from '../../src/stream/client-node.js';
import { MessageType, decodeClientMessage, encodeClientMessage } from '../../src/stream/protocol.js';
import type { StartedServer } from '../../src/server/serve.js';
import { OME_CHANNELS_DIR, reference, referenceComposite, sortedPercentiles } from '../helpers/ome-channels.js';
import { start } from './helpers.js';

const FILE = 'fluo-4c-u8.ome.tif';
let s: StartedServer;
beforeAll(async () => {
  s = await start({ registry: { slidesDir: OME_CHANNELS_DIR } });
});
afterAll(async () => {
  await s?.close();
});

/** Level 1's tiles (200 x 150: tile (0, 0) is the whole level). */
const ref1 = reference(FILE, 'level1', 4, 8);
const limits = reference(FILE, 'level2', 4, 8).map(sortedPercentiles);

describe('the tile stream on a multi-channel OME-TIFF', () => {
  it('SLIDE lists the channels; RGBA tiles are the composite, by default and as OPEN asks', async () => {
    const c = await connectTileStream(s.url.replace(/^http/, 'ws') + '/stream', { encodings: ['rgba'] });
    try {
      const def = await c.open(FILE);
      expect(def.channels?.map((ch) => [ch.name, ch.contrastLimits])).toEqual([
        ['Hoechst', limits[0]],
        ['CD3', limits[1]],
        ['CD8', limits[2]],
        ['Ki67', limits[3]],
      ]);
      const display = [
        { index: 3, color: [255, 255, 255] as [number, number, number], limits: [40, 120] as [number, number] },
        { index: 1, color: [0, 128, 255] as [number, number, number], limits: [20, 90] as [number, number] },
      ];
      const mine = await c.open(FILE, { channels: display });
      const got = new Map<number, StreamTile>();
      c.on('tile', (t) => {
        if (t.level === 1 && t.col === 0 && t.row === 0) got.set(t.handle, t);
      });
      await c.view(def.handle, { level: 1, x: 0, y: 0, width: 200, height: 150 });
      await c.view(mine.handle, { level: 1, x: 0, y: 0, width: 200, height: 150 });
      const n = 200 * 150;
      const a = got.get(def.handle)!;
      const b = got.get(mine.handle)!;
      expect([a.encoding, a.width, a.height]).toEqual(['rgba', 200, 150]);
      const all = def.channels!.map((ch) => ({ color: ch.color, limits: ch.contrastLimits }));
      expect(Buffer.from(a.data).equals(Buffer.from(referenceComposite(ref1, all, n)))).toBe(true);
      expect(Buffer.from(b.data).equals(Buffer.from(referenceComposite([ref1[3]!, ref1[1]!], display, n)))).toBe(true);
    } finally {
      await c.close();
    }
  });

  it('a display the slide cannot show, or one for an RGB slide, is E_BAD_REQUEST', async () => {
    const c = await connectTileStream(s.url.replace(/^http/, 'ws') + '/stream', { encodings: ['rgba'] });
    try {
      for (const channels of [
        [{ index: 5, color: [1, 2, 3], limits: [0, 10] }],
        [{ index: 0, color: [1, 2, 3], limits: [0, 300] }],
        [{ index: 0, color: [1, 2, 3], limits: [9, 9] }],
        [
          { index: 0, color: [1, 2, 3], limits: [0, 9] },
          { index: 0, color: [1, 2, 3], limits: [0, 9] },
        ],
      ] as Array<Array<{ index: number; color: [number, number, number]; limits: [number, number] }>>) {
        const err = await c.open(FILE, { channels }).catch((e: unknown) => e);
        expect(isImageboxError(err, 'E_BAD_REQUEST'), String(err)).toBe(true);
      }
    } finally {
      await c.close();
    }
    // the frame's shape is checked when it is decoded
    const frame = (channels: unknown) => encodeClientMessage({ type: MessageType.Open, requestId: 1, slide: 'a', channels } as never);
    for (const bad of [{}, [{ index: 0 }], [{ index: 0, color: [0, 0], limits: [0, 1] }], [{ index: 0, color: [0, 0, 0], limits: [0, 1.5] }], new Array(9).fill({ index: 0, color: [0, 0, 0], limits: [0, 1] })]) {
      let err: unknown;
      try {
        decodeClientMessage(frame(bad));
      } catch (e) {
        err = e;
      }
      expect(isImageboxError(err, 'E_BAD_REQUEST'), JSON.stringify(bad)).toBe(true);
    }
    const ok = { type: MessageType.Open, requestId: 1, slide: 'a', channels: [{ index: 2, color: [1, 2, 3], limits: [4, 5] }] };
    expect(decodeClientMessage(encodeClientMessage(ok as never))).toEqual(ok);
  });
});

describe('channels on an RGB slide', () => {
  let rgb: StartedServer;
  beforeAll(async () => {
    rgb = await start();
  });
  afterAll(async () => {
    await rgb?.close();
  });
  it('OPEN with channels is E_BAD_REQUEST', async () => {
    const c = await connectTileStream(rgb.url.replace(/^http/, 'ws') + '/stream', { encodings: ['rgba'] });
    try {
      const plain = await c.open('generic-pyramid-jpeg.tif');
      expect(plain.channels).toBeUndefined();
      const err = await c.open('generic-pyramid-jpeg.tif', { channels: [{ index: 0, color: [1, 1, 1], limits: [0, 9] }] }).catch((e: unknown) => e);
      expect(isImageboxError(err, 'E_BAD_REQUEST'), String(err)).toBe(true);
    } finally {
      await c.close();
    }
  });
});
