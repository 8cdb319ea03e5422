// The viewer's direct mode without a browser: the same imagebox.v1 session over
// a LocalStreamHost that opens the slide's URL itself (what web/src/direct-worker.ts
// runs in a Web Worker), carried in-process to the real stream client, against a
// real origin on 127.0.0.1 whose file changes. After the change nothing is read
// from the new bytes at the old offsets: the client gets a SLIDE frame marked
// changed, and the same view brings the new file's pixels.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodePixelReader } from '../../src/codecs/pixel-reader-node.js';
import { openSlide } from '../../src/node/open-slide.js';
import type { Slide } from '../../src/slide/slide.js';
import { connectTileStream, type StreamSlide, type StreamTile, type WebSocketConstructor, type WebSocketLike } from '../../src/stream/client.js';
import { LocalStreamHost } from '../../src/stream/local-host.js';
import { StreamSession } from '../../src/stream/session.js';
import { Origin } from '../helpers/origin.js';
import { FIXTURES } from '../server/helpers.js';

type Listener = (ev: { data?: unknown; code?: number; reason?: string }) => void;

/** A WebSocket whose other end is a StreamSession on a LocalStreamHost in this thread (direct-worker.ts without the Worker). */
function directSocketClass(host: LocalStreamHost): WebSocketConstructor {
  return class DirectSocket implements WebSocketLike {
    binaryType = 'arraybuffer';
    readyState = 0;
    private readonly listeners = new Map<string, Listener[]>();
    private readonly session: StreamSession;
    constructor() {
      this.session = new StreamSession(host, {
        send: (frame) => {
          const copy = frame.slice();
          setImmediate(() => this.emit('message', { data: copy.buffer }));
        },
        buffered: () => 0,
        close: () => this.close(),
      });
      setImmediate(() => {
        this.readyState = 1;
        this.emit('open', {});
      });
    }
    private emit(type: string, ev: Parameters<Listener>[0]): void {
      for (const l of this.listeners.get(type) ?? []) l(ev);
    }
    addEventListener(type: string, l: Listener): void {
      this.listeners.set(type, [...(this.listeners.get(type) ?? []), l]);
    }
    send(data: ArrayBufferLike | ArrayBufferView): void {
      const view = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data as ArrayBuffer);
      this.session.onMessage(view.slice());
    }
    close(code = 1000, reason = ''): void {
      if (this.readyState === 3) return;
      this.readyState = 3;
      this.session.onClosed();
      setImmediate(() => this.emit('close', { code, reason }));
    }
  } as unknown as WebSocketConstructor;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('direct mode (LocalStreamHost): the slide\'s file changes at its origin', () => {
  let origin: Origin;
  let localA: Slide;
  let localB: Slide;
  beforeAll(async () => {
    origin = await new Origin().start();
    origin.put('/x.svs', new Uint8Array(readFileSync(`${FIXTURES}/aperio-jpeg.svs`)));
    localA = await openSlide(`${FIXTURES}/aperio-jpeg.svs`);
    localB = await openSlide(`${FIXTURES}/generic-pyramid-jpeg.tif`);
  });
  afterAll(async () => {
    await localA?.close();
    await localB?.close();
    await origin?.stop();
  });

  it('a SLIDE frame marked changed with the new size, then the same view in the new pixels; no tile fails', async () => {
    const pixels = await nodePixelReader();
    const host = new LocalStreamHost({ open: (url) => openSlide(url, { pixels }), pixels });
    const c = await connectTileStream('direct:', { encodings: ['rgba'], WebSocket: directSocketClass(host) });
    const tiles = new Map<string, StreamTile>();
    const changed: StreamSlide[] = [];
    const errors: string[] = [];
    c.on('tile', (t) => tiles.set(`${t.level}/${t.col}/${t.row}`, t));
    c.on('slide', (sl) => changed.push(sl));
    c.on('error', (e) => errors.push(e.code));
    const expectPixels = async (local: Slide, what: string): Promise<void> => {
      for (const [col, row] of [[2, 2], [3, 2], [4, 2], [2, 3], [3, 3], [4, 3]] as const) {
        const got = tiles.get(`0/${col}/${row}`);
        expect(got, `${what}: tile ${col},${row}`).toBeDefined();
        expect(Buffer.from(got!.data).equals(Buffer.from((await local.readTile(0, col, row)).data)), `${what}: pixels of ${col},${row}`).toBe(true);
      }
    };
    const V1 = { level: 0, x: 512, y: 512, width: 768, height: 512 };
    try {
      const slide = await c.open(origin.url('/x.svs'));
      expect(slide.width).toBe(8000);
      await c.view(slide.handle, V1);
      await expectPixels(localA, 'before');
      origin.put('/x.svs', new Uint8Array(readFileSync(`${FIXTURES}/generic-pyramid-jpeg.tif`)));
      tiles.clear();
      c.view(slide.handle, { level: 0, x: 2560, y: 2048, width: 512, height: 512 }).catch(() => undefined); // tiles not read yet: their read meets the change
      for (let i = 0; i < 500 && changed.length === 0; i++) await sleep(10);
      expect(changed.map((sl) => [sl.handle, sl.changed, sl.width, sl.height])).toEqual([[slide.handle, true, 4096, 3072]]);
      const again = await c.view(slide.handle, V1);
      expect(again.tiles).toBe(6);
      await expectPixels(localB, 'after');
      expect(errors).toEqual([]);
    } finally {
      await c.close();
    }
  });
});
