import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FileSource } from '../../src/io/file-source.js';
import { HttpSource, type HttpSourceOptions } from '../../src/io/http-source.js';
import { RangeScheduler, type RangeSchedulerOptions } from '../../src/io/range-scheduler.js';
import { UndiciTransport } from '../../src/io/undici-transport-node.js';
import { makeBytes, Origin } from '../helpers/origin.js';
import { codeOf, expectBytes } from '../helpers/origin-bytes.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const DATA = makeBytes(4 * MiB, 21);

let origin: Origin;
let transport: UndiciTransport;

beforeAll(async () => {
  origin = await new Origin().start();
});
afterAll(async () => {
  await origin.stop();
});
beforeEach(() => {
  origin.faults = {};
  origin.put('/slide.bin', DATA);
  origin.resetCounters();
  transport = new UndiciTransport({ connections: 4 });
});
afterEach(async () => {
  await transport.close();
});

function sched(opts: RangeSchedulerOptions = {}, http: Partial<HttpSourceOptions> = {}): RangeScheduler {
  return new RangeScheduler(new HttpSource(origin.url('/slide.bin'), { transport, retryBaseMs: 5, ...http }), opts);
}

const slice = (offset: number, length: number): Uint8Array => DATA.subarray(offset, offset + length);

describe('RangeScheduler: coalescing', () => {
  it('N reads in one tick within the gap -> 1 request, byte-exact', async () => {
    const s = sched();
    const ranges = Array.from({ length: 20 }, (_, i) => ({ offset: 1000 + i * 10_000, length: 500 + i }));
    const out = await Promise.all(ranges.map((r) => s.read([r])));
    ranges.forEach((r, i) => expectBytes(out[i]![0], slice(r.offset, r.length)));
    expect(origin.requests).toBe(1);
    expect(origin.multiRangeRequests).toBe(0);
    const st = s.stats();
    expect(st.requests).toBe(1);
    expect(st.rangesSent).toBe(1);
    expect(st.bytesRequested).toBe(ranges.reduce((n, r) => n + r.length, 0));
    expect(st.bytesFetched).toBe(19 * 10_000 + 500 + 19);
  });

  it('disjoint far ranges in one tick -> ONE multi-range request', async () => {
    const s = sched();
    const ranges = [
      { offset: 3 * MiB, length: 100 },
      { offset: 0, length: 16 },
      { offset: 1 * MiB, length: 4000 },
      { offset: 2 * MiB, length: 1 },
    ];
    const out = await Promise.all(ranges.map((r) => s.read([r])));
    ranges.forEach((r, i) => expectBytes(out[i]![0], slice(r.offset, r.length)));
    expect(origin.requests).toBe(1);
    expect(origin.multiRangeRequests).toBe(1);
    expect(origin.log[0]!.range!.split(',').length).toBe(4);
    expect(s.stats().rangesSent).toBe(4);
  });

  it('far ranges of unrelated callers (each with its own signal) in one tick -> parallel single-range requests, not one shared answer', async () => {
    const s = sched();
    const ranges = [
      { offset: 3 * MiB, length: 100 },
      { offset: 0, length: 16 },
      { offset: 1 * MiB, length: 4000 },
    ];
    const out = await Promise.all(ranges.map((r) => s.read([r], new AbortController().signal)));
    ranges.forEach((r, i) => expectBytes(out[i]![0], slice(r.offset, r.length)));
    expect(origin.requests).toBe(3);
    expect(origin.multiRangeRequests).toBe(0);
  });

  it('one caller\'s far ranges (one signal) still go as one multi-range request; near ranges of different callers still merge into one span', async () => {
    const s = sched();
    const ac = new AbortController();
    const far = [{ offset: 3 * MiB, length: 100 }, { offset: 1 * MiB, length: 4000 }];
    const out = await Promise.all(far.map((r) => s.read([r], ac.signal)));
    far.forEach((r, i) => expectBytes(out[i]![0], slice(r.offset, r.length)));
    expect(origin.requests).toBe(1);
    expect(origin.multiRangeRequests).toBe(1);
    origin.resetCounters();
    const near = [{ offset: 2 * MiB, length: 1000 }, { offset: 2 * MiB + 5000, length: 1000 }];
    const out2 = await Promise.all(near.map((r) => s.read([r], new AbortController().signal)));
    near.forEach((r, i) => expectBytes(out2[i]![0], slice(r.offset, r.length)));
    expect(origin.requests).toBe(1);
    expect(origin.multiRangeRequests).toBe(0);
  });

  it('a burst of unrelated callers is bounded by maxParallelReads (the rest share multi-range requests)', async () => {
    const s = sched({ maxParallelReads: 2 });
    const ranges = Array.from({ length: 6 }, (_, i) => ({ offset: i * 600 * KiB, length: 200 }));
    const out = await Promise.all(ranges.map((r) => s.read([r], new AbortController().signal)));
    ranges.forEach((r, i) => expectBytes(out[i]![0], slice(r.offset, r.length)));
    expect(origin.requests).toBe(2);
  });

  it('correct bytes with origins that answer only the first part / a single range / 200', async () => {
    for (const faults of [{ partialMultipart: true }, { noMultiRange: 'first' as const }, { noMultiRange: 'whole' as const }]) {
      origin.faults = faults;
      const s = sched({}, { wholeFileMaxBytes: 1 * MiB });
      const ranges = [
        { offset: 100, length: 100 },
        { offset: 2 * MiB, length: 300 },
        { offset: 4 * MiB - 50, length: 50 },
      ];
      const out = await Promise.all(ranges.map((r) => s.read([r])));
      ranges.forEach((r, i) => expectBytes(out[i]![0], slice(r.offset, r.length)));
    }
  });

  it('merged spans stay under maxSpanBytes', async () => {
    const s = sched({ maxSpanBytes: 64 * KiB, gapBytes: 32 * KiB });
    const ranges = Array.from({ length: 8 }, (_, i) => ({ offset: i * 20 * KiB, length: 4 * KiB }));
    const out = await Promise.all(ranges.map((r) => s.read([r])));
    ranges.forEach((r, i) => expectBytes(out[i]![0], slice(r.offset, r.length)));
    expect(origin.requests).toBe(1); // one multi-range request
    const spans = origin.log[0]!.range!.slice(6).split(',').map((p) => p.split('-').map(Number));
    expect(spans.length).toBeGreaterThan(1);
    for (const [a, b] of spans) expect(b! - a! + 1).toBeLessThanOrEqual(64 * KiB);
  });
});

