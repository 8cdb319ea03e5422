// Requests uWebSockets.js 20.30 never answers (HTTP/1.0, no Host, absolute-form,
// "*", garbage, too many fields), sent byte for byte over raw sockets to the
// real server: each gets its answer at once. Keep-alive connections that start
// clean are spliced to uWS and stay fast.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedServer } from '../../src/server/serve.js';
import { start } from './helpers.js';

let s: StartedServer;
beforeAll(async () => {
  s = await start();
});
afterAll(async () => s?.close());

interface Raw {
  status: number;
  head: string;
  body: string;
  ms: number;
  closed: boolean;
}

/** Write `bytes`, read until the server closes (or `waitMs`), parse the first response. */
export function rawExchange(port: number, bytes: string | Buffer, waitMs = 3000): Promise<Raw> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const sock = connect(port, '127.0.0.1', () => sock.write(bytes));
    let buf = Buffer.alloc(0);
    let closed = false;
    let timedOut = false;
    const done = (): void => {
      const text = buf.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const head = end < 0 ? text : text.slice(0, end);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, head, body: end < 0 ? '' : text.slice(end + 4), ms: performance.now() - t0, closed });
    };
    sock.on('data', (d: Buffer) => (buf = Buffer.concat([buf, d])));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      closed = !timedOut;
      clearTimeout(timer);
      done();
    });
    const timer = setTimeout(() => {
      timedOut = true;
      sock.destroy();
    }, waitMs);
  });
}

describe('the front door answers what uWS cannot read', () => {
  const cases: [string, string, number, string?][] = [
    ['HTTP/1.0 (curl -0)', 'GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\nUser-Agent: curl/7.88.1\r\n\r\n', 200, '"status": "ok"'],
    ['HTTP/1.0 without Host', 'GET /health HTTP/1.0\r\n\r\n', 200],
    ['HTTP/1.0 image request (nginx default proxy_pass)', 'GET /iiif/3/aperio-jpeg.svs/0,0,256,256/256,256/0/default.jpg HTTP/1.0\r\nHost: up\r\nConnection: close\r\n\r\n', 200],
    ['HTTP/1.0 HEAD', 'HEAD /health HTTP/1.0\r\n\r\n', 200],
    ['absolute-form target', 'GET http://example.org/health HTTP/1.1\r\nHost: example.org\r\n\r\n', 200],
    ['bare LF line endings', 'GET /health HTTP/1.1\nHost: x\n\n', 200],
    ['OPTIONS *', 'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n', 204],
    ['HTTP/1.1 without Host', 'GET /health HTTP/1.1\r\n\r\n', 400, 'E_BAD_REQUEST'],
    ['two Hosts', 'GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
    ['GET *', 'GET * HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['a garbage request line', 'hello there\r\n\r\n', 400],
    ['binary garbage', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', 400],
    ['two spaces', 'GET  /health HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['NUL in the target', 'GET /he\0alth HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['a field without a colon', 'GET /health HTTP/1.1\r\nHost: x\r\nBroken\r\n\r\n', 400],
    ['space before the colon', 'GET /health HTTP/1.1\r\nHost : x\r\n\r\n', 400],
    ['obsolete line folding', 'GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n', 400],
    ['Content-Length and Transfer-Encoding (smuggling)', 'POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
    ['lower-case method', 'get /health HTTP/1.1\r\nHost: x\r\n\r\n', 405, 'E_METHOD_NOT_ALLOWED'],
    ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 505, 'E_HTTP_VERSION'],
    ['a 9 KiB request line', `GET /health?${'a'.repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414, 'E_URI_TOO_LONG'],
    ['49 header fields', `GET /health HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 48 }, (_, i) => `X-${i}: v\r\n`).join('')}\r\n`, 431, 'E_HEADERS_TOO_LARGE'],
    ['a 20 KiB field', `GET /health HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
  ];
  for (const [name, bytes, status, contains] of cases)
    it(`${name} -> ${status} at once, connection closed`, async () => {
      const r = await rawExchange(s.port, Buffer.from(bytes, 'latin1'));
      expect(r.status, r.head).toBe(status);
      expect(r.closed).toBe(true);
      expect(r.ms).toBeLessThan(1000); // uWS alone: no answer, closed after its 10 s idle timeout
      expect(r.head).toMatch(/\r\nConnection: close/i);
      if (contains) expect(r.head + r.body).toContain(contains);
      if (status >= 400) expect(JSON.parse(r.body).error.code).toMatch(/^E_/);
    });

  it('a head that never completes is 408 after the head timeout, not a hang', async () => {
    const { startFrontDoor } = await import('../../src/server/front-door.js');
    const door = await startFrontDoor({
      host: '127.0.0.1',
      port: 0,
      upstream: { host: '127.0.0.1', port: 1 },
      handler: async () => ({ status: 200, headers: {}, body: 'x' }),
      headTimeoutMs: 300,
    });
    try {
      const r = await rawExchange(door.port, 'GET /health HTTP/1.1\r\nHost: x\r\n');
      expect(r.status).toBe(408);
      expect(r.ms).toBeGreaterThanOrEqual(250);
      expect(r.ms).toBeLessThan(2000);
    } finally {
      await door.close();
    }
  });

  it('a clean HTTP/1.1 connection is spliced to uWS: keep-alive and pipelined requests all answered', async () => {
    const one = 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n';
    const r = await rawExchange(s.port, one + one + one, 800);
    expect((r.head + r.body).match(/HTTP\/1\.1 200 OK/g)?.length).toBe(3);
    expect(r.closed).toBe(false); // keep-alive: we closed it after 800 ms
    expect(s.frontDoor!.stats().spliced).toBeGreaterThan(0);
  });

  it('a head split over several packets is still read', async () => {
    const sock = connect(s.port, '127.0.0.1');
    const got = new Promise<string>((resolve) => {
      let b = '';
      sock.on('data', (d) => {
        b += d;
        if (b.includes('"ok"')) resolve(b);
      });
    });
    for (const part of ['GE', 'T /hea', 'lth HTTP/1.1\r\nHo', 'st: x\r\n', '\r\n']) {
      sock.write(part);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await got).toMatch(/^HTTP\/1\.1 200 OK/);
    sock.destroy();
  });
});
