// Start the whole server: registry + pixel pool + handlers behind uWS, with
// the front door (src/server/front-door.ts) on the public port unless `direct`.
import { requestToken, requireSlide } from './access.js';
import { originAllowed } from './cors.js';
import { createImagebox, type Imagebox, type ImageboxOptions } from './app.js';
import { startFrontDoor, type FrontDoor } from './front-door.js';
import { listen, nativeUws, type Listening } from './uws/transport.js';
import { attachStream, type ConnectionSlots, type StreamEndpoint } from './uws/stream-endpoint.js';
import { StreamSession, type SessionOptions } from '../stream/session.js';

export interface ServeOptions extends ImageboxOptions {
  host?: string;
  port?: number;
  /**
   * uWS on the public port itself, without the front door: ~20 us less CPU per
   * request, but HTTP/1.0, absolute-form targets, a missing Host or a garbage
   * request line get no answer (uWS 20.30). For a proxy in front that speaks
   * clean HTTP/1.1 upstream (docs/deployment.md).
   */
  direct?: boolean;
  /** Share the port with other processes (SO_REUSEPORT; direct mode only). */
  reusePort?: boolean;
  /** The WebSocket stream at /stream: per-connection limits, prefetch, and connections at once. */
  session?: SessionOptions;
  maxStreamConnections?: number;
  /** Where stream connections are counted (--threads: one bound over every thread; default: this server's own). */
  streamSlots?: ConnectionSlots;
}

export interface StartedServer {
  box: Imagebox;
  port: number;
  /** The address bound (0.0.0.0 = every IPv4 interface). */
  host: string;
  /** http://host:port as a client on this machine reaches it. */
  url: string;
  /** What is bound, for the start-up line: "0.0.0.0:8080 (every interface)". */
  bound: string;
  frontDoor: FrontDoor | undefined;
  /**
   * Stop: no new connections; streams closed with 1001 (going away: the viewer
   * reconnects, to another node behind a balancer); requests in flight answered
   * for up to `graceMs` (default 0: cut at once), then everything closed.
   * Resolves with the requests still unanswered when the grace ran out.
   */
  close(options?: { graceMs?: number }): Promise<{ cut: number }>;
}

export async function startServer(options: ServeOptions): Promise<StartedServer> {
  nativeUws(); // fail loudly before anything else starts
  if (options.reusePort && !options.direct) {
    throw new Error('reusePort needs direct mode (the front door binds the port exclusively)');
  }
  const box = createImagebox(options);
  const host = options.host ?? '0.0.0.0';
  const port = options.port ?? 8080;
  let uws: Listening | undefined;
  let front: FrontDoor | undefined;
  let endpoint: StreamEndpoint | undefined;
  const configure = (app: Parameters<typeof attachStream>[0]): void => {
    endpoint = attachStream(app, {
      maxConnections: options.maxStreamConnections,
      ...(options.streamSlots ? { slots: options.streamSlots } : {}),
      idleTimeoutSeconds: options.session?.limits?.idleTimeoutSeconds,
      createSession: (t, grant) => new StreamSession(box.stream, t, grant ? { ...options.session, authorise: (id) => requireSlide(grant, id) } : options.session),
      ...(box.corsOrigins ? { allowOrigin: (origin: string) => originAllowed(origin, box.corsOrigins!) } : {}),
      ...(box.access ? { authorise: (path: string, headers: Record<string, string>, query: string) => box.access!.verify(requestToken(path, headers, query).token) } : {}),
    });
    box.streamConnections = () => endpoint!.connections();
  };
  try {
    if (options.direct) {
      uws = await listen((req, signal) => box.handle(req, signal), host, port, { reusePort: options.reusePort ?? false, configure });
    } else {
      uws = await listen((req, signal) => box.handle(req, signal), '127.0.0.1', 0, { configure });
      front = await startFrontDoor({ host, port, upstream: { host: '127.0.0.1', port: uws.port }, handler: (req, signal) => box.handle(req, signal) });
    }
  } catch (e) {
    uws?.close();
    await box.close();
    throw e;
  }
  const bound = front ? front.port : uws.port;
  const everywhere = host === '0.0.0.0' || host === '::';
  const local = everywhere ? (host === '::' ? '[::1]' : '127.0.0.1') : host.includes(':') ? `[${host}]` : host;
  return {
    box,
    port: bound,
    host,
    url: `http://${local}:${bound}`,
    bound: `${host.includes(':') ? `[${host}]` : host}:${bound}${everywhere ? ` (every ${host === '::' ? '' : 'IPv4 '}interface)` : ''}`,
    frontDoor: front,
    async close({ graceMs = 0 } = {}) {
      front?.stopListening();
      uws!.stopListening();
      endpoint?.closeAll(1001, 'server shutting down');
      // the close frames go out before the sockets are torn down (at most a second)
      for (let i = 0; i < 50 && (endpoint?.connections() ?? 0) > 0; i++) await new Promise((r) => setTimeout(r, 20));
      if (graceMs > 0) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          Promise.all([uws!.idle(), front?.idle()]),
          new Promise<void>((r) => {
            timer = setTimeout(r, graceMs);
          }),
        ]);
        clearTimeout(timer);
      }
      const cut = uws!.pending() + (front?.pending() ?? 0);
      // uWS first: its last bytes (answers, close frames) then drain through the front door's splices
      uws!.close();
      await front?.close();
      // open slides close as their last reads end; one still waiting on a slow origin is not waited for past a second
      let late: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([box.close(), new Promise<void>((r) => (late = setTimeout(r, 1000)))]);
      clearTimeout(late);
      return { cut };
    },
  };
}
