// The uWebSockets.js transport: the only file that knows uWS. It converts a
// uWS request into an HttpRequest (synchronously, before any await: uWS
// request objects die when the callback returns), runs the handler, and
// writes the answer corked, with backpressure for large bodies. A client that
// goes away aborts the handler's signal (queued pixel work is dropped).
import { setMaxListeners } from 'node:events';
import { STATUS_CODES } from 'node:http';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import type { HttpRequest, HttpResponse } from '../handlers/types.js';
import { listenError } from '../listen-error.js';
import type { UwsWsApp } from './stream-endpoint.js';

// uWebSockets.js is CommonJS with a native addon.
const require = createRequire(import.meta.url);

/** The subset of the uWS API we use (its own typings live outside our tsconfig). */
interface UwsResponse {
  writeStatus(s: string): UwsResponse;
  writeHeader(k: string, v: string): UwsResponse;
  end(body?: Uint8Array | string): UwsResponse;
  endWithoutBody(reportedContentLength?: number): UwsResponse;
  tryEnd(body: Uint8Array, total: number): [boolean, boolean];
  getWriteOffset(): number;
  onWritable(h: (offset: number) => boolean): UwsResponse;
  onAborted(h: () => void): UwsResponse;
  cork(cb: () => void): UwsResponse;
}
interface UwsRequest {
  getUrl(): string;
  getQuery(): string | undefined;
  getCaseSensitiveMethod(): string;
  forEach(cb: (k: string, v: string) => void): void;
}
interface UwsApp {
  any(pattern: string, h: (res: UwsResponse, req: UwsRequest) => void): UwsApp;
  ws(pattern: string, behaviour: Record<string, unknown>): UwsApp;
  listen(host: string, port: number, options: number, cb: (token: unknown) => void): UwsApp;
  close?(): void;
}
interface Uws {
  App(): UwsApp;
  getParts?: unknown;
  us_listen_socket_close(token: unknown): void;
  us_socket_local_port(token: unknown): number;
  LIBUS_LISTEN_EXCLUSIVE_PORT: number;
}

let loaded: Uws | undefined;

/** Loads uWS and fails loudly unless the native binary loaded (not the pure-JS `ws` fallback). */
export function nativeUws(): Uws {
  if (loaded) return loaded;
  const uws = require('uWebSockets.js') as Uws;
  if (typeof uws.getParts !== 'function') {
    throw new Error('uWebSockets.js: the native binary did not load (getParts missing: the ws fallback is active). Unset UWS_USE_FALLBACK and check the platform binary.');
  }
  loaded = uws;
  return uws;
}

export type RequestHandler = (req: HttpRequest, signal: AbortSignal) => Promise<HttpResponse>;

export interface Listening {
  port: number;
  host: string;
  /** Stop accepting connections; those open are served on. */
  stopListening(): void;
  /** Requests being answered now (handler running or a large body still being written). */
  pending(): number;
  /** Resolves when no request is being answered. */
  idle(): Promise<void>;
  close(): void;
}

const BIG_BODY = 64 * 1024;

/** Write the response; `done` is called once it is all handed to the socket (or the client went away). */
function write(res: UwsResponse, r: HttpResponse, head: boolean, state: { aborted: boolean; onAbort?: () => void }, done: () => void): void {
  res.writeStatus(`${r.status} ${STATUS_CODES[r.status] ?? 'Unknown'}`);
  for (const [k, v] of Object.entries(r.headers)) {
    if (k.toLowerCase() === 'content-length') continue; // uWS writes it
    res.writeHeader(k, v);
  }
  const body = typeof r.body === 'string' ? new TextEncoder().encode(r.body) : r.body;
  if (head || r.status === 304 || r.status === 204 || !body) {
    if (head && body) res.endWithoutBody(body.byteLength);
    else if (r.status === 304 || r.status === 204) res.endWithoutBody();
    else res.end();
    return done();
  }
  if (body.byteLength <= BIG_BODY) {
    res.end(body);
    return done();
  }
  // large body: stream it as the socket drains
  const total = body.byteLength;
  const start = res.getWriteOffset();
  const [ok, finished] = res.tryEnd(body, total);
  if (finished || ok) return done();
  state.onAbort = done;
  res.onWritable((offset) => {
    if (state.aborted) return true;
    const [ok2, finished2] = res.tryEnd(body.subarray(offset - start), total);
    if (ok2 || finished2) done();
    return ok2;
  });
}

