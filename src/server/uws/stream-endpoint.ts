// The WebSocket endpoint /stream on uWebSockets.js: the only code that knows
// uWS's WebSocket API. It turns uWS events into StreamSession calls and offers
// the session a transport (send, buffered amount, close); the protocol and the
// scheduling are in src/stream/.
import type { StreamTransport } from '../../stream/session.js';
import { PROTOCOL } from '../../stream/protocol.js';
import { STATUS_CODES } from 'node:http';
import { errorResponse } from '../handlers/types.js';
import type { Grant } from '../access.js';

/** The parts of uWS's WebSocket API used here. */
interface UwsWebSocket {
  send(message: Uint8Array, isBinary: boolean, compress?: boolean): number;
  getBufferedAmount(): number;
  end(code?: number, reason?: string): void;
  getUserData(): { session?: EndpointSession; closed?: boolean; grant?: Grant; expiry?: ReturnType<typeof setTimeout>; transport?: StreamTransport; released?: boolean };
}
interface UwsUpgradeResponse {
  upgrade(userData: object, key: string, protocol: string, extensions: string, context: unknown): void;
  writeStatus(s: string): UwsUpgradeResponse;
  writeHeader(k: string, v: string): UwsUpgradeResponse;
  end(body?: string): void;
  onAborted(handler: () => void): void;
  cork(f: () => void): void;
}
interface UwsUpgradeRequest {
  getHeader(name: string): string;
  getUrl(): string;
  getQuery(): string | undefined;
}
export interface UwsWsApp {
  ws(pattern: string, behaviour: Record<string, unknown>): unknown;
}

/** What the endpoint drives: a StreamSession. */
export interface EndpointSession {
  onMessage(bytes: Uint8Array): void;
  onDrain(): void;
  onClosed(): void;
}

export interface StreamEndpointOptions {
  path?: string;
  /** Connections at once (default 256); more get 503 at the upgrade. */
  maxConnections?: number;
  /**
   * Where the connections are counted against maxConnections (default: this
   * endpoint alone; --threads: one count shared by every thread's endpoint).
   */
  slots?: ConnectionSlots;
  /** Largest message uWS buffers: a bigger one drops the connection, no close frame (1006 at the client; default 1 MiB). The session answers smaller oversized ones with an error frame. */
  maxPayloadLength?: number;
  /** Seconds without traffic before uWS closes (pings keep live connections open; default 120). */
  idleTimeoutSeconds?: number;
  /** Bytes uWS may buffer for one socket (default 64 MiB: above any session budget). */
  maxBackpressure?: number;
  createSession(t: StreamTransport, grant: Grant | undefined): EndpointSession;
  /**
   * Access control: the grant of the upgrade's token (path /t/<token>/stream,
   * ?token= or Authorization: Bearer), or a rejection (401/403 before the
   * upgrade). The connection is closed (1008) when the grant expires.
   */
  authorise?: (path: string, headers: Record<string, string>, query: string) => Promise<Grant>;
  /** Which browser pages may open the stream (their Origin header); a request without Origin (not a browser) is let in. Default: any. */
  allowOrigin?: (origin: string) => boolean;
}

/** A bounded count of connections, taken at the upgrade and given back at the close. */
export interface ConnectionSlots {
  tryAcquire(): boolean;
  release(): void;
}

/** Slots counted in this thread. */
export function localSlots(max: number): ConnectionSlots {
  let n = 0;
  return {
    tryAcquire: () => (n < max ? (n++, true) : false),
    release: () => void n--,
  };
}

/** Slots counted in shared memory (an Int32Array over a SharedArrayBuffer): every thread's endpoint draws on one bound. */
export function sharedSlots(counter: Int32Array, max: number): ConnectionSlots {
  return {
    tryAcquire() {
      for (;;) {
        const n = Atomics.load(counter, 0);
        if (n >= max) return false;
        if (Atomics.compareExchange(counter, 0, n, n + 1) === n) return true;
      }
    },
    release: () => void Atomics.sub(counter, 0, 1),
  };
}

export interface StreamEndpoint {
  connections(): number;
  /** Refuse new connections (503 E_BUSY) and close the open ones with this code (1001: going away, the viewer reconnects elsewhere). */
  closeAll(code: number, reason: string): void;
}

