// A slide in a private S3 bucket (s3rver + a Signature V4 gate, test/helpers/s3.ts):
// the server signs every request with AWS Signature V4 (aws4fetch) using the
// credentials of its environment; tiles come back byte-identical to the local
// file's; unsigned or wrongly signed requests are refused by the bucket; no
// credential reaches the client, the logs or an error message.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateBucket, type PrivateBucket } from '../helpers/s3.js';
import { FIXTURES, start, type StartedServer } from './helpers.js';

const CREDS = { accessKeyId: 'AKIDIMAGEBOXTEST', secretAccessKey: 'imagebox-test-secret-0123456789abcdef' };
let bucket: PrivateBucket;
let local: StartedServer;
const saved = { ...process.env };

beforeAll(async () => {
  bucket = await startPrivateBucket(CREDS);
  await bucket.put('cases/aperio-jpeg.svs', new Uint8Array(readFileSync(`${FIXTURES}/aperio-jpeg.svs`)));
  local = await start();
}, 30_000);
afterAll(async () => {
  process.env['AWS_ACCESS_KEY_ID'] = saved['AWS_ACCESS_KEY_ID'];
  process.env['AWS_SECRET_ACCESS_KEY'] = saved['AWS_SECRET_ACCESS_KEY'];
  if (saved['AWS_ACCESS_KEY_ID'] === undefined) delete process.env['AWS_ACCESS_KEY_ID'];
  if (saved['AWS_SECRET_ACCESS_KEY'] === undefined) delete process.env['AWS_SECRET_ACCESS_KEY'];
  await local?.close();
  await bucket?.stop();
});

const config = (): { slides: Record<string, unknown> } => ({ slides: { p: { url: `${bucket.url}/cases/aperio-jpeg.svs`, s3: { region: 'us-east-1' } }, open: { url: `${bucket.url}/cases/aperio-jpeg.svs` } } });

describe('private S3 bucket with AWS Signature V4', () => {
  it('the bucket is private: an unsigned request is refused, and so is a slide configured without s3', async () => {
    expect((await fetch(`${bucket.url}/cases/aperio-jpeg.svs`, { headers: { range: 'bytes=0-9' } })).status).toBe(403);
    const s = await start({ registry: { config: config() as never } });
    try {
      const r = await fetch(`${s.url}/iiif/3/open/info.json`);
      expect(r.status).toBe(403);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('E_FORBIDDEN');
    } finally {
      await s.close();
    }
  });

  it('signed with the environment\'s credentials: info and tiles equal the local file\'s; every request reached the bucket signed', async () => {
    process.env['AWS_ACCESS_KEY_ID'] = CREDS.accessKeyId;
    process.env['AWS_SECRET_ACCESS_KEY'] = CREDS.secretAccessKey;
    const s = await start({ registry: { config: config() as never } });
    try {
      bucket.log.length = 0;
      const info = (await (await fetch(`${s.url}/iiif/3/p/info.json`)).json()) as { width: number; height: number };
      expect([info.width, info.height]).toEqual([8000, 6000]);
      for (const t of ['0,0,256,256/256,/0/default.jpg', '2048,1024,256,256/256,/0/default.jpg', 'full/256,/0/default.jpg']) {
        const a = await fetch(`${s.url}/iiif/3/p/${t}`);
        const b = await fetch(`${local.url}/iiif/3/aperio-jpeg.svs/${t}`);
        expect(a.status).toBe(200);
        expect(Buffer.from(await a.arrayBuffer()).equals(Buffer.from(await b.arrayBuffer()))).toBe(true);
      }
      expect(bucket.log.length).toBeGreaterThan(0);
      expect(bucket.log.every((l) => l.authorized)).toBe(true);
      // nothing of the secret on the wire but the signature; nothing of the key id in what the client sees
      for (const l of bucket.log) expect(l.authorization).not.toContain(CREDS.secretAccessKey);
      const seen = [await (await fetch(`${s.url}/iiif/3/p/info.json`)).text(), await (await fetch(`${s.url}/slides/p`)).text(), await (await fetch(`${s.url}/metrics`)).text()].join('\n');
      expect(seen).not.toContain(CREDS.accessKeyId);
      expect(seen).not.toContain(CREDS.secretAccessKey);
    } finally {
      await s.close();
    }
  });

  it('a wrong secret: the bucket answers SignatureDoesNotMatch, the client gets 403 E_FORBIDDEN without the key', async () => {
    process.env['AWS_ACCESS_KEY_ID'] = CREDS.accessKeyId;
    process.env['AWS_SECRET_ACCESS_KEY'] = 'not-the-secret';
    const s = await start({ registry: { config: config() as never } });
    try {
      const r = await fetch(`${s.url}/iiif/3/p/info.json`);
      expect(r.status).toBe(403);
      const body = await r.text();
      expect(JSON.parse(body).error.code).toBe('E_FORBIDDEN');
      expect(body).not.toContain(CREDS.accessKeyId);
      expect(body).not.toContain('not-the-secret');
      expect(bucket.log.at(-1)?.authorized).toBe(false);
    } finally {
      await s.close();
    }
  });

  it('no credentials in the environment: 403 E_FORBIDDEN that says so, and nothing is sent unsigned', async () => {
    delete process.env['AWS_ACCESS_KEY_ID'];
    delete process.env['AWS_SECRET_ACCESS_KEY'];
    const s = await start({ registry: { config: config() as never } });
    try {
      bucket.log.length = 0;
      const r = await fetch(`${s.url}/iiif/3/p/info.json`);
      expect(r.status).toBe(403);
      expect(((await r.json()) as { error: { code: string; message: string } }).error.message).toMatch(/no AWS credentials/);
      expect(bucket.log.length).toBe(0);
    } finally {
      await s.close();
    }
  });
});