export interface ListenOptions {
  /**
   * Share the port with other processes (SO_REUSEPORT, uWS's default): the kernel
   * splits connections between them. Off by default: a second server on a taken
   * port fails with EADDRINUSE instead of silently taking half the traffic.
   */
  reusePort?: boolean;
  /** Register more routes (the WebSocket endpoint) on the app before it listens. */
  configure?: (app: UwsWsApp) => void;
}

/** Serve a handler over HTTP with uWS. Resolves once listening (port 0 = a free port). */
export function listen(handler: RequestHandler, host = '0.0.0.0', port = 8080, options: ListenOptions = {}): Promise<Listening> {
  const uws = nativeUws();
  const app = uws.App();
  options.configure?.(app);
  let pending = 0;
  let waiters: (() => void)[] = [];
  const finished = (): void => {
    if (--pending === 0) for (const w of waiters.splice(0)) w();
  };
  app.any('/*', (res, ureq) => {
    // read everything now: ureq is invalid after this callback returns
    const headers: Record<string, string> = {};
    ureq.forEach((k, v) => {
      headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
    });
    const req: HttpRequest = {
      method: ureq.getCaseSensitiveMethod().toUpperCase(),
      path: ureq.getUrl(),
      query: ureq.getQuery() ?? '',
      headers,
    };
    const ac = new AbortController();
    setMaxListeners(0, ac.signal);
    pending++;
    let counted = true;
    const done = (): void => {
      if (!counted) return;
      counted = false;
      finished();
    };
    const state: { aborted: boolean; onAbort?: () => void } = { aborted: false };
    res.onAborted(() => {
      state.aborted = true;
      ac.abort();
      state.onAbort?.();
    });
    handler(req, ac.signal).then(
      (r) => {
        if (state.aborted) return done();
        res.cork(() => write(res, r, req.method === 'HEAD', state, done));
      },
      () => {
        if (state.aborted) return done();
        res.cork(() => write(res, { status: 500, headers: { 'Content-Type': 'application/json' }, body: '{"error":{"code":"E_INTERNAL","message":"internal error"}}' }, false, state, done));
      },
    );
  });
  return new Promise((resolve, reject) => {
    app.listen(host, port, options.reusePort ? 0 : uws.LIBUS_LISTEN_EXCLUSIVE_PORT, (token) => {
      if (!token) {
        // uWS does not say why; a Node bind on the same address does
        probeListenError(host, port).then(reject, reject);
        return;
      }
      let listening = true;
      const stopListening = (): void => {
        if (listening) uws.us_listen_socket_close(token);
        listening = false;
      };
      resolve({
        port: uws.us_socket_local_port(token),
        host,
        stopListening,
        pending: () => pending,
        idle: () => (pending === 0 ? Promise.resolve() : new Promise<void>((r) => waiters.push(r))),
        close() {
          stopListening();
          app.close?.();
          waiters = [];
        },
      });
    });
  });
}

/** Why host:port cannot be bound, learnt by trying it with Node (uWS reports only failure). */
function probeListenError(host: string, port: number): Promise<Error> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (e: NodeJS.ErrnoException) => resolve(listenError(e, host, port)));
    probe.listen({ host, port, exclusive: true }, () => {
      probe.close();
      resolve(new Error(`cannot listen on ${host}:${port}`));
    });
  });
}
