import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ImageboxError } from '../../src/errors.js';
import { HttpSource, type HttpSourceOptions } from '../../src/io/http-source.js';
import { UndiciTransport } from '../../src/io/undici-transport-node.js';
import { FetchTransport } from '../../src/io/fetch-transport.js';
import { makeBytes, Origin } from '../helpers/origin.js';
import { codeOf, expectBytes } from '../helpers/origin-bytes.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SMALL = makeBytes(256 * KiB, 7);
const BIG = makeBytes(8 * MiB, 11);

let origin: Origin;
let other: Origin;
let transport: UndiciTransport;

beforeAll(async () => {
  origin = await new Origin().start();
  other = await new Origin().start();
});
afterAll(async () => {
  await origin.stop();
  await other.stop();
});
beforeEach(() => {
  origin.faults = {};
  other.faults = {};
  origin.put('/small.bin', SMALL);
  origin.put('/big.bin', BIG);
  other.put('/small.bin', SMALL);
  origin.resetCounters();
  other.resetCounters();
  transport = new UndiciTransport({ connections: 4 });
});
afterEach(async () => {
  await transport.close();
});

function source(path = '/small.bin', opts: Partial<HttpSourceOptions> = {}): HttpSource {
  return new HttpSource(origin.url(path), { transport, retryBaseMs: 5, ...opts });
}

async function errorOf(p: Promise<unknown>): Promise<ImageboxError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ImageboxError) return e;
    throw e;
  }
  throw new Error('expected a failure');
}

const slice = (buf: Uint8Array, offset: number, length: number): Uint8Array => buf.subarray(offset, offset + length);

describe('HttpSource: answers that must not loop or hang (issue 7 item 14)', () => {
  it('multipart parts that cover none of the asked ranges: E_ORIGIN after one request, not the same batch for ever', async () => {
    origin.faults = { shortParts: true };
    const src = source();
    const e = await errorOf(src.read([{ offset: 100, length: 10 }, { offset: 100_000, length: 10 }]));
    expect(e.code).toBe('E_ORIGIN');
    expect(e.message).toMatch(/covers none of the 2 ranges/);
    expect(origin.requests).toBe(1);
  });
  it('a read waiting behind the first (range-probing) read gives up when its signal fires', async () => {
    origin.faults = { delayMs: 2000 };
    const src = source();
    const first = src.read([{ offset: 0, length: 10 }]).catch(() => undefined);
    const ac = new AbortController();
    const t0 = performance.now();
    const second = src.read([{ offset: 50, length: 10 }], ac.signal);
    setTimeout(() => ac.abort(), 50);
    expect((await errorOf(second)).code).toBe('E_ABORTED');
    expect(performance.now() - t0).toBeLessThan(1000);
    origin.faults = {};
    await first;
  });
  it('an origin that ignored Range on a big file is asked again once the refusal has aged', async () => {
    origin.faults = { noRange: true };
    const src = source('/big.bin', { wholeFileMaxBytes: 1 * MiB, rangeRefusalMs: 100 });
    expect((await errorOf(src.read([{ offset: 0, length: 10 }]))).code).toBe('E_RANGE_UNSUPPORTED');
    expect((await errorOf(src.read([{ offset: 0, length: 10 }]))).code).toBe('E_RANGE_UNSUPPORTED');
    expect(origin.requests).toBe(1); // the second failed fast
    origin.faults = {};
    await new Promise((r) => setTimeout(r, 150));
    const [a] = await src.read([{ offset: 5, length: 10 }]);
    expectBytes(a, slice(BIG, 5, 10));
  });
  it('a redirect target with credentials is refused, even where allow() admits the same URL without them (issue 7 item 11)', async () => {
    origin.faults = { redirects: { '/small.bin': `http://user:pw@127.0.0.1:${new URL(origin.base).port}/other.bin` } };
    origin.put('/other.bin', SMALL);
    const allow = (u: URL): boolean => u.origin === new URL(origin.base).origin && !u.username && !u.password;
    const src = source('/small.bin', { allow });
    const e = await errorOf(src.read([{ offset: 0, length: 10 }]));
    expect(e.code).toBe('E_FORBIDDEN');
    expect(e.message).toMatch(/credentials/);
    expect(origin.log.map((l) => l.path)).toEqual(['/small.bin']); // the target was never asked
  });
});

