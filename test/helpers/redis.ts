// Debian's redis-server, started by a test on a free port of 127.0.0.1 with no
// persistence and a memory bound (maxmemory + allkeys-lru, as
// docs/deployment.md configures a cluster's cache), stopped with the test.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './nginx.js';
import { haveBinary } from './services.js';

export const REDIS_SERVER = '/usr/bin/redis-server';
export const haveRedis = haveBinary(REDIS_SERVER, 'redis-server');

export interface RedisServer {
  port: number;
  url: string;
  /** One command over a fresh connection (inline protocol); its raw reply. */
  command(line: string): Promise<string>;
  stop(): Promise<void>;
}

function send(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    s.setTimeout(2000, () => s.destroy(new Error('redis: no answer')));
    s.on('connect', () => s.write(line + '\r\n'));
    s.on('data', (d) => {
      out += d;
      if (out.endsWith('\r\n')) {
        s.end();
        resolve(out);
      }
    });
    s.on('error', reject);
  });
}

export async function startRedis(maxMemoryMb = 64, fixedPort?: number): Promise<RedisServer> {
  const port = fixedPort ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'imagebox-redis-'));
  const child: ChildProcess = spawn(
    REDIS_SERVER,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--maxmemory', `${maxMemoryMb}mb`, '--maxmemory-policy', 'allkeys-lru', '--daemonize', 'no'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d));
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`redis-server exited: ${err}`);
    const pong = await send(port, 'PING').catch(() => '');
    if (pong.startsWith('+PONG')) break;
    if (i > 100) throw new Error('redis-server did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    command: (line) => send(port, line),
    async stop() {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