describe('RangeScheduler: single flight and cache', () => {
  it('two identical concurrent reads -> one request', async () => {
    origin.faults = { delayMs: 100 };
    const s = sched();
    let second: Promise<Uint8Array[]> | undefined;
    origin.onRequest = () => {
      second ??= s.read([{ offset: 500, length: 1000 }]); // issued while the first is in flight
    };
    const first = s.read([{ offset: 500, length: 1000 }]);
    const [a] = await first;
    while (!second) await new Promise((r) => setTimeout(r, 5));
    const [b] = await second;
    expectBytes(a, slice(500, 1000));
    expectBytes(b, slice(500, 1000));
    expect(origin.requests).toBe(1);
    expect(s.stats().inflightHits).toBe(1);
  });

  it('a read covered by a wider read in flight waits for it', async () => {
    origin.faults = { delayMs: 50 };
    const s = sched();
    let inner: Promise<Uint8Array[]> | undefined;
    origin.onRequest = () => {
      inner ??= s.read([{ offset: 10_500, length: 10 }]);
    };
    await s.read([{ offset: 10_000, length: 5000 }]);
    while (!inner) await new Promise((r) => setTimeout(r, 5));
    expectBytes((await inner)[0], slice(10_500, 10));
    expect(origin.requests).toBe(1);
  });

  it('cached reads need zero requests, also across adjacent cached spans', async () => {
    const s = sched({ gapBytes: 0 });
    await s.read([{ offset: 0, length: 1000 }]);
    await s.read([{ offset: 1000, length: 1000 }]);
    origin.resetCounters();
    const out = await s.read([
      { offset: 10, length: 100 },
      { offset: 900, length: 200 },
      { offset: 0, length: 2000 },
    ]);
    expectBytes(out[0], slice(10, 100));
    expectBytes(out[1], slice(900, 200));
    expectBytes(out[2], slice(0, 2000));
    expect(origin.requests).toBe(0);
    expect(s.stats().cacheHits).toBe(3);
  });

  it('LRU cache bound is respected', async () => {
    const s = sched({ cacheBytes: 100 * KiB, gapBytes: 0 });
    for (let i = 0; i < 10; i++) {
      await s.read([{ offset: i * 100 * KiB, length: 30 * KiB }]);
      expect(s.stats().cacheBytes).toBeLessThanOrEqual(100 * KiB);
    }
    expect(s.stats().cacheBytes).toBe(90 * KiB);
    origin.resetCounters();
    await s.read([{ offset: 9 * 100 * KiB, length: 30 * KiB }]); // recent: cached
    expect(origin.requests).toBe(0);
    const [old] = await s.read([{ offset: 0, length: 30 * KiB }]); // evicted: fetched again
    expectBytes(old, slice(0, 30 * KiB));
    expect(origin.requests).toBe(1);
  });

  it('source change -> E_SOURCE_CHANGED to the caller and the cache is dropped', async () => {
    const s = sched();
    let changes = 0;
    s.onChange(() => changes++);
    await s.read([{ offset: 0, length: 1000 }]);
    expect(s.stats().cacheBytes).toBe(1000);
    const NEW = makeBytes(DATA.length, 77);
    origin.put('/slide.bin', NEW);
    expect(await codeOf(s.read([{ offset: 100_000, length: 10 }]))).toBe('E_SOURCE_CHANGED');
    expect(changes).toBe(1);
    expect(s.stats().cacheBytes).toBe(0);
    origin.resetCounters();
    const [a] = await s.read([{ offset: 0, length: 1000 }]); // not served from the stale cache
    expectBytes(a, NEW.subarray(0, 1000));
    expect(origin.requests).toBe(1);
  });
});

