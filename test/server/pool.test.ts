// The pixel pool: an injected backend renders; queued work is dropped when
// its caller aborts; a full queue answers 503 at once; a client that
// disconnects cancels its job in the worker.
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isImageboxError } from '../../src/errors.js';
import { PixelPool } from '../../src/server/pixels/pool.js';
import type { PixelJob } from '../../src/server/pixels/job.js';
import type { StartedServer } from '../../src/server/serve.js';
import { bundle, FIXTURES, ROOT, start, workerUrl } from './helpers.js';

const BACKEND = `${ROOT}test/server/test-backend.ts`;

function job(x: number): PixelJob {
  return {
    kind: 'region',
    spec: { location: `${FIXTURES}/aperio-jpeg.svs` },
    level: 0,
    region: { x, y: 0, w: 64, h: 64 },
    width: 64,
    height: 64,
    rotation: 0,
    mirror: false,
    quality: 'default',
    format: 'png',
    jpegQuality: 80,
  };
}

async function status(p: Promise<unknown>): Promise<number | string> {
  try {
    await p;
    return 200;
  } catch (e) {
    return isImageboxError(e) ? e.status : String(e);
  }
}

describe('PixelPool', () => {
  let pool: PixelPool;
  beforeAll(async () => {
    pool = new PixelPool({ workerUrl: await workerUrl(), backendUrl: (await bundle(BACKEND, 'test-backend')).href, size: 1, perWorker: 1, maxQueue: 1 });
  });
  afterAll(async () => {
    await pool?.close();
  });

  it('runs a job through the injected backend', async () => {
    const r = await pool.run(job(0));
    const { data, info } = await sharp(r.body).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([64, 64]);
    expect([...data.subarray(0, 3)]).toEqual([10, 200, 30]);
  });

  it('bounded queue -> 503; abort drops queued work and cancels running work', async () => {
    const a = new AbortController();
    const b = new AbortController();
    const running = pool.run(job(666), a.signal); // occupies the only slot until cancelled
    const queued = pool.run(job(666), b.signal); // waits in the queue (length 1)
    // wait until the first job is in the worker
    for (let i = 0; i < 1000 && pool.stats().running === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(pool.stats()).toMatchObject({ running: 1, queued: 1 });
    expect(await status(pool.run(job(0)))).toBe(503);
    b.abort();
    expect(await status(queued)).toBe(499);
    expect(pool.stats().queued).toBe(0);
    a.abort();
    expect(await status(running)).toBe(499);
    // the worker got the cancel and is free again
    const r = await pool.run(job(0));
    expect(r.body.length).toBeGreaterThan(0);
    expect(pool.stats()).toMatchObject({ running: 0, queued: 0 });
  });
});

describe('PixelPool: a job that cannot be interrupted keeps its slot; a stuck worker is replaced', () => {
  let pool: PixelPool;
  beforeAll(async () => {
    pool = new PixelPool({
      workerUrl: await workerUrl(),
      backendUrl: (await bundle(BACKEND, 'test-backend')).href,
      size: 1,
      perWorker: 1,
      timeoutMs: 1000,
      stuckGraceMs: 300,
    });
    await pool.run(job(0)); // the worker is up
  });
  afterAll(async () => {
    await pool?.close();
  });

  it('cancel answers the caller at once, but the next job waits until the kernel has returned (never 2 jobs in a 1-job worker)', async () => {
    const ac = new AbortController();
    const busy = pool.run(job(777), ac.signal);
    for (let i = 0; i < 1000 && pool.stats().running === 0; i++) await new Promise((r) => setTimeout(r, 2));
    const t0 = performance.now();
    ac.abort();
    expect(await status(busy)).toBe(499);
    expect(performance.now() - t0).toBeLessThan(300); // at once, not after the 400 ms kernel
    expect(pool.stats().running).toBe(1); // the kernel still runs: its slot is taken
    const next = pool.run(job(0));
    await new Promise((r) => setTimeout(r, 50));
    expect(pool.stats()).toMatchObject({ running: 1, queued: 1 });
    const r = await next;
    expect(r.body.length).toBeGreaterThan(0);
    expect(performance.now() - t0).toBeGreaterThan(150); // it waited for the rest of the 400 ms kernel
  });

  it('a job past its time limit is 504; its worker, still stuck after the grace, is terminated and replaced', async () => {
    const t0 = performance.now();
    expect(await status(pool.run(job(888)))).toBe(504);
    expect(performance.now() - t0).toBeLessThan(2000);
    for (let i = 0; i < 500 && pool.stats().stuck === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(pool.stats().stuck).toBe(1);
    const r = await pool.run(job(0)); // the replacement serves
    expect(r.body.length).toBeGreaterThan(0);
    expect(pool.stats().workers).toBe(1);
  });
});

describe('server with an injected backend', () => {
  let s: StartedServer;
  beforeAll(async () => {
    s = await start({ backend: BACKEND });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('transcodes through the backend', async () => {
    const r = await fetch(`${s.url}/iiif/3/aperio-jpeg.svs/0,0,1000,1000/100,/0/default.png`);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-tile-path')).toBe('transcode');
    const { data } = await sharp(new Uint8Array(await r.arrayBuffer())).raw().toBuffer({ resolveWithObject: true });
    // the test backend paints 10 + level: scale 10 reads from level 1 (downsample 4)
    expect([...data.subarray(0, 3)]).toEqual([11, 200, 30]);
  });

  it('a client that disconnects cancels its job (onAborted -> worker cancel)', async () => {
    const ac = new AbortController();
    const p = fetch(`${s.url}/iiif/3/aperio-jpeg.svs/666,0,100,100/50,/0/default.png`, { signal: ac.signal }).catch(() => 'aborted');
    const running = async (): Promise<number> => Number(/imagebox_pixel_jobs_running (\d+)/.exec(await (await fetch(`${s.url}/metrics`)).text())![1]);
    for (let i = 0; i < 1000 && (await running()) === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(await running()).toBe(1);
    ac.abort();
    expect(await p).toBe('aborted');
    let n = 1;
    for (let i = 0; i < 1000 && n !== 0; i++) {
      await new Promise((r) => setTimeout(r, 5));
      n = await running();
    }
    expect(n).toBe(0);
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
  });
});
