// `imagebox serve --threads N` (N > 1): N uWS apps, one per worker thread, on
// one port. uWebSockets.js 20.30 (the registry's build) has no acceptor /
// child-app API, so the port is shared the kernel's way: in direct mode every
// thread listens on it with SO_REUSEPORT and Linux spreads new connections over
// them; behind the front door (the default) the front door stays on the main
// thread and splices each connection to the thread carrying the fewest.
//
// The main thread keeps what must be one per process: the pixel pool (every
// thread's jobs share its slots, queue bound, per-origin cap and breakers),
// the second cache level (MemorySharedCache: a tile's bytes fetched by one
// thread are found by the others without an origin request), the stream
// connection bound (a counter in shared memory), /metrics (summed over the
// threads), and shutdown. Each thread keeps its own first level: its open
// slides, span caches and answer cache.
import { Worker } from 'node:worker_threads';
import { createServer } from 'node:net';
import { MemorySharedCache } from '../../io/memory-shared-cache.js';
import { startFrontDoor, type FrontDoor } from '../front-door.js';
import { listenError } from '../listen-error.js';
import { PixelPool, type PoolOptions } from '../pixels/pool.js';
import { nativeUws } from '../uws/transport.js';
import { mergeMetrics } from './metrics-merge.js';
import { Rpc, transferable } from './rpc.js';
import type { JobResult, PixelJob } from '../pixels/job.js';
import type { HttpRequest, HttpResponse } from '../handlers/types.js';
import type { ThreadConfig, ThreadServeOptions } from './config.js';

export interface ThreadedServeOptions {
  threads: number;
  host?: string;
  port?: number;
  direct?: boolean;
  /** Share the port with other processes too (direct mode only). */
  reusePort?: boolean;
  serve: ThreadServeOptions;
  requireToken?: boolean;
  pixels?: PoolOptions;
  /** Bytes of the second cache level on the main thread (default 256 MiB). */
  sharedCacheBytes?: number;
  /** Stream connections over all threads (default 256). */
  maxStreamConnections?: number;
}

export interface RunningServer {
  port: number;
  host: string;
  url: string;
  bound: string;
  threads: number;
  /** Stream connections open over all threads. */
  streamConnections(): number;
  /** As StartedServer.close: no new connections, streams 1001, requests in flight get graceMs. */
  close(options?: { graceMs?: number }): Promise<{ cut: number }>;
}

interface ServeThread {
  worker: Worker;
  rpc: Rpc;
  port: number;
  exited: Promise<void>;
}

function workerUrl(): URL {
  const here = import.meta.url;
  // from src/ (vitest, tsx) the compiled thread lives in dist/
  return here.endsWith('.ts') ? new URL('../../../dist/server/threads/serve-thread.js', here) : new URL('./serve-thread.js', here);
}

const MiB = 1024 * 1024;

/** Fails like a bind would when host:port is taken (uWS with SO_REUSEPORT would silently share it). */
function probeFree(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', (e: NodeJS.ErrnoException) => reject(listenError(e, host, port)));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve()));
  });
}

