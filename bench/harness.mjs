// What the end-to-end benchmarks share: the seeded random numbers of their
// walks, percentiles, a fresh imagebox server per run, and the shared range
// origin (nginx, 8083) behind the latency proxy (8084) from ../shared/tools.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const TOOLS = path.resolve('../shared/tools');
export const DATA = path.resolve('.bench-data');
mkdirSync(`${DATA}/results`, { recursive: true });
const env = { ...process.env, WSI_DATA: DATA };

/** xorshift32: the same walk for every path of a run. */
export function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

/** The p-th percentile (0-100), one decimal. */
export const pct = (a, p) => {
  if (a.length === 0) return NaN;
  const s = [...a].sort((x, y) => x - y);
  return +s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))].toFixed(1);
};

/** `imagebox serve` on 127.0.0.1:port with this registry config, once it says it listens. */
export async function startImagebox({ name, config, port, args = [] }) {
  const cfg = `${DATA}/results/${name}-config.json`;
  writeFileSync(cfg, JSON.stringify(config));
  const server = spawn('node', ['dist/cli.js', 'serve', '--port', String(port), '--host', '127.0.0.1', '--config', cfg, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    server.stdout.on('data', (d) => String(d).includes('listening on') && resolve());
    server.on('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  return {
    base: `http://127.0.0.1:${port}`,
    async stop() {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    },
  };
}

/** nginx serving `dir` on 8083 behind the latency proxy on 8084 (+delayMs per request); `stop()` ends both. */
export function startRemote(dir, delayMs) {
  execFileSync('bash', [`${TOOLS}/peers/origin.sh`, 'start', '8083', dir], { env, stdio: 'ignore' });
  execFileSync('bash', [`${TOOLS}/peers/proxy.sh`, 'start', '8084', 'http://127.0.0.1:8083', String(delayMs)], { env, stdio: 'ignore' });
  return {
    base: 'http://127.0.0.1:8084',
    async stop() {
      execFileSync('bash', [`${TOOLS}/peers/proxy.sh`, 'stop', '8084'], { env, stdio: 'ignore' });
      execFileSync('bash', [`${TOOLS}/peers/origin.sh`, 'stop', '8083'], { env, stdio: 'ignore' });
    },
  };
}

/** The latency proxy's counters (requests, bytes). */
export const proxyStats = async () => (await (await fetch('http://127.0.0.1:8084/__proxy/stats')).json());