describe('HttpSource: ranges', () => {
  it('reads one range byte-exact with one request, learns size and validator', async () => {
    const src = source();
    const [a] = await src.read([{ offset: 1000, length: 5000 }]);
    expectBytes(a, slice(SMALL, 1000, 5000));
    expect(origin.requests).toBe(1);
    expect(origin.log[0]!.range).toBe('bytes=1000-5999');
    expect(await src.size()).toBe(SMALL.length);
    expect(origin.requests).toBe(1); // size() free after the first read
    expect(src.validator()).toBe(origin.files.get('/small.bin')!.etag);
    expect(src.stats()).toEqual({ requests: 1, bytesFetched: 5000, bytesRequested: 5000 });
  });

  it('size() before any read costs one request', async () => {
    const src = source('/big.bin');
    expect(await src.size()).toBe(BIG.length);
    expect(origin.requests).toBe(1);
    expect(origin.log[0]!.range).toBe('bytes=0-0');
  });

  it('sends disjoint ranges as ONE multi-range request and parses multipart', async () => {
    const src = source('/big.bin');
    const ranges = [
      { offset: 5 * MiB, length: 100 },
      { offset: 10, length: 20 },
      { offset: 1 * MiB, length: 70 * KiB },
      { offset: BIG.length - 3, length: 3 },
    ];
    const out = await src.read(ranges);
    ranges.forEach((r, i) => expectBytes(out[i], slice(BIG, r.offset, r.length)));
    expect(origin.requests).toBe(1);
    expect(origin.multiRangeRequests).toBe(1);
    expect(src.supportsMultiRange()).toBe(true);
  });

  it('handles parts in any order and coalesced, overlapping ranges', async () => {
    origin.faults = { reverseParts: true, coalesce: true };
    const src = source();
    const ranges = [
      { offset: 100, length: 50 },
      { offset: 120, length: 100 }, // overlaps the first
      { offset: 220, length: 10 }, // adjacent: merged
      { offset: 9000, length: 10 },
      { offset: 50_000, length: 1 },
    ];
    const out = await src.read(ranges);
    ranges.forEach((r, i) => expectBytes(out[i], slice(SMALL, r.offset, r.length)));
    expect(origin.requests).toBe(1);
  });

  it('origin answering a multi-range request with a single 206: re-requests the rest, stops trying multi-range', async () => {
    origin.faults = { noMultiRange: 'first' };
    const src = source();
    const ranges = [
      { offset: 0, length: 10 },
      { offset: 100_000, length: 10 },
      { offset: 200_000, length: 10 },
    ];
    const out = await src.read(ranges);
    ranges.forEach((r, i) => expectBytes(out[i], slice(SMALL, r.offset, r.length)));
    expect(origin.multiRangeRequests).toBe(1);
    expect(src.supportsMultiRange()).toBe(false);
    origin.resetCounters();
    const again = await src.read([{ offset: 5, length: 5 }, { offset: 150_000, length: 5 }]);
    expectBytes(again[1], slice(SMALL, 150_000, 5));
    expect(origin.multiRangeRequests).toBe(0);
    expect(origin.requests).toBe(2); // parallel single ranges
  });

  it('origin answering multi-range with 200 on a big file: falls back to single ranges', async () => {
    origin.faults = { noMultiRange: 'whole' };
    const src = source('/big.bin', { wholeFileMaxBytes: 1 * MiB });
    const ranges = [
      { offset: 3, length: 10 },
      { offset: 7 * MiB, length: 10 },
    ];
    const out = await src.read(ranges);
    ranges.forEach((r, i) => expectBytes(out[i], slice(BIG, r.offset, r.length)));
    expect(src.supportsMultiRange()).toBe(false);
    expect(src.isWholeFileInMemory()).toBe(false);
    expect(origin.requests).toBe(3);
  });

  it('origin answering only the first part of a multipart: re-requests what is missing', async () => {
    origin.faults = { partialMultipart: true };
    const src = source();
    const ranges = [
      { offset: 10, length: 10 },
      { offset: 60_000, length: 10 },
      { offset: 120_000, length: 10 },
    ];
    const out = await src.read(ranges);
    ranges.forEach((r, i) => expectBytes(out[i], slice(SMALL, r.offset, r.length)));
    expect(src.supportsMultiRange()).toBe(false);
  });

  it('origin capping the number of parts: learns the cap, keeps multi-range', async () => {
    origin.faults = { maxParts: 2 };
    const src = source();
    const ranges = [0, 1, 2, 3, 4].map((i) => ({ offset: i * 40_000, length: 100 + i }));
    const out = await src.read(ranges);
    ranges.forEach((r, i) => expectBytes(out[i], slice(SMALL, r.offset, r.length)));
    expect(src.supportsMultiRange()).toBe(true);
    origin.resetCounters();
    const again = await src.read(ranges.map((r) => ({ offset: r.offset + 1, length: 10 })));
    again.forEach((a, i) => expectBytes(a, slice(SMALL, ranges[i]!.offset + 1, 10)));
    expect(origin.requests).toBe(3); // 2 + 2 + 1 ranges
    expect(origin.log.every((l) => l.range!.split(',').length <= 2)).toBe(true);
  });

  // issue 11 item 5 (bench:load): one 200 to a multi-range request from a flaky
  // origin turned multi-range off for good, and one missing part capped every
  // later request at the parts it brought; a stream batch then cost up to 48 requests
  it('multi-range: one odd answer from an origin that answered multipart is a hiccup; what is learned (refused, a parts cap) is asked again after multiRangeReprobeMs', async () => {
    const ranges = [0, 1, 2, 3, 4].map((i) => ({ offset: i * 40_000, length: 100 + i }));
    const readAll = async (src: HttpSource, shift: number): Promise<void> => {
      const out = await src.read(ranges.map((r) => ({ offset: r.offset + shift, length: 10 })));
      out.forEach((a, i) => expectBytes(a, slice(SMALL, ranges[i]!.offset + shift, 10)));
    };
    // refused: one 200 answer to a multi-range request
    origin.faults = { noMultiRange: 'whole' };
    const src = source('/small.bin', { multiRangeReprobeMs: 200 });
    await src.read([{ offset: 0, length: 1 }]); // ranges work
    await readAll(src, 1);
    expect(src.supportsMultiRange()).toBe(false);
    origin.faults = {};
    origin.resetCounters();
    await readAll(src, 2);
    expect(origin.requests).toBe(5); // still learned: single ranges
    expect(origin.multiRangeRequests).toBe(0);
    await new Promise((r) => setTimeout(r, 250));
    origin.resetCounters();
    await readAll(src, 3);
    expect(origin.requests).toBe(1); // asked again: one multi-range request
    expect(origin.multiRangeRequests).toBe(1);
    expect(src.supportsMultiRange()).toBe(true);

    // an origin that has answered multipart: one 200 is a hiccup (that read goes in
    // single ranges), three in a row are a refusal
    let n = 0;
    origin.faults = { chaos: { rate: 1, kinds: ['200'] } };
    origin.resetCounters();
    origin.onRequest = () => {
      if (++n === 2) origin.faults = {};
    };
    await readAll(src, 7); // the 200, then five single ranges
    expect(origin.requests).toBe(6);
    expect(src.supportsMultiRange()).toBe(true);
    origin.resetCounters();
    await readAll(src, 8);
    expect(origin.multiRangeRequests).toBe(1);
    expect(origin.requests).toBe(1);
    origin.faults = { noMultiRange: 'whole' };
    for (const shift of [9, 10, 11]) await readAll(src, shift);
    expect(src.supportsMultiRange()).toBe(false);
    origin.faults = {};
    origin.resetCounters();
    await readAll(src, 12);
    expect(origin.multiRangeRequests).toBe(0);

    // capped: a multipart answer with fewer parts than asked
    origin.faults = { maxParts: 2 };
    const capped = source('/small.bin', { multiRangeReprobeMs: 200 });
    await readAll(capped, 4);
    origin.faults = {};
    origin.resetCounters();
    await readAll(capped, 5);
    expect(origin.requests).toBe(3); // 2 + 2 + 1: the cap holds for now
    await new Promise((r) => setTimeout(r, 250));
    origin.resetCounters();
    await readAll(capped, 6);
    expect(origin.requests).toBe(1); // all 5 in one request again
  });

  it('many ranges on one signal from an origin without multi-range: no listener-leak warning, abort still reaches every attempt', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const src = source('/big.bin', { multiRange: false });
      await src.read([{ offset: 0, length: 1 }]);
      const ranges = Array.from({ length: 48 }, (_, i) => ({ offset: i * 100_000, length: 1000 }));
      const ac = new AbortController();
      const out = await src.read(ranges, ac.signal);
      out.forEach((a, i) => expectBytes(a, slice(BIG, ranges[i]!.offset, 1000)));
      // the same fan-out, aborted while every attempt waits on a slow origin
      origin.faults = { delayMs: 2000 };
      const slow = new AbortController();
      const t0 = performance.now();
      const p = src.read(ranges.map((r) => ({ offset: r.offset + 7, length: 10 })), slow.signal);
      setTimeout(() => slow.abort(), 50);
      expect((await errorOf(p)).code).toBe('E_ABORTED');
      expect(performance.now() - t0).toBeLessThan(1500);
      await new Promise((r) => setTimeout(r, 20)); // warnings are emitted on a later tick
      expect(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning'))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('416 -> E_RANGE_NOT_SATISFIABLE; past the known end -> E_TRUNCATED without a request', async () => {
    origin.faults = { force416: true };
    expect(await codeOf(source().read([{ offset: 0, length: 10 }]))).toBe('E_RANGE_NOT_SATISFIABLE');
    origin.faults = {};
    const src = source();
    await src.read([{ offset: 0, length: 1 }]);
    origin.resetCounters();
    expect(await codeOf(src.read([{ offset: SMALL.length - 1, length: 2 }]))).toBe('E_TRUNCATED');
    expect(origin.requests).toBe(0);
  });

  it('maps 404, 403, 401 and 400', async () => {
    expect(await codeOf(source('/missing.bin').read([{ offset: 0, length: 1 }]))).toBe('E_NOT_FOUND');
    origin.faults = { status: 403 };
    expect(await codeOf(source().read([{ offset: 0, length: 1 }]))).toBe('E_FORBIDDEN');
    origin.faults = { status: 401 };
    expect(await codeOf(source().read([{ offset: 0, length: 1 }]))).toBe('E_FORBIDDEN');
    origin.faults = { status: 400 };
    expect(await codeOf(source().read([{ offset: 0, length: 1 }]))).toBe('E_ORIGIN');
    expect(origin.requests).toBe(4); // 4xx are not retried
  });
});

