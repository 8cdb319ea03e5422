// Closed-loop load: N clients, each with its own keep-alive connection (an
// undici Pool of one connection) or its own in-process reader, each making its
// requests one after the other (the next when the last has fully arrived), all
// clients at once. Our version of ../shared/tools/load.mjs's paper workload:
// the ImageBox2 paper's 10 JMeter clients x 250 random whole 256x256 tiles of
// level 0. Latency is request start to last body byte.
import { Pool } from 'undici';
import { rng } from '../harness.mjs';

/**
 * Random whole level-0 tiles: per client `requests` [col, row] from its own
 * seeded stream (client i: seed * 1000003 + i), whole tiles only (the last
 * partial column and row left out), tiles with stored bytes only (`accept`).
 */
export function randomTiles({ cols, rows, width, height, tile, clients, requests, seed, accept = () => true }) {
  const wc = Math.max(1, Math.floor(width / tile));
  const wr = Math.max(1, Math.floor(height / tile));
  if (wc > cols || wr > rows) throw new Error('randomTiles: grid smaller than the image');
  return Array.from({ length: clients }, (_, i) => {
    const r = rng(seed * 1000003 + i);
    const out = [];
    while (out.length < requests) {
      let c;
      let w;
      for (let k = 0; k < 100; k++) {
        c = Math.floor(r() * wc);
        w = Math.floor(r() * wr);
        if (accept(c, w)) break;
      }
      out.push([c, w]);
    }
    return out;
  });
}

const q = (sorted, p) => (sorted.length ? +sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))].toFixed(2) : null);

/**
 * Run `plans` (one array of tasks per client) in a closed loop: `run(task, client)`
 * resolves with the body bytes or throws; `setup(i)` makes client i's context
 * (e.g. its connection), `teardown(ctx)` ends it.
 * Returns { count, ok, errors, errorSamples, latencyMs {p50, p90, p99, mean, max}, durationS, tilesPerSec, bytes, latencies }.
 */
export async function closedLoop(plans, run, { setup = () => undefined, teardown = () => undefined, timeoutMs = 30_000 } = {}) {
  const lat = [];
  const errorSamples = [];
  let ok = 0;
  let errors = 0;
  let bytes = 0;
  const ctxs = await Promise.all(plans.map((_, i) => setup(i)));
  const t0 = performance.now();
  await Promise.all(
    plans.map(async (tasks, i) => {
      for (const task of tasks) {
        const t = performance.now();
        try {
          let timer;
          const b = await Promise.race([run(task, ctxs[i]), new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`timeout after ${timeoutMs} ms`)), timeoutMs)))]).finally(() => clearTimeout(timer));
          lat.push(performance.now() - t);
          bytes += b ?? 0;
          ok++;
        } catch (e) {
          errors++;
          if (errorSamples.length < 5) errorSamples.push({ task, error: String(e?.message ?? e) });
        }
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  await Promise.all(ctxs.map((c) => teardown(c)));
  const s = [...lat].sort((a, b) => a - b);
  return {
    count: ok + errors,
    ok,
    errors,
    errorSamples,
    latencyMs: { p50: q(s, 50), p90: q(s, 90), p99: q(s, 99), mean: s.length ? +(s.reduce((a, b) => a + b, 0) / s.length).toFixed(2) : null, max: q(s, 100) },
    durationS: +secs.toFixed(3),
    tilesPerSec: +(ok / secs).toFixed(1),
    bytes,
    latencies: lat,
  };
}

/** One keep-alive HTTP connection to `origin` (scheme://host:port): get(path, headers) -> { status, bytes, headers }. */
export function connection(origin) {
  const pool = new Pool(origin, { connections: 1, pipelining: 1, keepAliveTimeout: 60_000 });
  return {
    async get(path, headers) {
      const res = await pool.request({ method: 'GET', path, headers });
      let bytes = 0;
      for await (const chunk of res.body) bytes += chunk.length;
      return { status: res.statusCode, bytes, headers: res.headers };
    },
    close: () => pool.close(),
  };
}

/**
 * HTTP closed loop: `url(task)` gives a full URL (all on one origin), `headers(task)`
 * optional request headers; a status other than `expect` is an error.
 */
export function httpLoad(plans, { url, headers = () => undefined, expect = 200, timeoutMs }) {
  const first = new URL(url(plans[0][0]));
  return closedLoop(
    plans,
    async (task, conn) => {
      const u = new URL(url(task));
      const r = await conn.get(u.pathname + u.search, headers(task));
      if (r.status !== expect) throw new Error(`HTTP ${r.status} for ${u.pathname}${headers(task)?.range ? ` (${headers(task).range})` : ''}`);
      return r.bytes;
    },
    { setup: () => connection(first.origin), teardown: (c) => c.close(), timeoutMs },
  );
}
