// Issue 11 item 2, through the real server and a real (fault-injecting) origin:
// each fault on every answer gives its exact status and error code, and once the
// fault is cleared the same tile is 200 with exactly the bytes the server makes
// from the local file (nothing broken was cached); the same fault on the first
// answer only is retried into a good tile. Then a file changed under the server:
// nothing derived from the old bytes is served (neighbours read ahead for IIIF
// clients, a worker's copy, tiles streamed, pushed ahead or decoded for a
// WebSocket client, a read retried across the change). Counts requests, never times.
//
// The remote slides are opened by the registry's own `open` hook with small
// HttpSource limits (a 500 ms attempt timeout, a 1.5 s deadline, 5 ms first
// backoff), so hangs end quickly; passthrough tiles of remote slides are read on
// the main thread, through that source. Transcoded regions are read in the pixel
// workers, which open slides themselves with the defaults (used only for faults
// that answer at once).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CircuitBreakers } from '../../src/io/circuit-breaker.js';
import type { HttpSourceOptions } from '../../src/io/http-source.js';
import { openByteSource } from '../../src/io/open-source-node.js';
import { UndiciTransport } from '../../src/io/undici-transport-node.js';
import { openSlide } from '../../src/node/open-slide.js';
import { allowPredicate } from '../../src/server/allow.js';
import type { SourceSpec } from '../../src/server/registry.js';
import type { Slide } from '../../src/slide/slide.js';
import { connectTileStream, type StreamSlide, type StreamTile, type TileStream } from '../../src/stream/client-node.js';
import { Origin, type ChaosKind, type Faults } from '../helpers/origin.js';
import { decodeImage } from '../helpers/pixels.js';
import { FIXTURES, start, type StartedServer } from './helpers.js';

const A = 'aperio-jpeg.svs'; // 8000 x 6000, 256 px JPEG tiles, 9.4 MB
const A_BYTES = new Uint8Array(readFileSync(`${FIXTURES}/${A}`));
const B = 'generic-pyramid-jpeg.tif'; // 4096 x 3072, 256 px JPEG tiles: other bytes, other pixels
const B_BYTES = new Uint8Array(readFileSync(`${FIXTURES}/${B}`));
const MiB = 1024 * 1024;
const LIMITS = { timeoutMs: 500, deadlineMs: 1500, retryBaseMs: 5 } as const;
/** Attempts of one read before it gives up (retries 5, the default). */
const ATTEMPTS = 6;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

interface Got {
  status: number;
  body: Uint8Array;
  code: string | undefined;
  message: string | undefined;
  path: string | null;
}

async function get(url: string): Promise<Got> {
  const r = await fetch(url);
  const body = new Uint8Array(await r.arrayBuffer());
  let code: string | undefined;
  let message: string | undefined;
  if (r.headers.get('content-type')?.startsWith('application/json') && r.status >= 400) {
    const e = (JSON.parse(new TextDecoder().decode(body)) as { error: { code: string; message: string } }).error;
    code = e.code;
    message = e.message;
  }
  return { status: r.status, body, code, message, path: r.headers.get('x-tile-path') };
}

/** The registry's `open` with the real HttpSource, its limits set per slide (what openSpec does, plus the options). */
function opener(transport: UndiciTransport, options: (spec: SourceSpec) => Partial<HttpSourceOptions>) {
  return async (spec: SourceSpec): Promise<Slide> => {
    const source = openByteSource(spec.location, {
      http: { transport, headers: spec.headers ?? {}, allow: allowPredicate(spec.allow ?? []), ...options(spec) },
      scheduler: {},
    });
    try {
      return await openSlide(source);
    } catch (e) {
      await source.close?.();
      throw e;
    }
  };
}

/** `faults` on the first answer only: cleared as the second request arrives. */
function firstAnswerOnly(origin: Origin, faults: Faults): void {
  origin.faults = faults;
  let n = 0;
  origin.onRequest = () => {
    if (++n === 2) origin.faults = {};
  };
}

/** Where a stored tile's bytes are in a fixture. */
async function tileRange(file: string, col: number, row: number): Promise<{ offset: number; length: number }> {
  const local = await openSlide(`${FIXTURES}/${file}`);
  try {
    await local.warmLevel(0);
    return local.tileByteRange(0, col, row)!;
  } finally {
    await local.close();
  }
}

/** Whether any request the origin logged asked for a byte of `r`. */
function asked(o: Origin, r: { offset: number; length: number }): boolean {
  return o.log.some((l) =>
    (l.range ?? '')
      .replace('bytes=', '')
      .split(',')
      .filter(Boolean)
      .some((p) => {
        const [a, b] = p.split('-').map(Number) as [number, number];
        return a < r.offset + r.length && b >= r.offset;
      }),
  );
}

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

let origin: Origin;
let other: Origin;
let ref: StartedServer;
let s: StartedServer;
let transport: UndiciTransport;

