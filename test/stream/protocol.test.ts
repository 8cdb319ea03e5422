// imagebox.v1 byte layouts: every message survives a round trip, the fixed
// layouts are the documented sizes, and any other bytes are a typed error.
import { describe, expect, it } from 'vitest';
import { ImageboxError } from '../../src/errors.js';
import {
  HEADER_BYTES,
  MessageType,
  PROTOCOL,
  TILE_BODY,
  VIEW_BODY,
  decodeClientMessage,
  decodeServerMessage,
  encodeClientMessage,
  encodeServerMessage,
  encodeTile,
  type ClientMessage,
} from '../../src/stream/protocol.js';

describe('imagebox.v1 frames', () => {
  it('client messages round-trip', () => {
    const all: ClientMessage[] = [
      { type: MessageType.Hello, protocol: PROTOCOL, encodings: ['jpeg', 'rgba'], inFlightBytes: 1 << 20, client: 'test' },
      { type: MessageType.Open, requestId: 7, slide: 'sub/CMU-1.svs' },
      { type: MessageType.View, seq: 42, handle: 3, level: 2, x: -100, y: 2048, width: 1920, height: 1080, vx: 12.5, vy: -3 },
      { type: MessageType.Cancel, handle: 3 },
      { type: MessageType.Close, handle: 3 },
      { type: MessageType.StatsRequest, requestId: 9 },
    ];
    for (const m of all) expect(decodeClientMessage(encodeClientMessage(m))).toEqual(m);
    const v = encodeClientMessage(all[2]!);
    expect(v.length).toBe(HEADER_BYTES + VIEW_BODY);
    const nan = decodeClientMessage(encodeClientMessage({ ...(all[2] as Extract<ClientMessage, { type: 3 }>), vx: NaN, vy: NaN }));
    expect(Number.isNaN((nan as { vx: number }).vx)).toBe(true);
  });

  it('server messages round-trip; a TILE carries its payload after the fixed 24-byte body', () => {
    const data = Uint8Array.from({ length: 1000 }, (_, i) => i & 255);
    const t = encodeTile({ seq: 5, flags: 1, handle: 2, level: 1, encoding: 'jpeg', col: 70000, row: 3, width: 200, height: 256, data });
    expect(t.length).toBe(HEADER_BYTES + TILE_BODY + data.length);
    expect(decodeServerMessage(t)).toEqual({ type: MessageType.Tile, seq: 5, flags: 1, handle: 2, level: 1, encoding: 'jpeg', col: 70000, row: 3, width: 200, height: 256, data });
    const done = encodeServerMessage({ type: MessageType.ViewDone, seq: 5, flags: 1, handle: 2, tiles: 40 });
    expect(decodeServerMessage(done)).toEqual({ type: MessageType.ViewDone, seq: 5, flags: 1, handle: 2, tiles: 40 });
    const err = encodeServerMessage({ type: MessageType.Error, id: 3, code: 'E_NOT_FOUND', message: 'no slide', handle: 1 });
    expect(decodeServerMessage(err)).toEqual({ type: MessageType.Error, id: 3, code: 'E_NOT_FOUND', message: 'no slide', handle: 1 });
  });

  it('malformed client frames are E_BAD_REQUEST, never another throw (seeded garbage and mutations)', () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / 2 ** 24;
    const valid = [
      encodeClientMessage({ type: MessageType.Hello, protocol: PROTOCOL, encodings: ['rgba'] }),
      encodeClientMessage({ type: MessageType.View, seq: 1, handle: 1, level: 0, x: 0, y: 0, width: 10, height: 10, vx: 0, vy: 0 }),
      encodeClientMessage({ type: MessageType.Open, requestId: 1, slide: 'a.svs' }),
    ];
    let rejected = 0;
    for (let i = 0; i < 3000; i++) {
      let b: Uint8Array;
      if (i % 3 === 0) b = Uint8Array.from({ length: Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256));
      else {
        b = valid[i % valid.length]!.slice(0, Math.max(1, Math.floor(rnd() * 80)));
        for (let f = 0; f < 3; f++) if (b.length > 0) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      }
      try {
        decodeClientMessage(b);
      } catch (e) {
        expect(e).toBeInstanceOf(ImageboxError);
        expect((e as ImageboxError).code).toBe('E_BAD_REQUEST');
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(2000);
  });
});