/**
 * A free port for the threads to share. Bound with SO_REUSEPORT, port 0 gives
 * each socket an ephemeral port of its own, and Linux lets no other socket join
 * that port (the second thread fails with EADDRINUSE): in direct mode on port 0
 * the port is chosen first, then every thread listens on it.
 */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', (e: NodeJS.ErrnoException) => reject(listenError(e, host, 0)));
    s.listen({ host, port: 0, exclusive: true }, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export async function startThreadedServer(o: ThreadedServeOptions): Promise<RunningServer> {
  nativeUws(); // fail loudly before any thread starts
  const n = Math.max(1, Math.floor(o.threads));
  const host = o.host ?? '0.0.0.0';
  const direct = o.direct ?? false;
  if (o.reusePort && !direct) throw new Error('reusePort needs direct mode (the front door binds the port exclusively)');
  let port = o.port ?? 8080;
  if (direct && !o.reusePort && port !== 0) await probeFree(host, port);
  if (direct && port === 0 && n > 1) port = await freePort(host);
  const pool = new PixelPool(o.pixels ?? {});
  const shared = new MemorySharedCache(o.sharedCacheBytes ?? 256 * MiB);
  const maxStreams = o.maxStreamConnections ?? 256;
  const slots = new SharedArrayBuffer(4);
  const counter = new Int32Array(slots);
  const threads: ServeThread[] = [];

  const gather = async (): Promise<string> => {
    const texts = await Promise.all(threads.map((t) => t.rpc.call<string>('metricsText', null).catch(() => '')));
    return mergeMetrics(texts, { pool: pool.stats(), shared: shared.stats(), threads: threads.length });
  };

  const spawn = (index: number, listenHost: string, listenPort: number): Promise<ServeThread> => {
    const cfg: ThreadConfig = {
      index,
      serve: o.serve,
      requireToken: o.requireToken ?? false,
      host: listenHost,
      port: listenPort,
      reusePort: direct,
      streamSlots: slots,
      maxStreamConnections: maxStreams,
    };
    const worker = new Worker(workerUrl(), { workerData: cfg });
    return new Promise<ServeThread>((resolve, reject) => {
      let settled = false;
      const exited = new Promise<void>((r) => worker.once('exit', () => r()));
      const rpc: Rpc = new Rpc(worker, {
        async pixels(job: PixelJob, signal) {
          const r: JobResult = await pool.run(job, signal);
          // the pool's result is the main thread's to give away: moved, not copied
          const { bytes, transfer } = transferable(r.body);
          return { value: { ...r, body: bytes }, transfer };
        },
        cacheGet: (keys: string[]) => ({ value: keys.map((k) => shared.getSync(k)) }),
        cacheSet: ({ key, value, ttlSeconds }: { key: string; value: Uint8Array; ttlSeconds?: number }) => {
          shared.setSync(key, value, ttlSeconds);
          return { value: undefined };
        },
        cacheDelete: (key: string) => {
          void shared.delete(key);
          return { value: undefined };
        },
        metrics: async () => ({ value: await gather() }),
        listening: ({ port: p }: { port: number }) => {
          settled = true;
          resolve({ worker, rpc, port: p, exited });
          return { value: undefined };
        },
        failed: ({ message, code }: { message: string; code?: string }) => {
          settled = true;
          const e = new Error(message) as NodeJS.ErrnoException;
          if (code) e.code = code;
          reject(e);
          return { value: undefined };
        },
      });
      worker.once('error', (e) => {
        if (!settled) reject(e);
      });
      worker.once('exit', (code) => {
        rpc.close();
        if (!settled) reject(new Error(`serve thread ${index} exited with code ${code} before listening`));
      });
    });
  };

  const stopThreads = async (graceMs: number): Promise<number> => {
    const cuts = await Promise.all(threads.map((t) => t.rpc.call<{ cut: number }>('stop', { graceMs }).then((r) => r.cut, () => 0)));
    await Promise.all(
      threads.map(async (t) => {
        t.rpc.cast('exit', null);
        // uWS is closed by now: a thread that lingers (a keep-alive socket to an origin) may be cut
        const late = setTimeout(() => void t.worker.terminate(), 1000);
        await t.exited;
        clearTimeout(late);
      }),
    );
    return cuts.reduce((a, b) => a + b, 0);
  };

  let front: FrontDoor | undefined;
  try {
    const listenHost = direct ? host : '127.0.0.1';
    const first = await spawn(0, listenHost, direct ? port : 0);
    threads.push(first);
    if (direct) port = first.port;
    const rest = await Promise.allSettled(Array.from({ length: n - 1 }, (_, i) => spawn(i + 1, listenHost, direct ? port : 0)));
    for (const r of rest) if (r.status === 'fulfilled') threads.push(r.value);
    const failed = rest.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    if (!direct) {
      let turn = 0;
      front = await startFrontDoor({
        host,
        port,
        upstream: threads.map((t) => ({ host: '127.0.0.1', port: t.port })),
        // the requests uWS cannot read, answered by a thread in turn
        handler: (req: HttpRequest, signal?: AbortSignal) => threads[turn++ % threads.length]!.rpc.call<HttpResponse>('handle', req, signal ? { signal } : {}),
      });
      port = front.port;
    }
  } catch (e) {
    await stopThreads(0);
    await pool.close();
    throw e;
  }
  const everywhere = host === '0.0.0.0' || host === '::';
  const local = everywhere ? (host === '::' ? '[::1]' : '127.0.0.1') : host.includes(':') ? `[${host}]` : host;
  let closing: Promise<{ cut: number }> | undefined;
  return {
    port,
    host,
    threads: threads.length,
    url: `http://${local}:${port}`,
    bound: `${host.includes(':') ? `[${host}]` : host}:${port}${everywhere ? ` (every ${host === '::' ? '' : 'IPv4 '}interface)` : ''}`,
    streamConnections: () => Atomics.load(counter, 0),
    close({ graceMs = 0 } = {}) {
      closing ??= (async () => {
        front?.stopListening();
        const frontIdle = front ? Promise.race([front.idle(), new Promise((r) => setTimeout(r, graceMs).unref())]) : undefined;
        let cut = await stopThreads(graceMs);
        await frontIdle;
        cut += front?.pending() ?? 0;
        await front?.close();
        await pool.close();
        return { cut };
      })();
      return closing;
    },
  };
}

