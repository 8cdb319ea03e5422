// A slide whose bytes change under the running server: a local file replaced
// (rename over it) or rewritten in place, and a remote file whose ETag changes.
// The change is noticed, everything derived from the old bytes dropped (slide,
// response cache, the workers' own copies), and the next request is answered
// from the new bytes: never old metadata with new tiles.
import { copyFileSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedServer } from '../../src/server/serve.js';
import { startOrigin, type Origin } from '../helpers/origin.js';
import { FIXTURES, start } from './helpers.js';

const A = 'aperio-jpeg.svs'; // 8000 x 6000
const B = 'generic-pyramid-jpeg.tif'; // 4096 x 3072
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function info(url: string): Promise<{ status: number; width: number; etag: string | null }> {
  const r = await fetch(url);
  const j = r.status === 200 ? await r.json() : {};
  return { status: r.status, width: j.width, etag: r.headers.get('etag') };
}

/** Raw pixels of an image response. */
async function pixels(url: string): Promise<{ status: number; data?: Buffer; path: string | null }> {
  const r = await fetch(url);
  const path = r.headers.get('x-tile-path');
  if (r.status !== 200) return { status: r.status, path };
  return { status: 200, data: await sharp(new Uint8Array(await r.arrayBuffer())).raw().toBuffer(), path };
}

describe('a local slide replaced or rewritten under the server', () => {
  let s: StartedServer;
  let ref: StartedServer;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'imagebox-changed-'));
    copyFileSync(join(FIXTURES, A), join(dir, 'x.svs'));
    s = await start({ registry: { slidesDir: dir, revalidateLocalMs: 50 } });
    ref = await start(); // the fixtures as they are, to compare pixels with
  });
  afterAll(async () => {
    await s?.close();
    await ref?.close();
  });

  it('a file renamed over the slide: new info.json, new ETag, tiles (passthrough and transcoded) from the new file', async () => {
    const before = await info(`${s.url}/iiif/3/x.svs/info.json`);
    expect(before.width).toBe(8000);
    // warm both paths on the old bytes
    expect((await pixels(`${s.url}/iiif/3/x.svs/0,0,256,256/256,256/0/default.jpg`)).path).toBe('passthrough');
    expect((await pixels(`${s.url}/iiif/3/x.svs/0,0,1024,1024/200,/0/default.png`)).status).toBe(200);
    copyFileSync(join(FIXTURES, B), join(dir, 'x.svs.tmp'));
    renameSync(join(dir, 'x.svs.tmp'), join(dir, 'x.svs'));
    await sleep(80);
    const after = await info(`${s.url}/iiif/3/x.svs/info.json`);
    expect(after.width).toBe(4096);
    expect(after.etag).not.toBe(before.etag);
    for (const p of ['0,0,256,256/256,256/0/default.jpg', '0,0,1024,1024/200,/0/default.png', '1024,1024,1024,1024/128,/0/default.png']) {
      const got = await pixels(`${s.url}/iiif/3/x.svs/${p}`);
      const want = await pixels(`${ref.url}/iiif/3/${B}/${p}`);
      expect(got.status, p).toBe(200);
      expect(got.data!.equals(want.data!), `${p}: the new file's pixels`).toBe(true);
    }
  });

  it('the same file rewritten in place (same inode, new bytes and mtime)', async () => {
    expect((await info(`${s.url}/iiif/3/x.svs/info.json`)).width).toBe(4096);
    writeFileSync(join(dir, 'x.svs'), readFileSync(join(FIXTURES, A)));
    await sleep(80);
    expect((await info(`${s.url}/iiif/3/x.svs/info.json`)).width).toBe(8000);
    const got = await pixels(`${s.url}/iiif/3/x.svs/512,512,1000,1000/250,/0/default.png`);
    const want = await pixels(`${ref.url}/iiif/3/${A}/512,512,1000,1000/250,/0/default.png`);
    expect(got.data!.equals(want.data!)).toBe(true);
    expect(s.box.context.registry.changes).toBeGreaterThanOrEqual(2);
  });

  it('no message sent to a client names a local path', async () => {
    writeFileSync(join(dir, 'x.svs'), readFileSync(join(FIXTURES, A)).subarray(0, 5000)); // cut short
    await sleep(80);
    for (const p of ['info.json', '0,0,256,256/256,256/0/default.jpg']) {
      const r = await fetch(`${s.url}/iiif/3/x.svs/${p}`);
      const text = await r.text();
      expect(r.status, p).toBeGreaterThanOrEqual(400);
      expect(text).not.toContain(dir);
      expect(text).not.toMatch(/\/tmp\//);
    }
  });
});