export function attachStream(app: UwsWsApp, o: StreamEndpointOptions): StreamEndpoint {
  let open = 0;
  let closing = false;
  const transports = new Set<StreamTransport>();
  const slots = o.slots ?? localSlots(o.maxConnections ?? 256);
  const path = o.path ?? '/stream';
  const refuse = (res: UwsUpgradeResponse, status: string, body: string, extra: Record<string, string> = {}): void => {
    res.writeStatus(status).writeHeader('Content-Type', 'application/json');
    for (const [k, v] of Object.entries(extra)) res.writeHeader(k, v);
    res.end(body);
  };
  const behaviour = {
    compression: 0,
    maxPayloadLength: o.maxPayloadLength ?? 1024 * 1024,
    idleTimeout: o.idleTimeoutSeconds ?? 120,
    maxBackpressure: o.maxBackpressure ?? 64 * 1024 * 1024,
    closeOnBackpressureLimit: false,
    sendPingsAutomatically: true,
    upgrade: (res: UwsUpgradeResponse, req: UwsUpgradeRequest, context: unknown) => {
      const key = req.getHeader('sec-websocket-key');
      const protocols = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      const origin = req.getHeader('origin');
      if (origin !== '' && o.allowOrigin && !o.allowOrigin(origin)) {
        refuse(res, '403 Forbidden', '{"error":{"code":"E_FORBIDDEN","message":"this page\'s origin may not open the stream"}}');
        return;
      }
      // a client may name the protocol; only ours is spoken
      const offered = protocols.split(',').map((p) => p.trim()).filter(Boolean);
      const chosen = offered.includes(PROTOCOL) ? PROTOCOL : '';
      const upgrade = (grant: Grant | undefined): void => {
        if (closing) {
          refuse(res, '503 Service Unavailable', '{"error":{"code":"E_BUSY","message":"the server is shutting down"}}', { 'Retry-After': '1', Connection: 'close' });
          return;
        }
        if (!slots.tryAcquire()) {
          refuse(res, '503 Service Unavailable', '{"error":{"code":"E_BUSY","message":"too many stream connections"}}', { 'Retry-After': '1' });
          return;
        }
        // the slot is taken here (so upgrades on other threads count it at once) and given back at close
        res.upgrade({ grant }, key, chosen, extensions, context);
      };
      if (!o.authorise) return upgrade(undefined);
      // the request is only valid during this callback: read what the check needs, answer after it
      const auth = req.getHeader('authorization');
      const headers: Record<string, string> = auth === '' ? {} : { authorization: auth };
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      o.authorise(req.getUrl(), headers, req.getQuery() ?? '').then(
        (grant) => {
          if (!aborted) res.cork(() => upgrade(grant));
        },
        (e: unknown) => {
          if (aborted) return;
          // the one error contract: status, body and WWW-Authenticate as an HTTP answer has them
          const r = errorResponse(e);
          const auth = r.headers['WWW-Authenticate'];
          res.cork(() => refuse(res, `${r.status} ${STATUS_CODES[r.status] ?? 'Error'}`, String(r.body), auth ? { 'WWW-Authenticate': auth } : {}));
        },
      );
    },
    open: (ws: UwsWebSocket) => {
      open++;
      const data = ws.getUserData();
      const transport: StreamTransport = {
        send: (frame) => {
          if (!data.closed) ws.send(frame, true, false);
        },
        buffered: () => (data.closed ? 0 : ws.getBufferedAmount()),
        close: (code, reason) => {
          if (data.closed) return;
          data.closed = true;
          ws.end(code, reason);
        },
      };
      transports.add(transport);
      data.transport = transport;
      data.session = o.createSession(transport, data.grant);
      if (data.grant) armExpiry(data, transport, data.grant.expires);
    },
    message: (ws: UwsWebSocket, message: ArrayBuffer, isBinary: boolean) => {
      const s = ws.getUserData().session;
      if (!s) return;
      // the ArrayBuffer is only valid during this callback
      const bytes = new Uint8Array(message.slice(0));
      s.onMessage(isBinary ? bytes : bytes);
    },
    drain: (ws: UwsWebSocket) => ws.getUserData().session?.onDrain(),
    close: (ws: UwsWebSocket) => {
      open--;
      const data = ws.getUserData();
      if (!data.released) {
        data.released = true;
        slots.release();
      }
      data.closed = true;
      clearTimeout(data.expiry);
      if (data.transport) transports.delete(data.transport);
      data.session?.onClosed();
    },
  };
  app.ws(path, behaviour);
  // the same stream under a token prefix (the viewer opened at /t/<token>/view/...)
  if (o.authorise) app.ws(`/t/:token${path}`, behaviour);
  return {
    connections: () => open,
    closeAll(code, reason) {
      closing = true;
      for (const t of [...transports]) t.close(code, reason);
    },
  };
}

/** Close the connection when its token expires (1008, policy violation): the client reconnects with a fresh one. */
function armExpiry(data: ReturnType<UwsWebSocket['getUserData']>, transport: StreamTransport, expires: number): void {
  const ms = expires * 1000 - Date.now();
  if (ms <= 0) return transport.close(1008, 'token expired');
  // setTimeout holds at most ~24.8 days; a longer token re-arms
  data.expiry = setTimeout(() => {
    if (!data.closed) armExpiry(data, transport, expires);
  }, Math.min(ms, 2 ** 31 - 1));
}
