// The stream under hostile or careless clients, over raw sockets where a
// polite client library would not do it: a client that never reads, malformed
// and oversized frames, unknown slides, huge views, a thousand views a second.
// Each gets error frames (or its connection closed); every other client keeps
// being served.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedServer } from '../../src/server/serve.js';
import { connectTileStream } from '../../src/stream/client-node.js';
import { MessageType, PROTOCOL, decodeServerMessage, encodeClientMessage, type ErrorFrame, type ServerMessage } from '../../src/stream/protocol.js';
import { RawWebSocket, type RawFrame } from '../helpers/raw-ws.js';
import { start } from '../server/helpers.js';

let s: StartedServer;
const wsUrl = (): string => s.url.replace(/^http/, 'ws') + '/stream';
const hello = (encodings: ('rgba' | 'jpeg')[] = ['jpeg'], inFlightBytes?: number) =>
  encodeClientMessage({ type: MessageType.Hello, protocol: PROTOCOL, encodings, inFlightBytes });
const messages = (frames: RawFrame[]): ServerMessage[] => frames.filter((f) => f.opcode === 2).map((f) => decodeServerMessage(new Uint8Array(f.payload)));
const errors = (frames: RawFrame[]): ErrorFrame[] => messages(frames).filter((m): m is ErrorFrame => m.type === MessageType.Error);

beforeAll(async () => {
  s = await start({ session: { limits: { inFlightBytes: 4 * 1024 * 1024 } } });
});
afterAll(async () => s?.close());

/** A second, polite client must still get a full view quickly. */
async function othersServed(): Promise<void> {
  const c = await connectTileStream(wsUrl(), { encodings: ['jpeg'] });
  try {
    const slide = await c.open('generic-pyramid-jpeg.tif');
    const t0 = performance.now();
    const r = await c.view(slide.handle, { level: 1, x: 0, y: 0, width: 1920, height: 1080 });
    expect(r.tiles).toBe(40);
    expect(performance.now() - t0).toBeLessThan(3000);
  } finally {
    await c.close();
  }
}

describe('a client that never reads', () => {
  it('holds at most its budget in the server while another client is served normally', async () => {
    const slow = await RawWebSocket.open(s.port);
    slow.send(hello(['rgba']));
    slow.send(encodeClientMessage({ type: MessageType.Open, requestId: 1, slide: 'aperio-jpeg.svs' }));
    expect(await slow.until((f) => messages(f).some((m) => m.type === MessageType.Slide))).toBe(true);
    slow.stopReading();
    // the whole of level 0: 744 tiles of 256 KiB RGBA = 186 MiB if nothing held it back
    slow.send(encodeClientMessage({ type: MessageType.View, seq: 1, handle: 1, level: 0, x: 0, y: 0, width: 8000, height: 6000, vx: NaN, vy: NaN }));
    const bytes = async (): Promise<number> => Number(/imagebox_stream_bytes_total (\d+)/.exec(await (await fetch(`${s.url}/metrics`)).text())![1]);
    await new Promise((r) => setTimeout(r, 1500));
    const pushed = await bytes();
    await new Promise((r) => setTimeout(r, 1000));
    const later = await bytes();
    console.log(`a client that never reads: ${(pushed / 2 ** 20).toFixed(1)} MiB handed to its socket, then ${((later - pushed) / 2 ** 20).toFixed(1)} MiB more in 1 s`);
    // the budget (4 MiB) plus what the kernel's socket buffers took before they filled
    expect(pushed).toBeLessThan(4 * 2 ** 20 + 24 * 2 ** 20);
    expect(later - pushed).toBeLessThan(1 * 2 ** 20); // stalled: nothing more is read, decoded or queued for it
    await othersServed();
    slow.destroy();
  });
});