describe('HttpSource: origins that ignore Range', () => {
  it('big file answered 200: E_RANGE_UNSUPPORTED and the body is aborted', async () => {
    origin.faults = { noRange: true };
    const src = source('/big.bin', { wholeFileMaxBytes: 1 * MiB });
    expect(await codeOf(src.read([{ offset: 0, length: 100 }]))).toBe('E_RANGE_UNSUPPORTED');
    await waitFor(() => origin.abortedResponses >= 1);
    expect(origin.abortedResponses).toBe(1);
    expect(origin.bytesSent).toBeLessThan(BIG.length);
    expect(src.stats().bytesFetched).toBeLessThan(BIG.length);
  });

  it('big file answered 200 without Content-Length: stops at the bound', async () => {
    origin.faults = { noRange: true, noContentLength: true };
    const src = source('/big.bin', { wholeFileMaxBytes: 1 * MiB });
    expect(await codeOf(src.read([{ offset: 0, length: 100 }]))).toBe('E_RANGE_UNSUPPORTED');
    await waitFor(() => origin.abortedResponses >= 1);
    expect(origin.abortedResponses).toBe(1);
    expect(src.stats().bytesFetched).toBeLessThanOrEqual(1 * MiB + 64 * KiB);
  });

  it('concurrent first reads on an origin that ignores Range: one download, or one refusal', async () => {
    origin.faults = { noRange: true };
    const src = source();
    const outs = await Promise.all([0, 1, 2, 3, 4].map((i) => src.read([{ offset: i * 1000, length: 10 }])));
    outs.forEach((o, i) => expectBytes(o[0], slice(SMALL, i * 1000, 10)));
    expect(origin.requests).toBe(1);
    origin.resetCounters();
    const big = source('/big.bin', { wholeFileMaxBytes: 1 * MiB });
    const codes = await Promise.all([0, 1, 2].map((i) => codeOf(big.read([{ offset: i, length: 1 }]))));
    expect(codes).toEqual(['E_RANGE_UNSUPPORTED', 'E_RANGE_UNSUPPORTED', 'E_RANGE_UNSUPPORTED']);
    expect(origin.requests).toBe(1);
  });

  it('small file answered 200: read whole once, then served from memory', async () => {
    origin.faults = { noRange: true };
    const src = source();
    const [a] = await src.read([{ offset: 10, length: 10 }]);
    expectBytes(a, slice(SMALL, 10, 10));
    expect(src.isWholeFileInMemory()).toBe(true);
    const out = await src.read([
      { offset: 0, length: 5 },
      { offset: 200_000, length: 1000 },
    ]);
    expectBytes(out[1], slice(SMALL, 200_000, 1000));
    expect(await src.size()).toBe(SMALL.length);
    expect(origin.requests).toBe(1);
  });
});