beforeAll(async () => {
  origin = await new Origin().start();
  other = await new Origin().start();
  for (const p of ['/r.svs', '/auth/s.svs', '/flap.svs', '/norange.svs', '/open416.svs', '/mp-reordered.svs', '/mp-missing.svs', '/mp-short.svs', '/st.svs', '/mix.svs']) origin.put(p, A_BYTES);
  other.put('/auth/s.svs', A_BYTES);
  transport = new UndiciTransport({ connections: 8 });
  ref = await start(); // the fixtures as files: the reference for every tile
  s = await start({
    registry: {
      config: {
        slides: {
          r: { url: origin.url('/r.svs') },
          auth: { url: origin.url('/auth/s.svs'), headers: { Authorization: 'Bearer t0ken-for-origin-only' } },
          flap: { url: origin.url('/flap.svs') },
          norange: { url: origin.url('/norange.svs') },
          open416: { url: origin.url('/open416.svs') },
          'mp-reordered': { url: origin.url('/mp-reordered.svs') },
          'mp-missing': { url: origin.url('/mp-missing.svs') },
          'mp-short': { url: origin.url('/mp-short.svs') },
          st: { url: origin.url('/st.svs') },
          mix: { url: origin.url('/mix.svs') },
        },
      },
      // never the shared breakers: a test's failures must not open the origin's circuit for the next test
      open: opener(transport, (spec) => ({ ...LIMITS, breakers: false, ...(spec.location.endsWith('/norange.svs') ? { wholeFileMaxBytes: MiB } : {}) })),
    },
    images: { neighbourPrefetch: false },
    pixels: { size: 1 },
  });
  expect((await get(`${s.url}/iiif/3/r/info.json`)).status).toBe(200);
  // the level's offset arrays in memory: from now on a tile of level 0 is one range request
  await s.box.context.registry.use('r', (_e, slide) => slide.warmLevel(0));
});

afterAll(async () => {
  await s?.close();
  await ref?.close();
  await transport?.close();
  await origin?.stop();
  await other?.stop();
});

/**
 * Full tiles of level 0 not asked for before: each read costs exactly one origin
 * request (row 0 is not used: the open's 64 KiB head read holds most of it).
 */
let nextTile = 0;
function freshTile(): string {
  const k = nextTile++;
  const col = k % 31;
  const row = 1 + Math.floor(k / 31);
  if (row > 22) throw new Error('out of fresh tiles');
  return `${col * 256},${row * 256},256,256/256,256/0/default.jpg`;
}

async function reference(p: string, file = A): Promise<Uint8Array> {
  const r = await get(`${ref.url}/iiif/3/${file}/${p}`);
  expect(r.status).toBe(200);
  return r.body;
}

/**
 * The tile from a remote slide is 200 and byte-identical to the one the server
 * makes from the local file, and read from the origin (`requests` requests),
 * not from a cache.
 */
async function expectGood(p: string, id = 'r', requests: number | null = 1, server = s, from = origin, file = A): Promise<void> {
  from.resetCounters();
  const r = await get(`${server.url}/iiif/3/${id}/${p}`);
  expect(r.status, `${id}/${p}`).toBe(200);
  expect(same(r.body, await reference(p, file)), `${id}/${p}: the stored bytes`).toBe(true);
  expect(r.path).toBe('passthrough');
  if (requests !== null) expect(from.requests).toBe(requests);
}

/** A fault on every answer: the exact status and code, then cleared: the same tile good. */
async function persistent(faults: Faults, status: number, code: string, requests: number | [number, number]): Promise<Got> {
  const p = freshTile();
  origin.resetCounters();
  origin.faults = faults;
  let bad: Got;
  try {
    bad = await get(`${s.url}/iiif/3/r/${p}`);
  } finally {
    origin.faults = {};
  }
  expect([bad.status, bad.code, bad.message]).toEqual([status, code, expect.any(String)]);
  if (typeof requests === 'number') expect(origin.requests).toBe(requests);
  else {
    expect(origin.requests).toBeGreaterThanOrEqual(requests[0]);
    expect(origin.requests).toBeLessThanOrEqual(requests[1]);
  }
  await expectGood(p);
  return bad;
}

/** The same fault on the first answer only: retried, 200, the stored bytes, two requests. */
async function transient(faults: Faults): Promise<void> {
  const p = freshTile();
  origin.resetCounters();
  firstAnswerOnly(origin, faults);
  try {
    const r = await get(`${s.url}/iiif/3/r/${p}`);
    expect(r.status).toBe(200);
    expect(same(r.body, await reference(p)), 'the stored bytes, not the broken answer').toBe(true);
    expect(origin.requests).toBe(2);
  } finally {
    origin.resetCounters();
    origin.faults = {};
  }
}

const chaos = (kind: ChaosKind): Faults => ({ chaos: { rate: 1, kinds: [kind], hangMs: 5000 } });