describe('a remote slide whose ETag changes', () => {
  let origin: Origin;
  let ref: StartedServer;
  beforeAll(async () => {
    origin = await startOrigin();
    ref = await start();
  });
  afterAll(async () => {
    await ref?.close();
    await origin?.stop();
  });

  it('checked on every use (revalidateRemoteMs 0): the first request after the change is answered from the new bytes', async () => {
    origin.put('/wsi/x.svs', new Uint8Array(readFileSync(join(FIXTURES, A))));
    const s = await start({ registry: { revalidateRemoteMs: 0, config: { slides: { 'x.svs': { url: origin.url('/wsi/x.svs') } } } } });
    try {
      expect((await info(`${s.url}/iiif/3/x.svs/info.json`)).width).toBe(8000);
      expect((await pixels(`${s.url}/iiif/3/x.svs/256,0,256,256/256,256/0/default.jpg`)).status).toBe(200);
      origin.put('/wsi/x.svs', new Uint8Array(readFileSync(join(FIXTURES, B)))); // new ETag, new bytes
      for (const p of ['512,0,256,256/256,256/0/default.jpg', '0,0,1024,1024/200,/0/default.png', '256,0,256,256/256,256/0/default.jpg']) {
        const got = await pixels(`${s.url}/iiif/3/x.svs/${p}`);
        const want = await pixels(`${ref.url}/iiif/3/${B}/${p}`);
        expect(got.status, p).toBe(200);
        expect(got.data!.equals(want.data!), `${p}: the new bytes`).toBe(true);
      }
      expect((await info(`${s.url}/iiif/3/x.svs/info.json`)).width).toBe(4096);
    } finally {
      await s.close();
    }
  });

  it('checked by the reads themselves (default): the read that meets the new ETag reopens the slide, the request is answered, and no tile after it fails', async () => {
    origin.put('/wsi/x.svs', new Uint8Array(readFileSync(join(FIXTURES, A))));
    const s = await start({ registry: { config: { slides: { 'x.svs': { url: origin.url('/wsi/x.svs') } } } } });
    try {
      expect((await info(`${s.url}/iiif/3/x.svs/info.json`)).width).toBe(8000);
      expect((await pixels(`${s.url}/iiif/3/x.svs/0,0,256,256/256,256/0/default.jpg`)).status).toBe(200);
      origin.put('/wsi/x.svs', new Uint8Array(readFileSync(join(FIXTURES, B))));
      // tiles far from anything read so far must come from the origin, which answers the old If-Range with 200
      const p = '3840,2816,256,256/256,256/0/default.jpg';
      const first = await pixels(`${s.url}/iiif/3/x.svs/${p}`);
      expect(first.status).toBe(200);
      expect(s.box.context.registry.changes).toBe(1);
      expect(first.data!.equals((await pixels(`${ref.url}/iiif/3/${B}/${p}`)).data!)).toBe(true);
      for (const q of ['0,0,256,256/256,256/0/default.jpg', '1024,0,256,256/256,256/0/default.jpg', '0,0,2048,2048/256,/0/default.png']) {
        const got = await pixels(`${s.url}/iiif/3/x.svs/${q}`);
        expect(got.status, q).toBe(200);
        expect(got.data!.equals((await pixels(`${ref.url}/iiif/3/${B}/${q}`)).data!), q).toBe(true);
      }
      expect((await info(`${s.url}/iiif/3/x.svs/info.json`)).width).toBe(4096);
    } finally {
      await s.close();
    }
  });
});