describe('HttpSource: retries, timeouts, abort', () => {
  it('retries 5xx and succeeds (counted)', async () => {
    origin.faults = { fail500: 2 };
    const src = source();
    const [a] = await src.read([{ offset: 5, length: 50 }]);
    expectBytes(a, slice(SMALL, 5, 50));
    expect(origin.requests).toBe(3);
    expect(src.stats().requests).toBe(3);
  });

  it('permanent 5xx -> E_ORIGIN with the status', async () => {
    origin.faults = { fail500: 100 };
    const e = await errorOf(source('/small.bin', { retries: 2 }).read([{ offset: 5, length: 50 }]));
    expect(e.code).toBe('E_ORIGIN');
    expect(e.message).toContain('500');
    expect(origin.requests).toBe(3);
  });

  it('connection reset mid-body is retried', async () => {
    origin.faults = { resetMidBody: 1 };
    const src = source('/big.bin');
    const [a] = await src.read([{ offset: 100, length: 2 * MiB }]);
    expectBytes(a, slice(BIG, 100, 2 * MiB));
    expect(origin.requests).toBe(2);
    expect(origin.abortedResponses).toBeGreaterThanOrEqual(1);
  });

  it('multipart body cut mid-way is retried', async () => {
    origin.faults = { resetMidBody: 1 };
    const src = source('/big.bin');
    const ranges = [
      { offset: 0, length: 1 * MiB },
      { offset: 4 * MiB, length: 1 * MiB },
    ];
    const out = await src.read(ranges);
    ranges.forEach((r, i) => expectBytes(out[i], slice(BIG, r.offset, r.length)));
    expect(origin.multiRangeRequests).toBe(2);
  });

  it('reset on every attempt -> E_ORIGIN', async () => {
    origin.faults = { resetMidBody: 100 };
    const e = await errorOf(source('/big.bin', { retries: 2 }).read([{ offset: 0, length: 1 * MiB }]));
    expect(e.code).toBe('E_ORIGIN');
    expect(origin.requests).toBe(3);
  });

  it('slow origin -> E_TIMEOUT (no hang)', async () => {
    origin.faults = { delayMs: 30_000 };
    const e = await errorOf(source('/small.bin', { timeoutMs: 150, retries: 1 }).read([{ offset: 0, length: 10 }]));
    expect(e.code).toBe('E_TIMEOUT');
    expect(origin.requests).toBe(2);
    await waitFor(() => origin.clientGaveUp >= 2);
    expect(origin.clientGaveUp).toBe(2);
  });

  it('AbortSignal cancels a read in flight', async () => {
    origin.faults = { delayMs: 30_000 };
    const ac = new AbortController();
    origin.onRequest = () => ac.abort();
    const e = await errorOf(source().read([{ offset: 0, length: 10 }], ac.signal));
    expect(e.code).toBe('E_ABORTED');
    expect(origin.requests).toBe(1);
    await waitFor(() => origin.clientGaveUp >= 1);
    expect(origin.clientGaveUp).toBe(1);
  });
});

