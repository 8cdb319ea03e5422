// The WebSocket endpoint /stream on uWebSockets.js: the only code that knows
// uWS's WebSocket API. It turns uWS events into StreamSession calls and offers
// the session a transport (send, buffered amount, close); the protocol and the
// scheduling are in src/stream/.
import type { StreamTransport } from '../../stream/session.js';
import { PROTOCOL } from '../../stream/protocol.js';

/** The parts of uWS's WebSocket API used here. */
interface UwsWebSocket {
  send(message: Uint8Array, isBinary: boolean, compress?: boolean): number;
  getBufferedAmount(): number;
  end(code?: number, reason?: string): void;
  getUserData(): { session?: EndpointSession; closed?: boolean };
}
interface UwsUpgradeResponse {
  upgrade(userData: object, key: string, protocol: string, extensions: string, context: unknown): void;
  writeStatus(s: string): UwsUpgradeResponse;
  writeHeader(k: string, v: string): UwsUpgradeResponse;
  end(body?: string): void;
}
interface UwsUpgradeRequest {
  getHeader(name: string): string;
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
  /** Largest frame uWS accepts before closing with 1009 (default 1 MiB; the session answers smaller oversized ones with an error frame). */
  maxPayloadLength?: number;
  /** Seconds without traffic before uWS closes (pings keep live connections open; default 120). */
  idleTimeoutSeconds?: number;
  /** Bytes uWS may buffer for one socket (default 64 MiB: above any session budget). */
  maxBackpressure?: number;
  createSession(t: StreamTransport): EndpointSession;
  /** Which browser pages may open the stream (their Origin header); a request without Origin (not a browser) is let in. Default: any. */
  allowOrigin?: (origin: string) => boolean;
}

export interface StreamEndpoint {
  connections(): number;
}

export function attachStream(app: UwsWsApp, o: StreamEndpointOptions): StreamEndpoint {
  let open = 0;
  const max = o.maxConnections ?? 256;
  app.ws(o.path ?? '/stream', {
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
        res.writeStatus('403 Forbidden').writeHeader('Content-Type', 'application/json');
        res.end('{"error":{"code":"E_FORBIDDEN","message":"this page\'s origin may not open the stream"}}');
        return;
      }
      if (open >= max) {
        res.writeStatus('503 Service Unavailable').writeHeader('Retry-After', '1').writeHeader('Content-Type', 'application/json');
        res.end('{"error":{"code":"E_BUSY","message":"too many stream connections"}}');
        return;
      }
      // a client may name the protocol; only ours is spoken
      const offered = protocols.split(',').map((p) => p.trim()).filter(Boolean);
      const chosen = offered.includes(PROTOCOL) ? PROTOCOL : '';
      res.upgrade({}, key, chosen, extensions, context);
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
      data.session = o.createSession(transport);
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
      data.closed = true;
      data.session?.onClosed();
    },
  });
  return { connections: () => open };
}
