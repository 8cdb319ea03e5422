// The second cache level (src/io/shared-cache.ts) under the range scheduler:
// another scheduler over the same origin URL (another serve thread, another
// node) reads what the first fetched without asking the origin; a changed
// slide (other bytes, other ETag) is other keys, so it is fetched again; a
// store that misbehaves (throws, rejects, answers nonsense, never answers) is
// a miss and never fails a read. And MemorySharedCache, the main thread's
// store: its byte bound (least recently used out first), TTL and value cap.
import { MessageChannel } from 'node:worker_threads';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HttpSource } from '../../src/io/http-source.js';
import { MemorySharedCache } from '../../src/io/memory-shared-cache.js';
import { RangeScheduler } from '../../src/io/range-scheduler.js';
import type { SharedCache, SharedCacheStats } from '../../src/io/shared-cache.js';
import { UndiciTransport } from '../../src/io/undici-transport-node.js';
import { Rpc } from '../../src/server/threads/rpc.js';
import { ThreadSharedCache } from '../../src/server/threads/thread-cache.js';
import { makeBytes, Origin } from '../helpers/origin.js';
import { expectBytes } from '../helpers/origin-bytes.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SIZE = 2 * MiB;
const DATA = makeBytes(SIZE, 7);
/** Tiles of a slide: far apart (each its own span), of several sizes. */
const RANGES = Array.from({ length: 6 }, (_, i) => ({ offset: 1000 + i * 300 * KiB, length: 3000 + i * 1111 }));

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

function sched(shared: SharedCache): RangeScheduler {
  return new RangeScheduler(new HttpSource(origin.url('/slide.bin'), { transport, retryBaseMs: 5 }), { shared });
}

/** Every range of RANGES, each read by a caller of its own (as tiles are), in one tick. */
async function readAll(s: RangeScheduler): Promise<Uint8Array[]> {
  return (await Promise.all(RANGES.map((r) => s.read([r], new AbortController().signal)))).map((x) => x[0]!);
}

/** The scheduler learns the source's size and validator (what opening a slide does) and counts from there. */
async function opened(s: RangeScheduler): Promise<RangeScheduler> {
  expect(await s.size()).toBe(SIZE);
  await s.read([{ offset: 0, length: 16 }]);
  origin.resetCounters();
  return s;
}