describe('HttpSource: validators', () => {
  it('sends If-Range; a changed ETag -> E_SOURCE_CHANGED and onChange fires', async () => {
    const seen: string[] = [];
    const src = source('/small.bin', { onChange: (e) => seen.push(e.code) });
    await src.read([{ offset: 0, length: 10 }]);
    const etag = origin.files.get('/small.bin')!.etag;
    await src.read([{ offset: 10, length: 10 }]);
    expect(origin.log[1]!.headers['if-range']).toBe(etag);
    origin.put('/small.bin', makeBytes(SMALL.length, 99)); // new ETag, same size
    expect(await codeOf(src.read([{ offset: 20, length: 10 }]))).toBe('E_SOURCE_CHANGED');
    expect(seen).toEqual(['E_SOURCE_CHANGED']);
    // The next read starts afresh on the new bytes.
    const [a] = await src.read([{ offset: 20, length: 10 }]);
    expectBytes(a, slice(makeBytes(SMALL.length, 99), 20, 10));
  });

  it('a 206 carrying a different ETag (origin ignores If-Range) -> E_SOURCE_CHANGED', async () => {
    origin.faults = { ignoreIfRange: true };
    const src = source();
    let changes = 0;
    src.onChange(() => changes++);
    await src.read([{ offset: 0, length: 10 }]);
    origin.put('/small.bin', makeBytes(SMALL.length, 5));
    expect(await codeOf(src.read([{ offset: 0, length: 10 }]))).toBe('E_SOURCE_CHANGED');
    expect(changes).toBe(1);
  });

  it('a changed size in Content-Range -> E_SOURCE_CHANGED', async () => {
    origin.faults = { ignoreIfRange: true, noEtag: true };
    const src = source();
    await src.read([{ offset: 0, length: 10 }]);
    const f = origin.files.get('/small.bin')!;
    origin.files.set('/small.bin', { ...f, data: makeBytes(SMALL.length + 10, 5) }); // same Last-Modified
    expect(await codeOf(src.read([{ offset: 0, length: 10 }]))).toBe('E_SOURCE_CHANGED');
  });

  it('uses Last-Modified for If-Range when there is no ETag', async () => {
    origin.faults = { noEtag: true };
    const src = source();
    await src.read([{ offset: 0, length: 10 }]);
    expect(origin.log[0]!.headers['if-range']).toBeUndefined();
    await src.read([{ offset: 0, length: 10 }]);
    // Last-Modified is the validator when there is no strong ETag.
    expect(origin.log[1]!.headers['if-range']).toBe(origin.files.get('/small.bin')!.lastModified);
  });

  it('weak ETag is not used for If-Range', async () => {
    origin.faults = { weakEtag: true };
    const src = source();
    await src.read([{ offset: 0, length: 10 }]);
    await src.read([{ offset: 10, length: 10 }]);
    expect(origin.log[1]!.headers['if-range']).toBe(origin.files.get('/small.bin')!.lastModified);
  });
});

