// The front door: a plain TCP listener in front of uWebSockets.js. uWS 20.30
// (the only build on the npm registry) answers nothing it cannot parse: an
// HTTP/1.0 request (curl -0, ApacheBench, nginx's default proxy_pass), an
// HTTP/1.1 request without Host, an absolute-form target, `GET *`, a garbage
// request line all hang until its 10 s idle timeout (uNetworking/uWebSockets#1547).
//
// So the first request of every connection is read here. If uWS can read it,
// the connection is spliced to uWS on a loopback port and every byte after
// that flows through untouched (keep-alive, pipelining, WebSocket upgrades).
// If it is a valid request uWS cannot read, it is answered here by the same
// handler and the connection closed. Anything else gets its error status at
// once (400, 414, 431, 505, or 408 when the head does not arrive in time).
//
// The splice costs ~20 us of CPU per request (measured: bench/RESULTS.md);
// `imagebox serve --direct` skips the front door where a proxy in front
// (nginx with proxy_http_version 1.1) already speaks only clean HTTP/1.1.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { ImageboxError, asImageboxError } from '../errors.js';
import { errorResponse, type Handler, type HttpRequest, type HttpResponse } from './handlers/types.js';
import { listenError } from './listen-error.js';
import { parseRequestHead, uwsReads, type RequestHead } from './request-head.js';

export interface FrontDoorOptions {
  host: string;
  port: number;
  /** Where uWS listens (loopback): one app, or one per thread (--threads; each connection goes to the one carrying the fewest). */
  upstream: { host: string; port: number } | { host: string; port: number }[];
  /** Answers the requests uWS cannot read. */
  handler: Handler;
  /** Time for the first request head to arrive (default 10 s, as uWS's idle timeout). */
  headTimeoutMs?: number;
}

export interface FrontDoor {
  port: number;
  host: string;
  /** Stop accepting connections (open ones, and the uWS connections they carry, go on). */
  stopListening(): void;
  /** Requests the front door answers itself now (uWS counts its own). */
  pending(): number;
  idle(): Promise<void>;
  close(): Promise<void>;
  stats(): { spliced: number; answered: number; rejected: number };
}

function head(status: number, headers: Record<string, string>, length: number): string {
  let s = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
  for (const [k, v] of Object.entries(headers)) {
    const lk = k.toLowerCase();
    if (lk === 'content-length' || lk === 'connection' || lk === 'transfer-encoding') continue;
    s += `${k}: ${v}\r\n`;
  }
  return `${s}Content-Length: ${length}\r\nConnection: close\r\n\r\n`;
}

/** Write a whole response and close the connection. */
function answer(socket: Socket, r: HttpResponse, isHead: boolean): void {
  const body = r.body === undefined ? new Uint8Array(0) : typeof r.body === 'string' ? Buffer.from(r.body) : r.body;
  const empty = r.status === 204 || r.status === 304;
  socket.write(head(r.status, r.headers, empty ? 0 : body.byteLength));
  if (isHead || empty || body.byteLength === 0) socket.end();
  else socket.end(body);
}

/** The request a head describes, as the handlers see it. */
export function toHttpRequest(h: RequestHead): HttpRequest {
  const headers: Record<string, string> = {};
  for (const [k, v] of h.fields) headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
  let target = h.target;
  if (/^https?:\/\//i.test(target)) {
    // absolute-form: the authority in the target wins over Host (RFC 9112 section 3.2.2)
    const u = new URL(target);
    headers['host'] = u.host;
    target = u.pathname + u.search;
  }
  const q = target.indexOf('?');
  return {
    method: h.method,
    path: q < 0 ? target : target.slice(0, q),
    query: q < 0 ? '' : target.slice(q + 1),
    headers,
  };
}