describe('origin faults on a remote slide already open: exact status and code, then a good tile', () => {
  it('connection reset mid-body: every answer -> 502 E_ORIGIN after 6 attempts; the first only -> retried, 200', async () => {
    const bad = await persistent({ resetMidBody: 1000 }, 502, 'E_ORIGIN', ATTEMPTS);
    expect(bad.message).toMatch(/mid-body/);
    await transient({ resetMidBody: 1 });
  });

  it('5xx: every answer 503 -> 502 E_ORIGIN after 6 attempts; the first 500 only -> retried, 200', async () => {
    const bad = await persistent({ status: 503 }, 502, 'E_ORIGIN', ATTEMPTS);
    expect(bad.message).toMatch(/503/);
    await transient({ fail500: 1 });
  });

  it('a hang (no answer): every request abandoned at its timeout, 504 E_TIMEOUT at the deadline; the first only -> retried, 200', async () => {
    const p = freshTile();
    origin.resetCounters();
    origin.faults = { delayMs: 60_000 };
    let bad: Got;
    try {
      bad = await get(`${s.url}/iiif/3/r/${p}`);
      // 1.5 s deadline / 500 ms per attempt: 3 attempts (4 if backoffs are all but zero), each given up by the server
      expect([bad.status, bad.code]).toEqual([504, 'E_TIMEOUT']);
      expect(origin.requests).toBeGreaterThanOrEqual(3);
      expect(origin.requests).toBeLessThanOrEqual(4);
      await waitFor(() => origin.clientGaveUp === origin.requests, 'the origin to see every request abandoned');
      expect(origin.log.every((l) => l.status === undefined)).toBe(true); // none was answered
    } finally {
      origin.faults = {};
    }
    await expectGood(p);
    await transient(chaos('hang'));
  });

  it('a slow body (headers, half the body, then a stall): the attempt times out mid-body, 504 E_TIMEOUT; the first only -> retried, 200', async () => {
    const bad = await persistent({ stallMidBodyMs: 60_000 }, 504, 'E_TIMEOUT', [3, 4]);
    expect(bad.message).toMatch(/no answer within/);
    await transient({ stallMidBodyMs: 60_000 });
  });

  it('a slow answer within the attempt timeout is waited for: 200, one request, no retry', async () => {
    const p = freshTile();
    origin.resetCounters();
    origin.faults = chaos('slow'); // 150 ms late, correct
    try {
      const r = await get(`${s.url}/iiif/3/r/${p}`);
      expect(r.status).toBe(200);
      expect(same(r.body, await reference(p))).toBe(true);
      expect(origin.requests).toBe(1);
      expect(origin.faults.chaos!.broken).toEqual({ slow: 1 });
    } finally {
      origin.faults = {};
    }
  });

  it('a short body (206 with self-consistent headers for fewer bytes than asked): 502 E_ORIGIN after 6 attempts, never served or cached; the first only -> 200', async () => {
    const bad = await persistent(chaos('short'), 502, 'E_ORIGIN', ATTEMPTS);
    expect(bad.message).toMatch(/asked bytes=\d+-\d+, got bytes/);
    await transient(chaos('short'));
  });

  it('a wrong Content-Range (another range\'s bytes): 502 E_ORIGIN after 6 attempts, never served or cached; the first only -> 200', async () => {
    const bad = await persistent(chaos('wrongRange'), 502, 'E_ORIGIN', ATTEMPTS);
    expect(bad.message).toMatch(/got bytes/);
    await transient(chaos('wrongRange'));
  });

  it('200 with the whole file instead of 206 (validator unchanged): 502 E_ORIGIN after 6 attempts, the body not used; the first only -> 200', async () => {
    const bad = await persistent({ noRange: true }, 502, 'E_ORIGIN', ATTEMPTS);
    expect(bad.message).toMatch(/200 answer to a range request/);
    await transient(chaos('200'));
  });

  it('416 for a range inside the known size: 502 E_ORIGIN after 6 attempts; the first only -> 200', async () => {
    const bad = await persistent({ force416: true }, 502, 'E_ORIGIN', ATTEMPTS);
    expect(bad.message).toMatch(/416 for a range inside the file/);
    await transient(chaos('416'));
  });
});

