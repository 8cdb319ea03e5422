// serve --threads N (src/server/threads/): two uWS apps in worker threads on
// one port, in direct mode (SO_REUSEPORT: the kernel spreads connections) and
// behind the front door (fewest connections, ties in turn), against a real
// counting origin serving a remote slide. Answers are the single-thread
// server's, byte for byte; a tile fetched by one thread is found by the other
// in the main thread's second level (the origin sends its bytes once); /metrics
// sums the threads; the stream connection bound is one for the process; close()
// ends it. Each request goes on its own connection (Connection: close), so
// requests land on both threads.
import { request } from 'node:http';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThreadedServer, type RunningServer } from '../../src/server/threads/threaded-server.js';
import type { StartedServer } from '../../src/server/serve.js';
import { connectTileStream, type TileStream } from '../../src/stream/client-node.js';
import { startOrigin, type LoggedRequest, type Origin } from '../helpers/origin.js';
import { RawWebSocket } from '../helpers/raw-ws.js';
import { FIXTURES, start, workerUrl } from './helpers.js';

const SLIDE = 'x.svs';
const TILE = `/iiif/3/${SLIDE}/0,0,256,256/256,256/0/default.jpg`; // a level-0 tile as stored: passthrough
const PATHS = [
  TILE,
  `/iiif/3/${SLIDE}/1024,512,1024,1024/300,/0/default.jpg`, // a region scaled and encoded again (pixel pool)
  `/iiif/3/${SLIDE}/512,256,700,500/max/0/default.png`, // a region as PNG
  `/dzi/${SLIDE}_files/12/1_1.jpeg`, // DeepZoom: level 0 at half size
  `/dzi/${SLIDE}_files/13/2_1.jpeg`, // DeepZoom: level 0 as stored
];

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One GET on a connection of its own (no agent, Connection: close). */
function get(base: string, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { agent: false, headers: { connection: 'close' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The value of one series in a Prometheus exposition (0 when absent). */
function series(text: string, key: string): number {
  for (const line of text.split('\n')) if (line.startsWith(`${key} `)) return Number(line.slice(key.length + 1));
  return 0;
}

async function metrics(base: string): Promise<string> {
  const r = await get(base, '/metrics');
  expect(r.status).toBe(200);
  return r.body.toString('utf8');
}

const SHARED_HIT = 'imagebox_shared_cache_total{level="threads",result="hit"}';
const SHARED_SET = 'imagebox_shared_cache_total{level="threads",result="set"}';

/** The byte ranges of a logged origin request ([start, end) each). */
function rangesOf(e: LoggedRequest): [number, number][] {
  if (!e.range) return [];
  return e.range
    .replace(/^bytes=/, '')
    .split(',')
    .map((s) => s.trim().split('-').map(Number) as [number, number])
    .map(([a, b]) => [a, b + 1] as [number, number]);
}

const overlaps = (a: [number, number][], b: [number, number][]): boolean => a.some(([s, e]) => b.some(([s2, e2]) => s < e2 && s2 < e));

/** Until `check` holds (polled), or false after ~5 s. */
async function until(check: () => Promise<boolean> | boolean): Promise<boolean> {
  for (let i = 0; i < 250; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

let origin: Origin;
let single: StartedServer;
/** What the single-thread server answers for each of PATHS. */
const reference = new Map<string, Buffer>();

const registry = (): { config: { slides: Record<string, { url: string }> } } => ({ config: { slides: { [SLIDE]: { url: origin.url('/wsi/x.svs') } } } });

beforeAll(async () => {
  origin = await startOrigin();
  origin.put('/wsi/x.svs', new Uint8Array(readFileSync(`${FIXTURES}/aperio-jpeg.svs`)));
  single = await start({ registry: registry(), images: { neighbourPrefetch: false } });
  for (const p of PATHS) {
    const r = await get(single.url, p);
    expect(r.status, `${p}: ${r.body.toString('utf8').slice(0, 200)}`).toBe(200);
    reference.set(p, r.body);
  }
}, 60_000);

afterAll(async () => {
  await single?.close();
  await origin?.stop();
});

describe.each([
  { mode: 'direct (SO_REUSEPORT)', direct: true },
  { mode: 'front door', direct: false },
])('serve --threads 2, $mode', ({ direct }) => {
  let s: RunningServer;
  let closed = false;

  beforeAll(async () => {
    s = await startThreadedServer({
      threads: 2,
      host: '127.0.0.1',
      port: 0,
      direct,
      serve: { registry: registry(), images: { neighbourPrefetch: false } },
      pixels: { size: 2, workerUrl: await workerUrl() },
      maxStreamConnections: 2,
    });
  }, 30_000);
  afterAll(async () => {
    if (!closed) await s?.close();
  });

  it('listens with 2 threads; /metrics says imagebox_serve_threads 2', async () => {
    expect(s.threads).toBe(2);
    expect(s.port).toBeGreaterThan(0);
    expect(series(await metrics(s.url), 'imagebox_serve_threads')).toBe(2);
  });

  it('every answer is byte for byte the single-thread server\'s (passthrough, scaled, PNG, DeepZoom), on either thread', async () => {
    // each path three times, each on its own connection: both threads answer some
    for (let round = 0; round < 3; round++) {
      for (const p of PATHS) {
        const r = await get(s.url, p);
        expect(r.status, `${p}: ${r.body.toString('utf8').slice(0, 200)}`).toBe(200);
        expect(r.body.equals(reference.get(p)!), `${p} (round ${round}): ${r.body.length} bytes, single thread ${reference.get(p)!.length}`).toBe(true);
      }
    }
  });

  it('one tile over 20 connections: the origin sends its bytes once; the other thread finds them in the second level', async () => {
    // both threads open the slide first (its directory is not what is counted here)
    for (let i = 0; i < 8; i++) expect((await get(s.url, `/iiif/3/${SLIDE}/info.json`)).status).toBe(200);
    const path = `/iiif/3/${SLIDE}/2048,1536,256,256/256,256/0/default.jpg`; // a tile no earlier test asked for
    const before = await metrics(s.url);
    origin.resetCounters();
    const first = await get(s.url, path);
    expect(first.status).toBe(200);
    // what that tile cost the origin (the slide was open on both threads already)
    const ranges = origin.log.flatMap(rangesOf);
    expect(ranges.length).toBeGreaterThan(0);
    const asked = (): string[] => origin.log.filter((e) => overlaps(rangesOf(e), ranges)).map((e) => e.range ?? '');
    const once = asked();
    expect(once.length).toBeGreaterThan(0);
    // the first thread's write reached the main thread's store
    expect(await until(async () => series(await metrics(s.url), SHARED_SET) > series(before, SHARED_SET))).toBe(true);
    const hitsBefore = series(await metrics(s.url), SHARED_HIT);
    for (let i = 0; i < 19; i++) {
      const r = await get(s.url, path);
      expect(r.status).toBe(200);
      expect(r.body.equals(first.body)).toBe(true);
    }
    // no thread asked the origin for any of those bytes again
    expect(asked()).toEqual(once);
    const after = await metrics(s.url);
    expect(series(after, SHARED_HIT)).toBeGreaterThan(hitsBefore);
    expect(series(after, 'imagebox_serve_threads')).toBe(2);
  });

  it('/metrics sums the threads: 12 info.json requests on 12 connections are 12 in the request counter', async () => {
    const text = await metrics(s.url);
    const key = [...text.matchAll(/^(imagebox_http_requests_total\{[^}]*status="200"[^}]*\}) /gm)].map((m) => m[1]!).find((k) => k.includes('info'));
    expect(key, text.split('\n').filter((l) => l.startsWith('imagebox_http_requests_total')).join('\n')).toBeDefined();
    const n0 = series(text, key!);
    for (let i = 0; i < 12; i++) expect((await get(s.url, `/iiif/3/${SLIDE}/info.json`)).status).toBe(200);
    expect(series(await metrics(s.url), key!)).toBe(n0 + 12);
  });

  it('stream connections are bounded over both threads: 2 open, a third is refused 503 (six tries), one closed, a new one served', async () => {
    const ws = `ws://127.0.0.1:${s.port}/stream`;
    const open: TileStream[] = [];
    try {
      for (let i = 0; i < 2; i++) open.push(await connectTileStream(ws));
      expect(s.streamConnections()).toBe(2);
      // in direct mode the kernel picks the thread: six tries, so one almost surely reaches a thread holding fewer than 2
      for (let i = 0; i < 6; i++) {
        const refused = await RawWebSocket.open(s.port).then(
          (w) => {
            w.destroy();
            return 'upgraded';
          },
          (e: Error) => e.message,
        );
        expect(refused).toBe('no upgrade: HTTP/1.1 503 Service Unavailable');
      }
      expect(s.streamConnections()).toBe(2);
      await open.shift()!.close();
      expect(await until(() => s.streamConnections() === 1)).toBe(true);
      const c = await connectTileStream(ws);
      open.push(c);
      expect(s.streamConnections()).toBe(2);
      const slide = await c.open(SLIDE);
      expect((await c.view(slide.handle, { level: 0, x: 0, y: 0, width: 256, height: 256 })).tiles).toBe(1);
    } finally {
      for (const c of open) await c.close();
    }
    expect(await until(() => s.streamConnections() === 0)).toBe(true);
  });

  it('close() returns and the port no longer accepts connections', async () => {
    const port = s.port;
    expect(await accepts(port)).toBe(true);
    closed = true;
    const r = await s.close();
    expect(r.cut).toBe(0);
    expect(await accepts(port)).toBe(false);
  });
});