export function startFrontDoor(o: FrontDoorOptions): Promise<FrontDoor> {
  const timeoutMs = o.headTimeoutMs ?? 10_000;
  const sockets = new Set<Socket>();
  /** Client connections carried to uWS. */
  const spliced = new Set<Socket>();
  /** Their connections to uWS. */
  const ups = new Set<Socket>();
  const upstreams = (s: Socket): boolean => ups.has(s);
  const counters = { spliced: 0, answered: 0, rejected: 0 };
  const targets = (Array.isArray(o.upstream) ? o.upstream : [o.upstream]).map((u) => ({ ...u, open: 0 }));
  let turn = 0;
  /** The upstream carrying the fewest connections now (ties: in turn). */
  const pick = (): (typeof targets)[number] => {
    let best = targets[turn++ % targets.length]!;
    for (const t of targets) if (t.open < best.open) best = t;
    return best;
  };

  const reject = (socket: Socket, e: unknown): void => {
    counters.rejected++;
    answer(socket, errorResponse(e), false);
  };

  let pending = 0;
  const waiters: (() => void)[] = [];
  const serveHere = (socket: Socket, h: RequestHead): void => {
    counters.answered++;
    const ac = new AbortController();
    socket.once('close', () => ac.abort());
    socket.pause(); // a body, if any, is not read: the connection closes after the answer
    pending++;
    const done = (): void => {
      if (--pending === 0) for (const w of waiters.splice(0)) w();
    };
    o.handler(toHttpRequest(h), ac.signal)
      .then(
        (r) => !socket.destroyed && answer(socket, r, h.method === 'HEAD'),
        (e: unknown) => !socket.destroyed && answer(socket, errorResponse(asImageboxError(e)), false),
      )
      .finally(done);
  };

  const splice = (socket: Socket, first: Buffer): void => {
    counters.spliced++;
    const target = pick();
    target.open++;
    const up = createConnection({ host: target.host, port: target.port, noDelay: true });
    sockets.add(up);
    ups.add(up);
    spliced.add(socket);
    up.on('close', () => {
      target.open--;
      sockets.delete(up);
      ups.delete(up);
      // end, not destroy: what uWS wrote last (a response, a WebSocket close frame) still reaches the client
      socket.end();
      setTimeout(() => socket.destroy(), 2000).unref();
    });
    up.on('error', () => socket.destroy());
    socket.on('close', () => up.destroy());
    up.write(first);
    socket.pipe(up);
    up.pipe(socket);
  };

  const server: Server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      spliced.delete(socket);
    });
    socket.on('error', () => socket.destroy());
    let buf: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => reject(socket, new ImageboxError('E_REQUEST_TIMEOUT', `request head not received within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
    const onData = (chunk: Buffer): void => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      let parsed;
      try {
        parsed = parseRequestHead(buf);
      } catch (e) {
        socket.off('data', onData);
        clearTimeout(timer);
        reject(socket, e);
        return;
      }
      if (parsed.kind === 'incomplete') return;
      socket.off('data', onData);
      clearTimeout(timer);
      const h = parsed.head;
      if (h.target === '*' && h.method !== 'OPTIONS') {
        reject(socket, new ImageboxError('E_BAD_REQUEST', 'the request target "*" is only for OPTIONS'));
        return;
      }
      if (uwsReads(h)) splice(socket, buf);
      else serveHere(socket, h);
    };
    socket.on('data', onData);
  });

  return new Promise((resolve, rejectListen) => {
    server.once('error', (e: NodeJS.ErrnoException) => rejectListen(listenError(e, o.host, o.port)));
    server.listen({ host: o.host, port: o.port, exclusive: true }, () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : o.port;
      resolve({
        port,
        host: o.host,
        stats: () => ({ ...counters }),
        stopListening: () => {
          if (server.listening) server.close();
        },
        pending: () => pending,
        idle: () => (pending === 0 ? Promise.resolve() : new Promise<void>((r) => waiters.push(r))),
        // uWS is closed first: a spliced connection ends once what uWS wrote has gone through (at most a second)
        close: async () => {
          if (server.listening) server.close();
          for (const s of sockets) if (!spliced.has(s) && !upstreams(s)) s.destroy();
          for (let i = 0; i < 50 && spliced.size > 0; i++) await new Promise((r) => setTimeout(r, 20));
          for (const s of sockets) s.destroy();
        },
      });
    });
  });
}