describe('origin faults when the slide is opened, and answers that are not faults', () => {
  it('416 before the size is known (the open): 502 E_RANGE_NOT_SATISFIABLE, not retried; cleared: info 200 and a good tile', async () => {
    origin.resetCounters();
    origin.faults = { force416: true };
    let bad: Got;
    try {
      bad = await get(`${s.url}/iiif/3/open416/info.json`);
    } finally {
      origin.faults = {};
    }
    expect([bad.status, bad.code]).toEqual([502, 'E_RANGE_NOT_SATISFIABLE']);
    expect(origin.requests).toBe(1);
    expect((await get(`${s.url}/iiif/3/open416/info.json`)).status).toBe(200); // a failed open is not kept
    await expectGood(freshTile(), 'open416');
  });

  it('200 instead of 206 from the first answer on (an origin that ignores Range) for a file over wholeFileMaxBytes: 502 E_RANGE_UNSUPPORTED, the body not downloaded; cleared: a good tile', async () => {
    origin.resetCounters();
    origin.faults = { noRange: true };
    let bad: Got;
    try {
      bad = await get(`${s.url}/iiif/3/norange/info.json`);
    } finally {
      origin.faults = {};
    }
    expect([bad.status, bad.code]).toEqual([502, 'E_RANGE_UNSUPPORTED']);
    expect(origin.requests).toBe(1);
    await waitFor(() => origin.abortedResponses === 1, 'the 200 body to be dropped');
    expect(origin.bytesSent).toBeLessThan(A_BYTES.length);
    expect((await get(`${s.url}/iiif/3/norange/info.json`)).status).toBe(200);
    await expectGood(freshTile(), 'norange');
  });

  it('an ETag that changes on every answer: the reopened slide meets another change, 502 E_SOURCE_CHANGED; once it holds still: the bytes as they are, 200', async () => {
    expect((await get(`${s.url}/iiif/3/flap/info.json`)).status).toBe(200);
    const changes = s.box.context.registry.changes;
    const p = freshTile();
    origin.resetCounters();
    origin.onRequest = () => origin.put('/flap.svs', A_BYTES); // same bytes, a new ETag for each answer
    const bad = await get(`${s.url}/iiif/3/flap/${p}`);
    origin.onRequest = undefined;
    expect([bad.status, bad.code]).toEqual([502, 'E_SOURCE_CHANGED']);
    expect(s.box.context.registry.changes).toBe(changes + 1); // found, the slide dropped and opened again: which met the next change
    // the tile's read (200: If-Range no longer matched), then the reopen's head and tail reads (the tail met the next ETag): no loop
    expect(origin.log.map((l) => l.status)).toEqual([200, 206, 200]);
    await expectGood(p, 'flap', 3); // open (head, tail) and the tile
    expect(s.box.context.registry.changes).toBe(changes + 1);
  });

  it('multipart answers with the parts reordered: 200, the stored pixels (worker reads, default limits)', async () => {
    // a column of four tiles: four disjoint ranges, one multi-range request
    const p = '2560,1280,256,1024/256,/0/default.png';
    origin.resetCounters();
    origin.faults = { reverseParts: true };
    try {
      const r = await get(`${s.url}/iiif/3/mp-reordered/${p}`);
      expect(r.status).toBe(200);
      expect(r.path).toBe('transcode');
      expect(same((await decodeImage(r.body)).data, (await decodeImage(await reference(p))).data)).toBe(true);
      expect(origin.multiRangeRequests).toBeGreaterThanOrEqual(1);
    } finally {
      origin.faults = {};
    }
  });

  it('multipart answers with parts missing: the missing ranges asked again one by one, 200, the stored pixels', async () => {
    const warm = '0,2560,256,256/256,/0/default.png'; // opens the slide in the worker first
    expect((await get(`${s.url}/iiif/3/mp-missing/${warm}`)).status).toBe(200);
    const p = '2560,1280,256,1024/256,/0/default.png';
    origin.resetCounters();
    origin.faults = { partialMultipart: true };
    try {
      const r = await get(`${s.url}/iiif/3/mp-missing/${p}`);
      expect(r.status).toBe(200);
      expect(same((await decodeImage(r.body)).data, (await decodeImage(await reference(p))).data)).toBe(true);
      expect(origin.multiRangeRequests).toBe(1);
      expect(origin.rangeRequests).toBe(4); // the multipart with one part, then the other three tiles
    } finally {
      origin.faults = {};
    }
  });

  it('multipart answers whose parts cover none of the asked ranges: not trusted, each range asked alone, 200, the stored pixels', async () => {
    const warm = '0,2560,256,256/256,/0/default.png';
    expect((await get(`${s.url}/iiif/3/mp-short/${warm}`)).status).toBe(200);
    const p = '2560,1280,256,1024/256,/0/default.png';
    origin.resetCounters();
    origin.faults = { shortParts: true };
    try {
      const r = await get(`${s.url}/iiif/3/mp-short/${p}`);
      expect(r.status).toBe(200);
      expect(same((await decodeImage(r.body)).data, (await decodeImage(await reference(p))).data)).toBe(true);
      expect(origin.multiRangeRequests).toBe(1);
      expect(origin.rangeRequests).toBe(5);
    } finally {
      origin.faults = {};
    }
  });
});