describe('bad messages', () => {
  it('malformed, oversized and out-of-range frames get error frames; the connection and the server stay up', async () => {
    const ws = await RawWebSocket.open(s.port);
    ws.send(encodeClientMessage({ type: MessageType.View, seq: 1, handle: 1, level: 0, x: 0, y: 0, width: 10, height: 10, vx: NaN, vy: NaN })); // before HELLO
    ws.send(hello());
    ws.send(new Uint8Array([1])); // shorter than a header
    ws.send(new Uint8Array([0x77, 1, 0, 0, 0, 0, 0, 0])); // unknown type
    ws.send(new Uint8Array([0x03, 9, 0, 0, 0, 0, 0, 0])); // wrong version
    ws.send(new Uint8Array([0x03, 1, 0, 0, 1, 0, 0, 0, 1, 2])); // VIEW of the wrong length
    ws.send(new Uint8Array(20_000)); // over maxMessageBytes (16 KiB)
    ws.sendFrame(1, new TextEncoder().encode('{"hello": "text frames are not the protocol"}'));
    ws.send(encodeClientMessage({ type: MessageType.Open, requestId: 7, slide: 'no-such-slide.svs' }));
    ws.send(encodeClientMessage({ type: MessageType.Open, requestId: 8, slide: '../../etc/passwd' }));
    ws.send(encodeClientMessage({ type: MessageType.View, seq: 2, handle: 99, level: 0, x: 0, y: 0, width: 10, height: 10, vx: NaN, vy: NaN }));
    ws.send(encodeClientMessage({ type: MessageType.Open, requestId: 9, slide: 'aperio-jpeg.svs' }));
    expect(await ws.until((f) => messages(f).some((m) => m.type === MessageType.Slide))).toBe(true);
    ws.send(encodeClientMessage({ type: MessageType.View, seq: 3, handle: 1, level: 9, x: 0, y: 0, width: 10, height: 10, vx: NaN, vy: NaN })); // no level 9
    ws.send(encodeClientMessage({ type: MessageType.View, seq: 4, handle: 1, level: 0, x: 0, y: 0, width: 100_000, height: 100_000, vx: NaN, vy: NaN })); // huge
    ws.send(encodeClientMessage({ type: MessageType.View, seq: 5, handle: 1, level: 0, x: 0, y: 0, width: 10, height: 10, vx: Infinity, vy: 0 }));
    expect(await ws.until((f) => errors(f).length >= 12)).toBe(true);
    const codes = errors(ws.frames).map((e) => `${e.id}:${e.code}`);
    expect(codes).toEqual(
      expect.arrayContaining(['0:E_BAD_REQUEST', '0:E_TOO_LARGE', '7:E_NOT_FOUND', '8:E_BAD_REQUEST', '2:E_NOT_FOUND', '3:E_BAD_REQUEST', '4:E_TOO_LARGE']),
    );
    for (const e of errors(ws.frames)) {
      expect(e.message.length).toBeGreaterThan(0);
      expect(e.message).not.toMatch(/\/tmp\/|\/work\/|at .*\.ts:\d+/); // no local paths, no stacks
      expect(e.fatal).toBeUndefined();
    }
    // still a working connection
    ws.send(encodeClientMessage({ type: MessageType.View, seq: 6, handle: 1, level: 2, x: 0, y: 0, width: 500, height: 375, vx: NaN, vy: NaN }));
    expect(await ws.until((f) => messages(f).some((m) => m.type === MessageType.ViewDone && m.seq === 6))).toBe(true);
    expect(ws.closed).toBe(false);
    ws.destroy();
    await othersServed();
  });

  it('a thousand views a second: E_BUSY error frames, the newest view still completes, others served', async () => {
    const ws = await RawWebSocket.open(s.port);
    ws.send(hello());
    ws.send(encodeClientMessage({ type: MessageType.Open, requestId: 1, slide: 'aperio-jpeg.svs' }));
    expect(await ws.until((f) => messages(f).some((m) => m.type === MessageType.Slide))).toBe(true);
    const t0 = Date.now();
    let seq = 1;
    while (Date.now() - t0 < 1000) {
      for (let i = 0; i < 50; i++) {
        const x = (seq * 37) % 6000;
        ws.send(encodeClientMessage({ type: MessageType.View, seq: seq++, handle: 1, level: 1, x: x % 1500, y: 0, width: 512, height: 512, vx: NaN, vy: NaN }));
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const last = seq - 1;
    expect(last).toBeGreaterThan(1000);
    expect(await ws.until((f) => messages(f).some((m) => m.type === MessageType.ViewDone && m.seq === last), 5000)).toBe(true);
    const busy = errors(ws.frames).filter((e) => e.code === 'E_BUSY');
    expect(busy.length).toBeGreaterThanOrEqual(1);
    expect(busy.length).toBeLessThanOrEqual(3); // at most one a second
    ws.destroy();
    await othersServed();
  });

  it('repeated abuse closes the connection (a fatal error frame first); the server keeps serving', async () => {
    const ws = await RawWebSocket.open(s.port);
    ws.send(hello());
    for (let i = 0; i < 80; i++) ws.send(new Uint8Array([0x55, 1, 0, 0, 0, 0, 0, 0]));
    expect(await ws.until(() => ws.closed, 5000)).toBe(true);
    expect(errors(ws.frames).some((e) => e.fatal === true)).toBe(true);
    expect(ws.closeCode).toBe(1008);
    await othersServed();
  });

  it('a frame over uWS\'s hard limit (1 MiB) closes that connection only', async () => {
    const ws = await RawWebSocket.open(s.port);
    ws.send(hello());
    ws.send(new Uint8Array(2 * 1024 * 1024));
    expect(await ws.until(() => ws.closed, 5000)).toBe(true);
    await othersServed();
  });
});
