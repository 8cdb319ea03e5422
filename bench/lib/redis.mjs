// Debian's redis-server for the benchmarks, as test/helpers/redis.ts starts it for
// the tests: loopback, a free port, no persistence, maxmemory + allkeys-lru (how
// docs/deployment.md configures a cluster's cache). `stop()` ends it and removes
// its directory.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { freePort, stopper } from './util.mjs';

export const REDIS = process.env.BENCH_REDIS ?? '/usr/bin/redis-server';
export const haveRedis = () => existsSync(REDIS);

/** redis-server under `dataDir`/run; `onChild(child)` sees its process (to kill it when the benchmark dies). */
export async function startRedis({ dataDir, maxMemoryMb = 256, name = 'bench-redis', onChild = () => undefined }) {
  const port = await freePort();
  const dir = `${dataDir}/run/${name}-${port}`;
  mkdirSync(dir, { recursive: true });
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--maxmemory', `${maxMemoryMb}mb`, '--maxmemory-policy', 'allkeys-lru', '--daemonize', 'no'];
  const child = spawn(REDIS, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  onChild(child);
  await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (c) => reject(new Error(`redis-server exited ${c}: ${out.slice(-500)}`)));
  });
  child.stdout.resume();
  const stop = stopper(child);
  return { url: `redis://127.0.0.1:${port}`, port, pid: child.pid, stop: async () => (await stop(), rmSync(dir, { recursive: true, force: true })) };
}