describe('a redirect to another host', () => {
  it('refused with 403 E_FORBIDDEN, not followed: the other host gets no request, so never the Authorization; cleared: a good tile', async () => {
    expect((await get(`${s.url}/iiif/3/auth/info.json`)).status).toBe(200);
    await s.box.context.registry.use('auth', (_e, slide) => slide.warmLevel(0));
    const p = freshTile();
    origin.resetCounters();
    other.resetCounters();
    origin.faults = { redirects: { '/auth/s.svs': other.url('/auth/s.svs') } };
    let bad: Got;
    try {
      bad = await get(`${s.url}/iiif/3/auth/${p}`);
    } finally {
      origin.faults = {};
    }
    expect([bad.status, bad.code]).toEqual([403, 'E_FORBIDDEN']);
    expect(bad.message).not.toContain('127.0.0.1');
    expect(origin.log.map((l) => l.status)).toEqual([302]);
    expect(origin.log[0]!.headers.authorization).toBe('Bearer t0ken-for-origin-only');
    expect(other.requests).toBe(0);
    await expectGood(p, 'auth');
    expect(origin.log[0]!.headers.authorization).toBe('Bearer t0ken-for-origin-only');
  });

  it('refused even when the other host is under an allowed prefix (403 E_FORBIDDEN: another origin); a redirect on the same origin is followed with the header', async () => {
    const t = await start({
      registry: {
        config: { allow: [other.url('/')], slides: { auth: { url: origin.url('/auth/s.svs'), headers: { Authorization: 'Bearer t0ken-for-origin-only' } } } },
        open: opener(transport, () => ({ ...LIMITS, breakers: false })),
      },
      images: { neighbourPrefetch: false },
      pixels: { size: 1 },
    });
    try {
      expect((await get(`${t.url}/iiif/3/auth/info.json`)).status).toBe(200);
      await t.box.context.registry.use('auth', (_e, slide) => slide.warmLevel(0));
      const p = freshTile();
      other.resetCounters();
      origin.faults = { redirects: { '/auth/s.svs': other.url('/auth/s.svs') } };
      let bad: Got;
      try {
        bad = await get(`${t.url}/iiif/3/auth/${p}`);
      } finally {
        origin.faults = {};
      }
      expect([bad.status, bad.code]).toEqual([403, 'E_FORBIDDEN']);
      expect(bad.message).toMatch(/redirect to another origin/);
      expect(other.requests).toBe(0);
      // the same file moved on its own origin (same ETag): followed, the header sent on both hops
      origin.files.set('/auth/moved.svs', origin.files.get('/auth/s.svs')!);
      origin.faults = { redirects: { '/auth/s.svs': '/auth/moved.svs' } };
      try {
        await expectGood(p, 'auth', 2, t);
      } finally {
        origin.faults = {};
      }
      expect(origin.log.map((l) => [l.path, l.status, l.headers.authorization])).toEqual([
        ['/auth/s.svs', 302, 'Bearer t0ken-for-origin-only'],
        ['/auth/moved.svs', 206, 'Bearer t0ken-for-origin-only'],
      ]);
      expect(other.requests).toBe(0);
    } finally {
      await t.close();
    }
  });
});

describe('a circuit breaker per origin (threshold 3, cool-down 300 ms here)', () => {
  let dead: Origin;
  let b: StartedServer;
  beforeAll(async () => {
    dead = await new Origin().start();
    dead.put('/d.svs', A_BYTES);
    origin.put('/r2.svs', A_BYTES);
    const breakers = new CircuitBreakers({ threshold: 3, coolDownMs: 300 });
    b = await start({
      registry: {
        config: { slides: { d: { url: dead.url('/d.svs') }, r2: { url: origin.url('/r2.svs') } } },
        open: opener(transport, () => ({ ...LIMITS, breakers })),
      },
      images: { neighbourPrefetch: false },
      pixels: { size: 1 },
    });
    for (const id of ['d', 'r2']) {
      expect((await get(`${b.url}/iiif/3/${id}/info.json`)).status).toBe(200);
      await b.box.context.registry.use(id, (_e, slide) => slide.warmLevel(0));
    }
  });
  afterAll(async () => {
    await b?.close();
    await dead?.stop();
  });

  for (const [what, faults, first] of [
    ['answering 503', { status: 503 }, [502, 'E_ORIGIN']],
    ['hanging', { delayMs: 60_000 }, [504, 'E_TIMEOUT']],
  ] as const) {
    it(`an origin ${what}: the third failure opens it, reads then fail at once with 502 E_ORIGIN and send nothing; another origin is served; after the cool-down one probe, and good tiles`, async () => {
      const p1 = freshTile();
      const p2 = freshTile();
      dead.resetCounters();
      dead.faults = { ...faults };
      try {
        const r1 = await get(`${b.url}/iiif/3/d/${p1}`);
        expect([r1.status, r1.code]).toEqual(first);
        expect(dead.requests).toBe(3); // the fourth attempt was not sent
        const r2 = await get(`${b.url}/iiif/3/d/${p2}`);
        expect([r2.status, r2.code]).toEqual([502, 'E_ORIGIN']);
        expect(r2.message).toMatch(/circuit open/);
        expect(dead.requests).toBe(3);
        await expectGood(freshTile(), 'r2', 1, b); // the other origin is not held up
      } finally {
        dead.faults = {};
      }
      await sleep(350);
      await expectGood(p2, 'd', 1, b, dead); // the probe
      await expectGood(p1, 'd', 1, b, dead);
    });
  }
});