describe('HttpSource: headers, redirects, allow()', () => {
  const SECRET = 'Bearer s3cr3t-token';

  it('sends the configured Authorization to its origin and across same-origin redirects', async () => {
    origin.faults = { redirects: { '/alias.bin': '/small.bin' } };
    const src = source('/alias.bin', { headers: { Authorization: SECRET } });
    const [a] = await src.read([{ offset: 0, length: 100 }]);
    expectBytes(a, slice(SMALL, 0, 100));
    expect(origin.log.map((r) => r.path)).toEqual(['/alias.bin', '/small.bin']);
    expect(origin.log.every((r) => r.headers['authorization'] === SECRET)).toBe(true);
  });

  it('refuses a cross-origin redirect by default (E_FORBIDDEN), other origin never contacted', async () => {
    origin.faults = { redirects: { '/x.bin': other.url('/small.bin') } };
    const e = await errorOf(source('/x.bin', { headers: { Authorization: SECRET } }).read([{ offset: 0, length: 10 }]));
    expect(e.code).toBe('E_FORBIDDEN');
    expect(e.message).not.toContain('s3cr3t');
    expect(other.requests).toBe(0);
  });

  it('follows a cross-origin redirect without the configured headers when allowed', async () => {
    origin.faults = { redirects: { '/x.bin': other.url('/small.bin') } };
    const src = source('/x.bin', { headers: { Authorization: SECRET }, allowCrossOriginRedirects: true });
    const [a] = await src.read([{ offset: 50, length: 10 }]);
    expectBytes(a, slice(SMALL, 50, 10));
    expect(origin.log[0]!.headers['authorization']).toBe(SECRET);
    expect(other.requests).toBe(1);
    expect(other.log[0]!.headers['authorization']).toBeUndefined();
    expect(other.log[0]!.range).toBe('bytes=50-59');
  });

  it('allow() refuses a redirect target', async () => {
    origin.faults = { redirects: { '/x.bin': other.url('/small.bin') } };
    const allowed = new URL(origin.base).origin;
    const src = source('/x.bin', { allowCrossOriginRedirects: true, allow: (u) => u.origin === allowed });
    expect(await codeOf(src.read([{ offset: 0, length: 10 }]))).toBe('E_FORBIDDEN');
    expect(origin.requests).toBe(1);
    expect(other.requests).toBe(0);
  });

  it('allow() is checked on the first URL too', async () => {
    const src = source('/small.bin', { allow: () => false });
    expect(await codeOf(src.read([{ offset: 0, length: 10 }]))).toBe('E_FORBIDDEN');
    expect(origin.requests).toBe(0);
  });

  it('URL credentials become Basic auth and never appear in the id', async () => {
    const u = new URL(origin.url('/small.bin'));
    u.username = 'alice';
    u.password = 'pw';
    const src = new HttpSource(u, { transport });
    await src.read([{ offset: 0, length: 1 }]);
    expect(src.id).not.toContain('alice');
    expect(origin.log[0]!.headers['authorization']).toBe('Basic ' + Buffer.from('alice:pw').toString('base64'));
  });
});

describe('HttpSource over the fetch transport', () => {
  it('reads single and multi-range with fetch', async () => {
    const src = new HttpSource(origin.url('/small.bin'), { transport: new FetchTransport() });
    const ranges = [
      { offset: 7, length: 70 },
      { offset: 100_000, length: 1000 },
    ];
    const out = await src.read(ranges);
    ranges.forEach((r, i) => expectBytes(out[i], slice(SMALL, r.offset, r.length)));
    const [one] = await src.read([{ offset: 3, length: 3 }]);
    expectBytes(one, slice(SMALL, 3, 3));
    expect(origin.multiRangeRequests).toBe(1);
    expect(origin.requests).toBe(2);
  });

  it('refuses a cross-origin redirect with fetch too', async () => {
    origin.faults = { redirects: { '/x.bin': other.url('/small.bin') } };
    const src = new HttpSource(origin.url('/x.bin'), { transport: new FetchTransport() });
    expect(await codeOf(src.read([{ offset: 0, length: 10 }]))).toBe('E_FORBIDDEN');
    expect(other.requests).toBe(0);
  });
});

/** Wait for a server-side condition (the server learns of a closed socket asynchronously). */
async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
}