/** Until the store's writes (fire and forget) have landed. */
async function settled(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

describe('RangeScheduler with a shared second level (MemorySharedCache)', () => {
  it('a second scheduler over the same URL reads the same ranges with no origin request for the data', async () => {
    const shared = new MemorySharedCache(64 * MiB);
    const a = await opened(sched(shared));
    const first = await readAll(a);
    RANGES.forEach((r, i) => expectBytes(first[i], DATA.subarray(r.offset, r.offset + r.length)));
    expect(origin.requests).toBeGreaterThan(0);
    await settled();
    expect(shared.stats().sets).toBeGreaterThanOrEqual(RANGES.length);

    const b = await opened(sched(shared));
    const hitsBefore = shared.stats().hits;
    const bBefore = b.stats();
    const second = await readAll(b);
    RANGES.forEach((r, i) => expectBytes(second[i], DATA.subarray(r.offset, r.offset + r.length)));
    expect(origin.requests).toBe(0);
    expect(b.stats().sharedHits - bBefore.sharedHits).toBe(RANGES.length);
    expect(b.stats().sharedMisses - bBefore.sharedMisses).toBe(0);
    expect(shared.stats().hits - hitsBefore).toBe(RANGES.length);
    // the hits went into b's own first level: read again, no lookup at all
    await readAll(b);
    expect(shared.stats().hits - hitsBefore).toBe(RANGES.length);
    expect(b.stats().cacheHits).toBeGreaterThanOrEqual(RANGES.length);
    await a.close();
    await b.close();
  });

  it('after the slide changed at the origin (other bytes, other ETag), reads miss the shared level, fetch again and get the new bytes', async () => {
    const shared = new MemorySharedCache(64 * MiB);
    const a = await opened(sched(shared));
    await readAll(a);
    await settled();
    const changed = makeBytes(SIZE, 99); // the same size: only the validator tells the versions apart
    origin.put('/slide.bin', changed);
    const c = await opened(sched(shared));
    const cBefore = c.stats();
    const after = await readAll(c);
    RANGES.forEach((r, i) => {
      expectBytes(after[i], changed.subarray(r.offset, r.offset + r.length));
      expect(Buffer.from(after[i]!).equals(Buffer.from(DATA.subarray(r.offset, r.offset + r.length)))).toBe(false);
    });
    expect(origin.requests).toBeGreaterThan(0);
    expect(c.stats().sharedHits - cBefore.sharedHits).toBe(0);
    expect(c.stats().sharedMisses - cBefore.sharedMisses).toBe(RANGES.length);
    // and the new version is shared in its turn
    await settled();
    const d = await opened(sched(shared));
    const again = await readAll(d);
    RANGES.forEach((r, i) => expectBytes(again[i], changed.subarray(r.offset, r.offset + r.length)));
    expect(origin.requests).toBe(0);
    for (const s of [a, c, d]) await s.close();
  });
});

/** Stores that break the interface's promises in the ways a real one can: each a miss, never a failed read. */
class Misbehaving implements SharedCache {
  calls = { getMany: 0, set: 0 };
  constructor(private readonly how: 'throw' | 'reject' | 'nonsense') {}
  getMany(keys: string[]): Promise<(Uint8Array | undefined)[]> {
    this.calls.getMany++;
    if (this.how === 'throw') throw new Error('store down');
    if (this.how === 'reject') return Promise.reject(new Error('store down'));
    // too few answers, of the wrong length
    return Promise.resolve(keys.slice(1).map(() => new Uint8Array(3)));
  }
  set(): Promise<void> {
    this.calls.set++;
    if (this.how === 'throw') throw new Error('store full');
    if (this.how === 'reject') return Promise.reject(new Error('store full'));
    return Promise.resolve();
  }
  delete(): Promise<void> {
    return this.how === 'reject' ? Promise.reject(new Error('store down')) : Promise.resolve();
  }
  stats(): SharedCacheStats {
    return { hits: 0, misses: 0, sets: 0, errors: 0 };
  }
}

describe('a shared level that fails is a miss, never a failed read', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => void unhandled.push(e);
  beforeEach(() => {
    unhandled.length = 0;
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  it.each(['throw', 'reject', 'nonsense'] as const)('a store whose calls %s: the origin answers, the bytes are right, nothing escapes', { timeout: 10_000 }, async (how) => {
    const store = new Misbehaving(how);
    const s = await opened(sched(store));
    for (let round = 0; round < 2; round++) {
      const got = await readAll(s);
      RANGES.forEach((r, i) => expectBytes(got[i], DATA.subarray(r.offset, r.offset + r.length)));
      s.clearCache(); // the first level forgets: the second is asked again
      await s.size();
    }
    await settled();
    expect(store.calls.getMany).toBeGreaterThan(0);
    expect(store.calls.set).toBeGreaterThan(0);
    expect(origin.requests).toBeGreaterThan(0);
    expect(s.stats().sharedHits).toBe(0);
    expect(unhandled).toEqual([]);
    await s.close();
  });

  it("a thread's view of the main thread's store that never answers: each lookup a miss after its timeout", async () => {
    const { port1, port2 } = new MessageChannel();
    try {
      // port2 has nobody behind it: calls go out and are never answered
      port2.on('message', () => undefined);
      const store = new ThreadSharedCache(new Rpc(port1, {}), 50);
      const s = await opened(sched(store));
      const got = await readAll(s);
      RANGES.forEach((r, i) => expectBytes(got[i], DATA.subarray(r.offset, r.offset + r.length)));
      expect(origin.requests).toBeGreaterThan(0);
      expect(store.stats().errors).toBeGreaterThan(0);
      expect(store.stats().hits).toBe(0);
      await s.close();
    } finally {
      port1.close();
      port2.close();
    }
  });
});

describe('MemorySharedCache', () => {
  const value = (n: number, seed: number): Uint8Array => makeBytes(n, seed);
  const key = (i: number): string => `k${i}`;

  it('holds at most maxBytes (values, keys and bookkeeping), least recently used out first', () => {
    const max = 20_000;
    const c = new MemorySharedCache(max);
    for (let i = 0; i < 10; i++) c.setSync(key(i), value(2000, i + 1));
    expect(c.bytes).toBeLessThanOrEqual(max);
    const kept = c.size;
    expect(kept).toBeGreaterThan(1);
    expect(kept).toBeLessThan(10); // 10 x 2000 bytes of values do not fit in 20 000 with their keys
    expect(c.stats().sets).toBe(10);
    // the newest `kept` are there, the older ones gone
    const oldest = 10 - kept;
    for (let i = oldest; i < 10; i++) expect(c.getSync(key(i)), key(i)).toEqual(value(2000, i + 1));
    for (let i = 0; i < oldest; i++) expect(c.getSync(key(i)), key(i)).toBeUndefined();
    // the lookups above made `oldest` the least recently used again: touch it, add one more,
    // and the next oldest goes instead
    expect(c.getSync(key(oldest))).toBeDefined();
    c.setSync(key(10), value(2000, 11));
    expect(c.bytes).toBeLessThanOrEqual(max);
    expect(c.size).toBe(kept);
    expect(c.getSync(key(oldest + 1))).toBeUndefined();
    expect(c.getSync(key(oldest))).toEqual(value(2000, oldest + 1));
    expect(c.getSync(key(10))).toEqual(value(2000, 11));
  });

  it('entries expire after their TTL (the default, or the one given), by the clock it is given', async () => {
    const clock = { t: 1_000_000 };
    const c = new MemorySharedCache(1 * MiB, 60, () => clock.t);
    c.setSync('a', value(100, 1)); // the default: 60 s
    await c.set('b', value(100, 2), 5);
    clock.t += 4_999;
    expect(c.getSync('a')).toBeDefined();
    expect((await c.getMany(['b']))[0]).toEqual(value(100, 2));
    clock.t += 1;
    expect(c.getSync('b')).toBeUndefined();
    expect(c.getSync('a')).toBeDefined();
    clock.t += 55_000;
    expect(await c.getMany(['a', 'b'])).toEqual([undefined, undefined]);
    expect(c.size).toBe(0);
    expect(c.bytes).toBe(0);
  });

  it('values over maxBytes/8 (and over 16 MiB whatever the bound) are refused, not stored', async () => {
    const c = new MemorySharedCache(80_000);
    c.setSync('fits', value(10_000, 1));
    await c.set('big', value(10_001, 2));
    expect(c.getSync('fits')).toEqual(value(10_000, 1));
    expect(c.getSync('big')).toBeUndefined();
    expect(c.stats().sets).toBe(1);
    expect(c.size).toBe(1);
    const huge = new MemorySharedCache(1024 * MiB);
    huge.setSync('x', new Uint8Array(16 * MiB + 1));
    huge.setSync('y', new Uint8Array(16 * MiB));
    expect(huge.getSync('x')).toBeUndefined();
    expect(huge.getSync('y')?.length).toBe(16 * MiB);
  });
});