describe('a file changed while a read of the old slide is being retried', () => {
  it('the retry never takes the new bytes at the old offsets: the tile is 200 from the new file (the slide opened again), never other bytes or a corrupt tile', async () => {
    expect((await get(`${s.url}/iiif/3/mix/info.json`)).status).toBe(200);
    await s.box.context.registry.use('mix', (_e, slide) => slide.warmLevel(0));
    const pY = '1280,1536,256,256/256,256/0/default.jpg'; // tile (5, 6): in both files
    const pX = '1536,1792,256,256/256,256/0/default.jpg'; // tile (6, 7)
    origin.resetCounters();
    // Y's first attempt gets no answer (it times out); by its retry the file has changed and X found it
    origin.faults = { delayMs: 60_000 };
    let arrived!: () => void;
    const yArrived = new Promise<void>((r) => (arrived = r));
    origin.onRequest = () => arrived();
    const y = get(`${s.url}/iiif/3/mix/${pY}`);
    await yArrived;
    origin.faults = {};
    origin.onRequest = undefined;
    origin.put('/mix.svs', B_BYTES);
    const x = await get(`${s.url}/iiif/3/mix/${pX}`);
    expect(x.status).toBe(200);
    expect(same(x.body, await reference(pX, B)), 'X: the new file').toBe(true);
    expect(s.box.context.registry.changes).toBeGreaterThanOrEqual(1);
    const gotY = await y;
    expect(origin.log.filter((l) => l.status === undefined)).toHaveLength(1); // Y's first attempt, abandoned
    // Y's retry read the new file's bytes at the old file's offsets (422 E_CORRUPT_TILE, or worse, other pixels):
    // they are not the old slide's data; the request is answered by the slide opened again
    expect([gotY.status, gotY.code]).toEqual([200, undefined]);
    expect(same(gotY.body, await reference(pY, B)), 'Y: the new file as it is').toBe(true);
    const retries = origin.log.filter((l) => l.range === origin.log[0]!.range);
    expect(retries.map((l) => [l.status, l.headers['if-range']])).toEqual([[undefined, expect.any(String)], [206, undefined]]); // (the retry did go out, without If-Range, and got the new file's bytes)
    // and afterwards the tile is the new file's (from the response cache: what it holds is the new file's)
    const after = await get(`${s.url}/iiif/3/mix/${pY}`);
    expect(after.status).toBe(200);
    expect(same(after.body, await reference(pY, B))).toBe(true);
  });
});

describe('a changed remote file drops what was prefetched for plain IIIF clients', () => {
  let po: Origin;
  beforeAll(async () => {
    po = await new Origin().start();
  });
  afterAll(async () => {
    await po?.stop();
  });

  /** Open `id`, ask for three tiles side by side (a viewer): the third one's neighbours are read ahead; wait until they are in. */
  async function warmNeighbours(t: StartedServer, id: string): Promise<void> {
    expect((await get(`${t.url}/iiif/3/${id}/info.json`)).status).toBe(200);
    await t.box.context.registry.use(id, (_e, slide) => slide.warmLevel(0));
    for (const [x, y] of [[2304, 2304], [2560, 2304], [2560, 2560]]) {
      expect((await get(`${t.url}/iiif/3/${id}/${x},${y},256,256/256,256/0/default.jpg`)).status).toBe(200);
    }
    const prefetched = (): number => t.box.context.registry.openSlides().reduce((n, sl) => n + ((sl.source.stats?.() as { prefetchRanges?: number } | undefined)?.prefetchRanges ?? 0), 0);
    // (the six not read yet go as one multi-range request of three spans: two rows of three adjacent tiles, and one more)
    await waitFor(() => prefetched() >= 3 && po.log.every((l) => l.status !== undefined), 'the neighbours to be read ahead');
    // one neighbour is now served without asking the origin for its bytes: it was read ahead (from the old bytes)
    await expectGood('2816,2560,256,256/256,256/0/default.jpg', id, null, t, po);
    expect(asked(po, await tileRange(A, 11, 10))).toBe(false);
  }

  it('the change found by another read: a neighbour read ahead before it comes from the new bytes, and so does a transcoded region made before', async () => {
    po.put('/x.svs', A_BYTES);
    const t = await start({ registry: { config: { slides: { x: { url: po.url('/x.svs') } } } }, pixels: { size: 1 } });
    const region = '1024,1024,1024,1024/256,/0/default.png'; // transcoded in the pixel worker, from its own copy of the slide
    const pixelsOf = async (url: string): Promise<Uint8Array> => {
      const r = await get(url);
      expect(r.status, url).toBe(200);
      return (await decodeImage(r.body)).data;
    };
    try {
      await warmNeighbours(t, 'x');
      expect(same(await pixelsOf(`${t.url}/iiif/3/x/${region}`), await pixelsOf(`${ref.url}/iiif/3/${A}/${region}`))).toBe(true);
      po.put('/x.svs', B_BYTES); // a new ETag, another slide
      // a tile nobody read: its read meets the new ETag, the slide is opened again
      const changes = t.box.context.registry.changes;
      await expectGood('512,768,256,256/256,256/0/default.jpg', 'x', null, t, po, B);
      expect(t.box.context.registry.changes).toBe(changes + 1);
      // the neighbours read ahead from the old bytes are gone with the old slide
      for (const p of ['2816,2816,256,256/256,256/0/default.jpg', '2304,2816,256,256/256,256/0/default.jpg']) {
        const r = await get(`${t.url}/iiif/3/x/${p}`);
        expect(r.status, p).toBe(200);
        expect(same(r.body, await reference(p, B)), `${p}: the new bytes`).toBe(true);
        expect(same(r.body, await reference(p, A)), `${p}: not the old bytes`).toBe(false);
      }
      // and neither the response cache nor the worker's copy of the old slide answers the region
      expect(same(await pixelsOf(`${t.url}/iiif/3/x/${region}`), await pixelsOf(`${ref.url}/iiif/3/${B}/${region}`)), 'the region from the new bytes').toBe(true);
    } finally {
      await t.close();
    }
  });

  it('the change found by revalidation (revalidateRemoteMs 0): the neighbour read ahead is asked for first, and comes from the new bytes', async () => {
    po.put('/y.svs', A_BYTES);
    const t = await start({ registry: { revalidateRemoteMs: 0, config: { slides: { y: { url: po.url('/y.svs') } } } }, pixels: { size: 1 } });
    try {
      await warmNeighbours(t, 'y');
      po.put('/y.svs', B_BYTES);
      const p = '2816,2816,256,256/256,256/0/default.jpg';
      const r = await get(`${t.url}/iiif/3/y/${p}`);
      expect(r.status).toBe(200);
      expect(same(r.body, await reference(p, B)), 'the new bytes').toBe(true);
      expect(t.box.context.registry.changes).toBe(1);
    } finally {
      await t.close();
    }
  });
});