describe('RangeScheduler: errors, abort, prefetch', () => {
  it('errors reach every waiting caller with the original code', async () => {
    const s = new RangeScheduler(new HttpSource(origin.url('/gone.bin'), { transport }));
    const codes = await Promise.all([codeOf(s.read([{ offset: 0, length: 10 }])), codeOf(s.read([{ offset: 5, length: 10 }]))]);
    expect(codes).toEqual(['E_NOT_FOUND', 'E_NOT_FOUND']);
    expect(origin.requests).toBe(1);
  });

  it('one failed group does not fail unrelated reads of the same flush', async () => {
    const s = sched();
    await s.read([{ offset: 0, length: 1 }]); // size known to the source now
    const [bad, good] = await Promise.allSettled([
      s.read([{ offset: DATA.length - 10, length: 100 }]),
      s.read([{ offset: 1 * MiB, length: 100 }]),
    ]);
    expect(bad.status).toBe('rejected');
    expect((bad as PromiseRejectedResult).reason.code).toBe('E_TRUNCATED');
    expect(good.status).toBe('fulfilled');
    expectBytes((good as PromiseFulfilledResult<Uint8Array[]>).value[0], slice(1 * MiB, 100));
  });

  it('an aborted caller gets E_ABORTED; another caller of the same span still gets its bytes', async () => {
    origin.faults = { delayMs: 50 };
    const s = sched();
    const ac = new AbortController();
    origin.onRequest = () => ac.abort();
    const [a, b] = await Promise.allSettled([s.read([{ offset: 0, length: 100 }], ac.signal), s.read([{ offset: 50, length: 100 }])]);
    expect(a.status).toBe('rejected');
    expect((a as PromiseRejectedResult).reason.code).toBe('E_ABORTED');
    expectBytes((b as PromiseFulfilledResult<Uint8Array[]>).value[0], slice(50, 100));
  });

  it('when every caller aborted, the request to the origin is cancelled', async () => {
    origin.faults = { delayMs: 30_000 };
    const s = sched();
    const ac = new AbortController();
    origin.onRequest = () => ac.abort();
    expect(await codeOf(s.read([{ offset: 0, length: 100 }], ac.signal))).toBe('E_ABORTED');
    // The aborted request is not joined by later reads: a new read goes out and succeeds.
    origin.faults = {};
    const [x] = await s.read([{ offset: 0, length: 100 }]);
    expectBytes(x, slice(0, 100));
    expect(origin.requests).toBe(2);
    await waitFor(() => origin.clientGaveUp >= 1);
    expect(origin.clientGaveUp).toBe(1); // the origin saw the first request dropped
  });

  it('prefetch fills the cache in the background; foreground reads go first', async () => {
    const s = sched({ gapBytes: 0 });
    s.prefetch([{ offset: 3 * MiB, length: 1000 }]);
    const [fg] = await s.read([{ offset: 10, length: 10 }]);
    expectBytes(fg, slice(10, 10));
    await waitFor(() => s.stats().prefetchRanges === 1 && s.stats().cacheBytes >= 1010);
    expect(origin.log[0]!.range).toBe('bytes=10-19'); // the foreground read went out first
    origin.resetCounters();
    const [pf] = await s.read([{ offset: 3 * MiB + 10, length: 100 }]);
    expectBytes(pf, slice(3 * MiB + 10, 100));
    expect(origin.requests).toBe(0);
  });

  it('prefetch errors are swallowed', async () => {
    const s = new RangeScheduler(new HttpSource(origin.url('/gone.bin'), { transport }));
    s.prefetch([{ offset: 0, length: 10 }]);
    await waitFor(() => origin.requests === 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(s.stats().prefetchRanges).toBe(1);
  });
});

describe('RangeScheduler over a FileSource', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imagebox-io-'));
    await writeFile(join(dir, 'f.bin'), DATA);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('coalesces file reads the same way', async () => {
    const s = new RangeScheduler(new FileSource(join(dir, 'f.bin')));
    const ranges = Array.from({ length: 10 }, (_, i) => ({ offset: i * 1000, length: 100 }));
    const out = await Promise.all(ranges.map((r) => s.read([r])));
    ranges.forEach((r, i) => expectBytes(out[i]![0], slice(r.offset, r.length)));
    expect(s.sourceStats()!.requests).toBe(1);
    expect(await codeOf(s.read([{ offset: DATA.length, length: 1 }]))).toBe('E_TRUNCATED');
    await s.close();
  });
});

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe('RangeScheduler: an inner source that answers wrongly (issue 7 item 17)', () => {
  /** A ByteSource that answers too few buffers, or buffers of the wrong length. */
  class Lying {
    readonly id = 'lying';
    constructor(private readonly mode: 'fewer' | 'short') {}
    async size(): Promise<number> {
      return DATA.length;
    }
    async read(ranges: { offset: number; length: number }[]): Promise<Uint8Array[]> {
      const out = ranges.map((r) => DATA.slice(r.offset, r.offset + r.length));
      if (this.mode === 'fewer') return out.slice(0, 1);
      return out.map((b) => b.subarray(0, b.length - 1));
    }
  }
  for (const mode of ['fewer', 'short'] as const)
    it(`${mode} answers: every waiter gets E_ORIGIN (none hangs, none gets a wrong slice, nothing cached)`, async () => {
      const rs = new RangeScheduler(new Lying(mode), { gapBytes: 0 });
      const reads = [rs.read([{ offset: 0, length: 100 }]), rs.read([{ offset: 1 * MiB, length: 100 }])];
      const settled = await Promise.race([
        Promise.allSettled(reads),
        new Promise<'hung'>((r) => setTimeout(() => r('hung'), 2000)),
      ]);
      expect(settled).not.toBe('hung');
      const results = settled as PromiseSettledResult<Uint8Array[]>[];
      if (mode === 'fewer') {
        expect(results[0]!.status).toBe('fulfilled'); // the one it did answer, whole
        expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: 'E_ORIGIN' } });
      } else {
        for (const r of results) expect(r).toMatchObject({ status: 'rejected', reason: { code: 'E_ORIGIN' } });
      }
      expect(rs.stats().cacheBytes).toBe(mode === 'fewer' ? 100 : 0);
    });
});
