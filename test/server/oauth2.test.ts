// Bearer tokens from an OAuth 2.0 token endpoint (client credentials), through
// the real server: the token endpoint and the origin are real HTTP servers on
// 127.0.0.1. The secret goes only to the token endpoint, the token only to the
// slide's origin; a token is refreshed before it expires (no 401 on the way), and
// a revoked one is replaced after one 401.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Origin } from '../helpers/origin.js';
import { FIXTURES, start, type StartedServer } from './helpers.js';

const CLIENT = { id: 'imagebox-test', secret: 'client-secret-5f1c' };
let origin: Origin;
let tokens: Server;
let tokenUrl = '';
const issued: { token: string; at: number }[] = [];
const valid = new Set<string>();
let lifeS = 3600;
const tokenRequests: { authorization: string | undefined; body: string }[] = [];

beforeAll(async () => {
  origin = await new Origin().start();
  origin.put('/p/s.svs', new Uint8Array(readFileSync(`${FIXTURES}/aperio-jpeg.svs`)));
  origin.auth = (h) => h !== undefined && h.startsWith('Bearer ') && valid.has(h.slice(7));
  tokens = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      tokenRequests.push({ authorization: req.headers.authorization, body });
      const ok = req.headers.authorization === `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}` && /grant_type=client_credentials/.test(body);
      if (!ok) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}');
        return;
      }
      const token = `tok-${issued.length + 1}-${Math.random().toString(36).slice(2)}`;
      issued.push({ token, at: Date.now() });
      valid.add(token);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: lifeS }));
    });
  });
  await new Promise<void>((r) => tokens.listen(0, '127.0.0.1', r));
  tokenUrl = `http://127.0.0.1:${(tokens.address() as AddressInfo).port}/token`;
});
afterAll(async () => {
  await origin?.stop();
  await new Promise<void>((r) => tokens.close(() => r()));
});

/** A server whose slide p takes tokens for these credentials (each scope: its own token, so tests do not share one). */
async function serve(secret = CLIENT.secret, scope = 'slides:read'): Promise<StartedServer> {
  const slides = { p: { url: origin.url('/p/s.svs'), oauth2: { tokenUrl, clientId: CLIENT.id, clientSecret: '${TEST_OAUTH_SECRET}', scope } } };
  return start({ registry: { config: { slides } as never, env: { ...process.env, TEST_OAUTH_SECRET: secret } } as never });
}

describe('OAuth 2.0 client credentials', () => {
  it('fetches a token with the client\'s credentials and sends only the token to the origin; tiles are served', async () => {
    const s = await serve();
    try {
      origin.resetCounters();
      const r = await fetch(`${s.url}/iiif/3/p/0,0,256,256/256,/0/default.jpg`);
      expect(r.status).toBe(200);
      expect(issued.length).toBe(1);
      expect(tokenRequests.at(-1)!.body).toContain('scope=slides%3Aread');
      for (const l of origin.log) {
        expect(l.headers['authorization']).toBe(`Bearer ${issued[0]!.token}`);
        expect(JSON.stringify(l.headers)).not.toContain(CLIENT.secret);
      }
      const seen = [await (await fetch(`${s.url}/iiif/3/p/info.json`)).text(), await (await fetch(`${s.url}/metrics`)).text()].join('\n');
      expect(seen).not.toContain(issued[0]!.token);
      expect(seen).not.toContain(CLIENT.secret);
    } finally {
      await s.close();
    }
  });

  it('a token is refreshed before it expires (no 401 on the way), and a revoked token is replaced after one 401', async () => {
    lifeS = 2; // refreshed 1 s before expiry (at most half its life)
    const s = await serve(CLIENT.secret, 'slides:refresh');
    try {
      expect((await fetch(`${s.url}/iiif/3/p/256,0,256,256/256,/0/default.jpg`)).status).toBe(200);
      const first = issued.length;
      await new Promise((r) => setTimeout(r, 1300));
      origin.resetCounters();
      expect((await fetch(`${s.url}/iiif/3/p/2048,4096,256,256/256,/0/default.jpg`)).status).toBe(200);
      expect((await fetch(`${s.url}/iiif/3/p/5120,2560,256,256/256,/0/default.jpg`)).status).toBe(200);
      expect(origin.log.length).toBeGreaterThan(0);
      expect(issued.length).toBe(first + 1);
      expect(origin.log.some((l) => l.status === 401)).toBe(false);
      // revoke every token: the next read gets a 401, a fresh token, and succeeds
      lifeS = 3600;
      valid.clear();
      origin.resetCounters();
      const before = issued.length;
      expect((await fetch(`${s.url}/iiif/3/p/7424,5376,256,256/256,/0/default.jpg`)).status).toBe(200);
      expect(issued.length).toBe(before + 1);
      expect(origin.log.filter((l) => l.status === 401).length).toBe(1);
    } finally {
      lifeS = 3600;
      await s.close();
    }
  });

  it('wrong client credentials: 403 E_FORBIDDEN, nothing sent to the origin, no secret in the answer', async () => {
    const s = await serve('wrong-secret');
    try {
      origin.resetCounters();
      const r = await fetch(`${s.url}/iiif/3/p/info.json`);
      expect(r.status).toBe(403);
      const body = await r.text();
      expect(JSON.parse(body).error.code).toBe('E_FORBIDDEN');
      expect(body).not.toContain('wrong-secret');
      expect(origin.requests).toBe(0);
    } finally {
      await s.close();
    }
  });

  it('a redirect to another host: refused, and that host never sees the token or the secret', async () => {
    const other = await new Origin().start();
    other.put('/p/s.svs', new Uint8Array(readFileSync(`${FIXTURES}/aperio-jpeg.svs`)));
    const s = await serve(CLIENT.secret, 'slides:redirect');
    try {
      expect((await fetch(`${s.url}/iiif/3/p/info.json`)).status).toBe(200);
      origin.faults = { redirects: { '/p/s.svs': other.url('/p/s.svs') } };
      const r = await fetch(`${s.url}/iiif/3/p/3072,3072,256,256/256,/0/default.jpg`);
      expect([403, 502]).toContain(r.status);
      expect(other.requests).toBe(0);
    } finally {
      origin.faults = {};
      await s.close();
      await other.stop();
    }
  });
});

