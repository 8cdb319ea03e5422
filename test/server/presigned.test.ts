// Pre-signed URLs (S3, GCS): the query is kept on every request; an expired URL
// is a clear 403 E_FORBIDDEN ("has expired") without a refresher, and with one
// (a command, or a URL) the server gets the successor, checks it names the
// same object, and serves on; the signature never reaches a client.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Origin } from '../helpers/origin.js';
import { FIXTURES, start } from './helpers.js';

let origin: Origin;
let valid = new Set<string>();
let signer: Server;
let signerUrl = '';
let signed = 0;
const sig = (n: number): string => `X-Amz-Expires=60&X-Amz-Signature=sig${n}`;

beforeAll(async () => {
  origin = await new Origin().start();
  origin.put('/b/s.svs', new Uint8Array(readFileSync(`${FIXTURES}/aperio-jpeg.svs`)));
  origin.presigned = (q) => valid.has(q);
  signer = createServer((_req, res) => {
    signed++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ url: origin.url(`/b/s.svs?${sig(100 + signed)}`) }));
  });
  await new Promise<void>((r) => signer.listen(0, '127.0.0.1', r));
  signerUrl = `http://127.0.0.1:${(signer.address() as AddressInfo).port}/presign`;
});
afterAll(async () => {
  await origin?.stop();
  await new Promise<void>((r) => signer.close(() => r()));
});

const tile = (base: string, i: number): string => `${base}/iiif/3/p/${(i % 30) * 256},${(Math.floor(i / 30) % 23) * 256},256,256/256,/0/default.jpg`;

describe('pre-signed URLs', () => {
  it('the query goes with every request; an expired URL without a refresher is 403 E_FORBIDDEN saying so, without the signature', async () => {
    valid = new Set([sig(1)]);
    const s = await start({ registry: { config: { slides: { p: { url: origin.url(`/b/s.svs?${sig(1)}`) } } } } });
    try {
      origin.resetCounters();
      expect((await fetch(tile(s.url, 0))).status).toBe(200);
      expect(origin.log.length).toBeGreaterThan(0);
      expect(origin.log.every((l) => l.path.endsWith(`?${sig(1)}`))).toBe(true);
      valid = new Set(); // it expired
      const r = await fetch(tile(s.url, 200));
      expect(r.status).toBe(403);
      const body = await r.text();
      expect(JSON.parse(body).error.code).toBe('E_FORBIDDEN');
      expect(JSON.parse(body).error.message).toMatch(/pre-signed URL has expired/);
      expect(body).not.toContain('sig1');
      expect(await (await fetch(`${s.url}/iiif/3/p/info.json`)).text()).not.toContain('sig1');
    } finally {
      await s.close();
    }
  });

  it('a refresh command: after one 403 the successor URL is used and tiles are served', async () => {
    valid = new Set([sig(2)]);
    const next = origin.url(`/b/s.svs?${sig(3)}`);
    const s = await start({ registry: { config: { slides: { p: { url: origin.url(`/b/s.svs?${sig(2)}`), refresh: { command: `printf '%s\\n' '${next}'` } } } } as never } });
    try {
      expect((await fetch(tile(s.url, 1))).status).toBe(200);
      valid = new Set([sig(3)]); // sig2 expired, sig3 is what the command prints
      origin.resetCounters();
      expect((await fetch(tile(s.url, 300))).status).toBe(200);
      expect(origin.log.filter((l) => l.status === 403).length).toBe(1);
      expect(origin.log.at(-1)!.path).toContain(sig(3));
      expect((await fetch(tile(s.url, 400))).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('a refresh URL (JSON { url }); a refresher that names another object is refused', async () => {
    valid = new Set([sig(4)]);
    const s = await start({ registry: { config: { slides: { p: { url: origin.url(`/b/s.svs?${sig(4)}`), refresh: { url: signerUrl } } } } as never } });
    try {
      expect((await fetch(tile(s.url, 2))).status).toBe(200);
      valid = new Set([sig(100 + signed + 1)]);
      expect((await fetch(tile(s.url, 500))).status).toBe(200);
    } finally {
      await s.close();
    }
    valid = new Set([sig(5)]);
    const other = await start({
      registry: { config: { slides: { p: { url: origin.url(`/b/s.svs?${sig(5)}`), refresh: { command: `echo '${origin.url('/b/other.svs?X-Amz-Signature=x')}'` } } } } as never },
    });
    try {
      expect((await fetch(tile(other.url, 3))).status).toBe(200);
      valid = new Set();
      origin.resetCounters();
      const r = await fetch(tile(other.url, 600));
      expect(r.status).toBe(403);
      expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/not the same object/);
      expect(origin.log.some((l) => l.path.startsWith('/b/other.svs'))).toBe(false);
    } finally {
      await other.close();
    }
  });
});