/** Wait until the server has nothing queued or being prepared for this connection. */
async function settled(c: TileStream): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const st = await c.serverStats();
    if (st['queued'] === 0 && st['preparing'] === 0 && st['outboxBytes'] === 0) return;
    await sleep(10);
  }
  throw new Error('the stream did not settle');
}

describe('a changed remote file under the WebSocket stream: streamed, prefetched and decoded tiles', () => {
  let so: Origin;
  let t: StartedServer;
  let localA: Slide;
  let localB: Slide;
  const ws = (): string => t.url.replace(/^http/, 'ws') + '/stream';
  beforeAll(async () => {
    so = await new Origin().start();
    so.put('/x.svs', A_BYTES);
    so.put('/y.svs', A_BYTES);
    t = await start({ registry: { config: { slides: { x: { url: so.url('/x.svs') }, y: { url: so.url('/y.svs') } } } }, pixels: { size: 1 } });
    localA = await openSlide(`${FIXTURES}/${A}`);
    localB = await openSlide(`${FIXTURES}/${B}`);
  });
  afterAll(async () => {
    await t?.close();
    await so?.stop();
    await localA?.close();
    await localB?.close();
  });

  /** Every tile of the view has the pixels of `local`'s readTile (RGBA, exact). */
  async function expectPixels(tiles: Map<string, StreamTile>, local: Slide, view: { x: number; y: number; width: number; height: number }, what: string): Promise<number> {
    let n = 0;
    for (let row = Math.floor(view.y / 256); row <= Math.floor((view.y + view.height - 1) / 256); row++) {
      for (let col = Math.floor(view.x / 256); col <= Math.floor((view.x + view.width - 1) / 256); col++) {
        const got = tiles.get(`0/${col}/${row}`);
        expect(got, `${what}: tile ${col},${row} arrived`).toBeDefined();
        expect(got!.encoding).toBe('rgba');
        const want = await local.readTile(0, col, row);
        expect(Buffer.from(got!.data).equals(Buffer.from(want.data)), `${what}: pixels of ${col},${row}`).toBe(true);
        n++;
      }
    }
    return n;
  }

  function collect(c: TileStream): { tiles: Map<string, StreamTile>; changed: StreamSlide[] } {
    const tiles = new Map<string, StreamTile>();
    const changed: StreamSlide[] = [];
    c.on('tile', (x) => tiles.set(`${x.level}/${x.col}/${x.row}`, x));
    c.on('slide', (x) => changed.push(x));
    return { tiles, changed };
  }

  const V1 = { level: 0, x: 512, y: 512, width: 768, height: 512 }; // columns 2-4, rows 2-3
  const AHEAD = { level: 0, x: 1280, y: 512, width: 256, height: 512 }; // column 5: pushed ahead of a view moving right

  it('the stream meets the change: a SLIDE frame marked changed with the new size, and the same view again brings every tile anew with the new pixels (none from the decoded-tile cache)', async () => {
    const c = await connectTileStream(ws(), { encodings: ['rgba'] });
    try {
      const { tiles, changed } = collect(c);
      const slide = await c.open('x');
      expect(slide.width).toBe(8000);
      await c.view(slide.handle, V1, { vx: 600, vy: 0 });
      await settled(c);
      await expectPixels(tiles, localA, V1, 'before');
      expect(tiles.get('0/5/2')?.prefetched, 'column 5 was pushed ahead').toBe(true);
      so.put('/x.svs', B_BYTES);
      tiles.clear();
      // a view of tiles not read yet: its reads meet the new ETag
      const far = c.view(slide.handle, { level: 0, x: 2560, y: 2048, width: 512, height: 512 });
      far.catch(() => undefined);
      await waitFor(() => changed.length > 0, 'the SLIDE frame of the change');
      expect(changed).toHaveLength(1);
      expect([changed[0]!.handle, changed[0]!.changed, changed[0]!.width, changed[0]!.height]).toEqual([slide.handle, true, 4096, 3072]);
      expect([...tiles.values()].filter((x) => x.level === 0 && x.col >= 10 && x.row >= 8)).toEqual([]); // nothing of the old bytes sent for it
      // the batch that met the change was not read: nothing of it is left being prepared (it held the
      // connection's budget for ever, and no tile came again: 32 RGBA tiles = the 8 MiB in flight)
      await settled(c);
      expect((await c.serverStats())['preparing']).toBe(0);
      const again = await c.view(slide.handle, V1);
      expect(again.cached).toBe(false);
      expect(await expectPixels(tiles, localB, V1, 'after')).toBe(again.tiles);
      await c.view(slide.handle, AHEAD);
      await expectPixels(tiles, localB, AHEAD, 'the column pushed ahead before the change');
      const st = await c.serverStats();
      expect(st['errors']).toBe(0);
    } finally {
      await c.close();
    }
  });

  it('the change found by another client (an IIIF request): the stream is told at once, and the same view brings the new pixels', async () => {
    const c = await connectTileStream(ws(), { encodings: ['rgba'] });
    try {
      const { tiles, changed } = collect(c);
      const slide = await c.open('y');
      await c.view(slide.handle, V1, { vx: 600, vy: 0 });
      await settled(c);
      await expectPixels(tiles, localA, V1, 'before');
      so.put('/y.svs', B_BYTES);
      // an IIIF client's read meets the new ETag: the registry drops the slide
      const r = await get(`${t.url}/iiif/3/y/2560,2304,256,256/256,256/0/default.jpg`);
      expect(r.status).toBe(200);
      expect(t.box.context.registry.changes).toBeGreaterThanOrEqual(1);
      await waitFor(() => changed.length > 0, 'the SLIDE frame of the change');
      expect([changed[0]!.handle, changed[0]!.changed, changed[0]!.width]).toEqual([slide.handle, true, 4096]);
      tiles.clear();
      const again = await c.view(slide.handle, V1);
      expect(again.cached).toBe(false);
      await expectPixels(tiles, localB, V1, 'after');
    } finally {
      await c.close();
    }
  });
});

