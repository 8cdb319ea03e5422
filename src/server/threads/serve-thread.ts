// One uWS serve thread of `imagebox serve --threads N`: a whole server
// (registry, answer cache, span caches, stream host, its own uWS app) whose
// pixel work goes to the process's one pool and whose span caches have the
// main thread's store as a second level. WebSocket streams stay on the thread
// that accepted them. It listens on the public port with SO_REUSEPORT (direct
// mode: the kernel spreads connections over the threads) or on a loopback
// port the front door splices to.
import { parentPort, workerData } from 'node:worker_threads';
import { AccessControl } from '../access.js';
import { startServer, type StartedServer } from '../serve.js';
import { sharedSlots } from '../uws/stream-endpoint.js';
import { setThreadSharedCache } from '../../io/shared-cache.js';
import { Rpc, type Port } from './rpc.js';
import { PoolClient } from './pool-client.js';
import { ThreadSharedCache } from './thread-cache.js';
import type { ThreadConfig } from './config.js';
import type { HttpRequest, HttpResponse } from '../handlers/types.js';

const cfg = workerData as ThreadConfig;
const port = parentPort as unknown as Port & { close(): void };
let server: StartedServer | undefined;

const log = (what: string, e: unknown): void => {
  process.stderr.write(`imagebox: thread ${cfg.index}: ${what}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
};
// a thread that died would take the process with it (uWS's handles outlive it): log, serve on
process.on('uncaughtException', (e) => log('uncaught exception', e));
process.on('unhandledRejection', (e) => log('unhandled rejection', e));

const rpc = new Rpc(port, {
  async handle(req: HttpRequest, signal) {
    const r: HttpResponse = await server!.box.handle(req, signal);
    // a copy: the body may be what the answer cache keeps
    return { value: r };
  },
  metricsText: () => ({ value: server ? server.box.metricsText() : '' }),
  async stop({ graceMs }: { graceMs: number }) {
    const r = server ? await server.close({ graceMs }) : { cut: 0 };
    setThreadSharedCache(undefined);
    return { value: r };
  },
  exit() {
    rpc.close();
    port.close();
    // uWS is closed: what is left (an origin request cut at the deadline, keep-alive sockets) ends with the thread
    setImmediate(() => process.exit(0));
    return { value: undefined };
  },
});

setThreadSharedCache(new ThreadSharedCache(rpc));
try {
  server = await startServer({
    ...cfg.serve,
    host: cfg.host,
    port: cfg.port,
    direct: true,
    reusePort: cfg.reusePort,
    pixels: new PoolClient(rpc),
    ...(cfg.requireToken ? { access: new AccessControl(process.env['IMAGEBOX_TOKEN_SECRET'] ?? '') } : {}),
    streamSlots: sharedSlots(new Int32Array(cfg.streamSlots), cfg.maxStreamConnections),
    gatherMetrics: () => rpc.call<string>('metrics', null),
    onError: (e, req) => log(`${req.method} ${req.path.slice(0, 200)}`, e),
  });
  rpc.cast('listening', { port: server.port });
} catch (e) {
  const code = (e as NodeJS.ErrnoException).code;
  rpc.cast('failed', { message: e instanceof Error ? e.message : String(e), ...(typeof code === 'string' ? { code } : {}) });
}
