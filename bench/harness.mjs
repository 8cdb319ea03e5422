// What the end-to-end benchmarks share: the seeded random numbers of their
// walks, percentiles, a fresh imagebox server per run, and the remote origin:
// our own shaping origin (bench/lib/origin.mjs: ranges, multi-range, a delay
// per request, an optional bandwidth cap, counters), optionally as a shaping
// proxy in front of nginx. Nothing here needs ../shared/tools: CI's clean
// checkout runs every benchmark in smoke mode without it.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { haveNginx, startNginx } from './lib/nginx.mjs';
import { freePort, procMb, stopper } from './lib/util.mjs';

/** The peers' scripts (IIPImage, OpenSlide); optional. BENCH_SHARED_TOOLS=/nonexistent pretends they are absent. */
export const TOOLS = path.resolve(process.env.BENCH_SHARED_TOOLS ?? '../shared/tools');
export const haveTools = () => existsSync(`${TOOLS}/peers`);
export const DATA = path.resolve('.bench-data');
mkdirSync(`${DATA}/results`, { recursive: true });
const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The small slide of the smoke runs: in the repository. (bench/make-slide.mjs, `npm run bench:data`, may make a bigger one.) */
export const SMOKE_SLIDE = path.join(HERE, '..', 'test', 'fixtures', 'wsi', 'aperio-jpeg.svs');

/** xorshift32: the same walk for every path of a run. */
export { rng } from './lib/util.mjs';

/** The p-th percentile (0-100), one decimal. */
export const pct = (a, p) => {
  if (a.length === 0) return NaN;
  const s = [...a].sort((x, y) => x - y);
  return +s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))].toFixed(1);
};

/**
 * `imagebox serve` on 127.0.0.1:port (a free one if not given) with this registry config, once it says it listens.
 * log: a file its stderr goes to (default: ours); nodeArgs: options for node itself. The result's `child` is the process (its 'exit' tells a crash).
 */
export async function startImagebox({ name, config, port, args = [], log, nodeArgs = [] }) {
  port = port ? Number(port) : await freePort();
  const cfg = `${DATA}/results/${name}-config.json`;
  writeFileSync(cfg, JSON.stringify(config));
  const stderr = log ? openSync(log, 'a') : 'inherit';
  const server = spawn('node', [...nodeArgs, path.join(HERE, '..', 'dist', 'cli.js'), 'serve', '--port', String(port), '--host', '127.0.0.1', '--config', cfg, ...args], { stdio: ['ignore', 'pipe', stderr] });
  if (log) closeSync(stderr);
  await new Promise((resolve, reject) => {
    server.stdout.on('data', (d) => String(d).includes('listening on') && resolve());
    server.once('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  return {
    base: `http://127.0.0.1:${port}`,
    pid: server.pid,
    child: server,
    /** Peak resident set (VmHWM) of the server process so far, MB. */
    peakRssMb: () => procMb(server.pid),
    stop: stopper(server),
  };
}

/** Spawn bench/lib/origin.mjs with these arguments; resolves with its base URL and a stop(). */
async function spawnOrigin(args) {
  const child = spawn('node', [path.join(HERE, 'lib', 'origin.mjs'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const base = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /ORIGIN=(\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (c) => reject(new Error(`origin exited ${c}`)));
  });
  return {
    base,
    pid: child.pid,
    stop: stopper(child),
  };
}

/**
 * The remote origin for `dir`: files served by range with `delayMs` per request (and
 * `bandwidth`, e.g. '100mbit', one global cap). origin: 'node' (default; env BENCH_ORIGIN)
 * = our origin serves the files itself; 'nginx' = nginx serves them behind our origin as a
 * shaping, counting proxy (falls back to 'node' without /usr/sbin/nginx, and says so).
 * multiRange: false = the origin answers only the first range of a multi-range request.
 * args: more arguments for bench/lib/origin.mjs (e.g. --chaos 0.2).
 * Returns { base, kind, stats(), reset(), stop() }; stats(): { requests, rangeRequests, multiRange, bytes }.
 */
export async function startRemote(dir, delayMs, { bandwidth, multiRange = true, origin = process.env.BENCH_ORIGIN ?? 'node', args: extra = [] } = {}) {
  const shaping = ['--delay-ms', String(delayMs ?? 0), ...(bandwidth ? ['--bandwidth', String(bandwidth)] : []), ...(multiRange ? [] : ['--no-multirange']), ...extra];
  let kind = 'node origin (bench/lib/origin.mjs)';
  let nginx;
  let args = ['--root', dir, ...shaping];
  if (origin === 'nginx') {
    if (!haveNginx()) kind += ' (nginx asked for, but not installed)';
    else {
      nginx = await startNginx(dir, { dataDir: DATA });
      args = ['--target', nginx.base, ...shaping];
      kind = 'nginx behind the node shaping proxy (bench/lib/origin.mjs --target)';
    }
  }
  const o = await spawnOrigin(args);
  const shape = `+${delayMs ?? 0} ms per request${bandwidth ? `, ${bandwidth} cap` : ''}${multiRange ? '' : ', single range only'}`;
  return {
    base: o.base,
    kind: `${kind}, ${shape}`,
    pid: o.pid,
    stats: async () => (await fetch(`${o.base}/__stats`)).json(),
    reset: async () => void (await fetch(`${o.base}/__reset`, { method: 'POST' })).text(),
    async stop() {
      await o.stop();
      await nginx?.stop();
    },
  };
}
