// bench/lib/origin.mjs, the benchmarks' remote origin: what it answers must be
// what a range origin answers (our reader opens a slide through it), and its
// counters must count what it sent. No timing is asserted.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs benchmark tool without types
import { parseBandwidth, parseRange, startOrigin } from '../../bench/lib/origin.mjs';
import { openSlide } from '../../src/node/open-slide.js';

const dir = fileURLToPath(new URL('../fixtures/wsi/', import.meta.url));
const name = 'aperio-jpeg.svs';
const file = readFileSync(path.join(dir, name));

type Origin = { base: string; stats(): { requests: number; rangeRequests: number; multiRange: number; bytes: number }; reset(): void; close(): Promise<void> };

describe('bench origin', () => {
  let o: Origin;
  let single: Origin;
  beforeAll(async () => {
    o = await startOrigin({ root: dir, delayMs: 1 });
    single = await startOrigin({ root: dir, multiRange: false });
  });
  afterAll(async () => {
    await o.close();
    await single.close();
  });

  it('parses ranges and bandwidths', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual([[0, 9]]);
    expect(parseRange('bytes=90-', 100)).toEqual([[90, 99]]);
    expect(parseRange('bytes=-10', 100)).toEqual([[90, 99]]);
    expect(parseRange('bytes=0-1,5-200', 100)).toEqual([[0, 1], [5, 99]]);
    expect(parseRange('bytes=200-300', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=9-1', 100)).toBeNull();
    expect(parseRange('items=0-1', 100)).toBeNull();
    expect(parseBandwidth('100mbit')).toBe(12.5e6);
    expect(parseBandwidth('12.5MB')).toBe(12.5e6);
    expect(parseBandwidth(undefined)).toBe(0);
  });

  it('answers single ranges, multipart, 416, HEAD and If-Range, and counts them', async () => {
    o.reset();
    const url = `${o.base}/${name}`;
    const a = await fetch(url, { headers: { range: 'bytes=100-199' } });
    expect(a.status).toBe(206);
    expect(a.headers.get('content-range')).toBe(`bytes 100-199/${file.length}`);
    expect(a.headers.get('access-control-expose-headers')).toContain('content-range');
    expect(Buffer.from(await a.arrayBuffer()).equals(file.subarray(100, 200))).toBe(true);
    const etag = a.headers.get('etag')!;

    const m = await fetch(url, { headers: { range: 'bytes=0-9,1000-1009' } });
    expect(m.status).toBe(206);
    expect(m.headers.get('content-type')).toMatch(/^multipart\/byteranges; boundary=/);
    const body = Buffer.from(await m.arrayBuffer()).toString('latin1');
    expect(body).toContain(`Content-Range: bytes 1000-1009/${file.length}`);
    expect(body).toContain(file.subarray(1000, 1010).toString('latin1'));

    expect((await fetch(url, { headers: { range: `bytes=${file.length}-` } })).status).toBe(416);
    const h = await fetch(url, { method: 'HEAD' });
    expect(h.status).toBe(200);
    expect(h.headers.get('content-length')).toBe(String(file.length));
    expect(h.headers.get('accept-ranges')).toBe('bytes');
    const fresh = await fetch(url, { headers: { range: 'bytes=0-9', 'if-range': etag } });
    expect(fresh.status).toBe(206);
    await fresh.arrayBuffer();
    const stale = await fetch(url, { headers: { range: 'bytes=0-9', 'if-range': '"other"' } });
    expect(stale.status).toBe(200);
    expect((await stale.arrayBuffer()).byteLength).toBe(file.length);
    expect((await fetch(`${o.base}/nope.svs`)).status).toBe(404);

    const s = o.stats();
    expect(s.requests).toBe(7);
    expect(s.multiRange).toBe(1);
    expect(s.bytes).toBeGreaterThan(file.length + 100);
  });

  it('answers only the first range when multi-range is off', async () => {
    const r = await fetch(`${single.base}/${name}`, { headers: { range: 'bytes=0-9,1000-1009' } });
    expect(r.status).toBe(206);
    expect(r.headers.get('content-range')).toBe(`bytes 0-9/${file.length}`);
    expect((await r.arrayBuffer()).byteLength).toBe(10);
  });

  it('serves a slide our reader opens, tile bytes equal to the file', async () => {
    const slide = await openSlide(`${o.base}/${name}`);
    try {
      await slide.warmLevel(0);
      const range = slide.tileByteRange(0, 10, 12)!;
      const t = await slide.tile(0, 10, 12);
      expect(Buffer.from(t.bytes).equals(file.subarray(range.offset, range.offset + range.length))).toBe(true);
    } finally {
      await slide.close();
    }
  });
});
