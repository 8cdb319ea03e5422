// bench/lib/origin.mjs, the benchmarks' remote origin: what it answers must be
// what a range origin answers (our reader opens a slide through it), and its
// counters must count what it sent. No timing is asserted.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs benchmark tool without types
import { CHAOS_KINDS, parseBandwidth, parseRange, startOrigin } from '../../bench/lib/origin.mjs';
import { openSlide } from '../../src/node/open-slide.js';

const dir = fileURLToPath(new URL('../fixtures/wsi/', import.meta.url));
const name = 'aperio-jpeg.svs';
const file = readFileSync(path.join(dir, name));

type Origin = {
  base: string;
  stats(): { requests: number; rangeRequests: number; multiRange: number; bytes: number; broken: Record<string, number>; chaos: { rate: number; seed: number } };
  reset(): void;
  setChaos(c: { rate?: number; seed?: number }): void;
  close(): Promise<void>;
};

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

// --chaos: what is broken is broken and counted, what is not is the right answer.
describe('bench origin chaos mode', () => {
  let o: Origin;
  beforeAll(async () => {
    o = await startOrigin({ root: dir, chaos: { rate: 1, seed: 5, hangMs: 30, slowMs: 20 } });
  });
  afterAll(async () => {
    await o.close();
  });
  const url = () => `${o.base}/${name}`;
  const singles: [number, number][] = Array.from({ length: 30 }, (_, i) => [1000 + i * 5000, 1000 + i * 5000 + 999]);
  const multis: [number, number][][] = Array.from({ length: 30 }, (_, i) => [
    [i * 3000, i * 3000 + 99],
    [200_000 + i * 3000, 200_000 + i * 3000 + 199],
    [400_000 + i * 3000, 400_000 + i * 3000 + 49],
  ]);

  /** Whether the answer is exactly the right one for these ranges (single 206, or multipart with every part in order); a dropped connection is not. */
  async function correct(ranges: [number, number][]): Promise<boolean> {
    let r: Response;
    let body: Buffer;
    try {
      r = await fetch(url(), { headers: { range: `bytes=${ranges.map(([s, e]) => `${s}-${e}`).join(',')}` } });
      body = Buffer.from(await r.arrayBuffer());
    } catch {
      return false; // reset, hang
    }
    if (r.status !== 206) return false;
    if (ranges.length === 1) {
      const [s, e] = ranges[0]!;
      return r.headers.get('content-range') === `bytes ${s}-${e}/${file.length}` && body.equals(file.subarray(s, e + 1));
    }
    const boundary = /boundary=(\S+)/.exec(r.headers.get('content-type') ?? '')?.[1];
    if (!boundary) return false;
    const want = Buffer.concat([
      ...ranges.flatMap(([s, e]) => [Buffer.from(`\r\n--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${s}-${e}/${file.length}\r\n\r\n`), file.subarray(s, e + 1)]),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    return body.equals(want);
  }

  it('rate 1: every range answer is broken, counted by kind; only "slow" ones carry the right bytes', async () => {
    o.setChaos({ rate: 1, seed: 5 });
    o.reset();
    const seen: Record<string, number> = {};
    for (const ranges of [...singles.map((r) => [r]), ...multis]) {
      const before = { ...o.stats().broken };
      const ok = await correct(ranges);
      const after = o.stats().broken;
      const kinds = Object.keys(after).filter((k) => (after[k] ?? 0) !== (before[k] ?? 0));
      expect(kinds).toHaveLength(1); // exactly one broken answer per request
      const kind = kinds[0]!;
      expect(CHAOS_KINDS).toContain(kind);
      if (ranges.length === 1) expect(['partMissing', 'reordered']).not.toContain(kind);
      expect(ok).toBe(kind === 'slow');
      seen[kind] = (seen[kind] ?? 0) + 1;
    }
    const s = o.stats();
    expect(Object.values(s.broken).reduce((a, b) => a + b, 0)).toBe(60);
    expect(s.broken).toEqual(seen);
    expect(Object.keys(seen).length).toBeGreaterThanOrEqual(8); // 60 draws over 10 kinds
    expect(s.chaos.rate).toBe(1);
    // not range answers: never broken
    const h = await fetch(url(), { method: 'HEAD' });
    expect(h.status).toBe(200);
    const whole = await fetch(url());
    expect(Buffer.from(await whole.arrayBuffer()).equals(file)).toBe(true);
    expect(Object.values(o.stats().broken).reduce((a, b) => a + b, 0)).toBe(60);
  });

  it('rate 0 (POST /__chaos?rate=0): no answer broken, every one right', async () => {
    const r = await fetch(`${o.base}/__chaos?rate=0`, { method: 'POST' });
    expect(((await r.json()) as { chaos: { rate: number } }).chaos.rate).toBe(0);
    o.reset();
    for (const ranges of [...singles.map((x) => [x]), ...multis]) expect(await correct(ranges)).toBe(true);
    expect(o.stats().broken).toEqual({});
    expect(o.stats().rangeRequests).toBe(60);
  });

  it('a share: about that many broken (seeded), the rest right', async () => {
    o.setChaos({ rate: 0.3, seed: 11 });
    o.reset();
    let right = 0;
    for (let i = 0; i < 200; i++) if (await correct([singles[i % singles.length]!])) right++;
    const broken = Object.values(o.stats().broken).reduce((a, b) => a + b, 0);
    expect(broken).toBeGreaterThan(35);
    expect(broken).toBeLessThan(85);
    expect(right).toBe(200 - broken + (o.stats().broken['slow'] ?? 0));
  });

  it('refuses a rate outside [0, 1] and chaos in proxy mode', async () => {
    expect((await fetch(`${o.base}/__chaos?rate=2`, { method: 'POST' })).status).toBe(400);
    await expect(startOrigin({ target: o.base, chaos: 0.5 })).rejects.toThrow(/files mode/);
    await expect(startOrigin({ root: dir, chaos: { rate: 0.1, kinds: ['nope'] } })).rejects.toThrow(/unknown chaos kind/);
  });
});
