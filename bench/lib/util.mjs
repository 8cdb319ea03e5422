// Small things the benchmark tools share: free ports, waiting for a server,
// a process's peak memory.
import { readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once `url` answers anything over HTTP (any status); rejects after `timeoutMs`. */
export async function waitForHttp(url, timeoutMs = 15_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const req = http.get(url, { agent: false }, (res) => {
        res.resume();
        resolve(true);
      });
      req.on('error', () => resolve(false));
      req.setTimeout(1000, () => req.destroy());
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A /proc/PID/status field in MB (VmHWM = peak resident set, VmRSS = now); undefined if gone. */
export function procMb(pid, field = 'VmHWM') {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/** The PIDs of a process's children (Linux /proc/PID/task/TID/children). */
export function childPids(pid) {
  const out = [];
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      const s = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
      if (s) out.push(...s.split(/\s+/).map(Number));
    }
  } catch {
    /* gone */
  }
  return out;
}

/** Sum of the peak RSS (VmHWM) of these processes, MB; undefined if none could be read. */
export function peakRssMb(pids) {
  const v = pids.map((p) => procMb(p)).filter((x) => x !== undefined);
  return v.length ? v.reduce((a, b) => a + b, 0) : undefined;
}

/** stop() for a spawned service: SIGTERM unless it already exited, resolving once it has. */
export function stopper(child) {
  const exited = new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', r)));
  return async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  };
}

/** xorshift32 in [0, 1): the benchmarks' seeded generator (the tests' test/helpers/rng.ts gives the same sequence). */
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