describe('origin faults under the WebSocket stream: the error frame, then the tiles', () => {
  let c: TileStream;
  let handle: number;
  const errors: { code: string; level?: number; col?: number; row?: number; handle?: number }[] = [];
  const tiles = new Map<string, StreamTile>();
  beforeAll(async () => {
    c = await connectTileStream(s.url.replace(/^http/, 'ws') + '/stream', { encodings: ['jpeg'] });
    c.on('error', (e) => errors.push({ code: e.code, level: e.frame?.level, col: e.frame?.col, row: e.frame?.row, handle: e.frame?.handle }));
    c.on('tile', (t) => tiles.set(`${t.level}/${t.col}/${t.row}`, t));
    handle = (await c.open('st')).handle;
    await s.box.context.registry.use('st', (_e, slide) => slide.warmLevel(0));
  });
  afterAll(async () => {
    await c?.close();
  });

  for (const [what, faults, code, row] of [
    ['every answer 503', { status: 503 }, 'E_ORIGIN', 5],
    ['every answer a short range', chaos('short'), 'E_ORIGIN', 8],
    ['no answer (a hang)', { delayMs: 60_000 }, 'E_TIMEOUT', 11],
  ] as const) {
    it(`${what}: an error frame ${code} for each visible tile (handle, level, col, row), the view done; cleared: the same view brings them, the stored bytes`, async () => {
      const view = { level: 0, x: 512, y: row * 256, width: 512, height: 256 }; // columns 2-3 of a row nobody read
      errors.length = 0;
      tiles.clear();
      origin.resetCounters();
      origin.faults = { ...faults };
      try {
        const r = await c.view(handle, view, { vx: 0, vy: 0 });
        expect(r.tiles).toBe(2);
        expect(r.superseded).toBe(false);
      } finally {
        origin.faults = {};
      }
      expect(origin.requests).toBeGreaterThan(0);
      const visible = errors.filter((e) => e.level !== undefined).sort((a, b) => a.col! - b.col!);
      expect(visible).toEqual([
        { code, handle, level: 0, col: 2, row },
        { code, handle, level: 0, col: 3, row },
      ]);
      expect(tiles.has(`0/2/${row}`) || tiles.has(`0/3/${row}`)).toBe(false);
      // the origin behaves again: the same view asks for them again
      const again = await c.view(handle, view, { vx: 0, vy: 0 });
      expect(again.tiles).toBe(2);
      for (const col of [2, 3]) {
        const t = tiles.get(`0/${col}/${row}`);
        expect(t, `tile ${col},${row}`).toBeDefined();
        expect(same(t!.data, await reference(`${col * 256},${row * 256},256,256/256,256/0/default.jpg`)), `tile ${col},${row}: the stored bytes`).toBe(true);
      }
    });
  }
});
