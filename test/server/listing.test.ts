// /slides as a user of the slide list sees it, Last-Modified / If-Modified-Since,
// and what the server logs.
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageboxError } from '../../src/errors.js';
import { createImagebox } from '../../src/server/app.js';
import type { StartedServer } from '../../src/server/serve.js';
import { makeBytes } from '../helpers/origin.js';
import { FIXTURES, start } from './helpers.js';

let s: StartedServer;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'imagebox-listing-'));
  copyFileSync(join(FIXTURES, 'aperio-jpeg.svs'), join(dir, 'good.svs'));
  copyFileSync(join(FIXTURES, 'openslide/unopenable.tiff'), join(dir, 'unopenable.tiff'));
  writeFileSync(join(dir, 'random.svs'), makeBytes(5000, 3));
  writeFileSync(join(dir, 'scan.mrxs'), makeBytes(5000, 4)); // a format no reader opens (MIRAX): not listed, not served
  s = await start({ registry: { slidesDir: dir, listingTtlMs: 300 } });
});
afterAll(async () => s?.close());

interface Listed {
  id: string;
  vendor?: string;
  width?: number;
  error?: { code: string };
}
const list = async (): Promise<Listed[]> => (await (await fetch(`${s.url}/slides`)).json()).slides;

describe('/slides', () => {
  it('marks files that are not readable slides with their error code; lists only formats a reader opens', async () => {
    const l = await list();
    expect(l.map((x) => x.id)).toEqual(['good.svs', 'random.svs', 'unopenable.tiff']);
    expect(l[0]).toMatchObject({ id: 'good.svs', vendor: 'aperio', width: 8000 });
    expect(l[0]!.error).toBeUndefined();
    expect(l[1]!.error!.code).toBe('E_NOT_A_SLIDE');
    expect(l[2]!.error!.code).toBe('E_NOT_A_SLIDE');
    expect((await fetch(`${s.url}/iiif/3/scan.mrxs/info.json`)).status).toBe(404);
  });
  it('walks the directory once per TTL, not per request; sees new files after it', async () => {
    await list();
    copyFileSync(join(FIXTURES, 'generic-pyramid-jpeg.tif'), join(dir, 'new.tif'));
    expect((await list()).some((x) => x.id === 'new.tif')).toBe(false); // the cached walk
    await new Promise((r) => setTimeout(r, 350));
    const l = await list();
    expect(l.find((x) => x.id === 'new.tif')).toMatchObject({ vendor: 'generic-tiff', width: 4096 });
  });
});

describe('Last-Modified and If-Modified-Since', () => {
  it('image, info.json and DZI responses carry the slide file mtime; If-Modified-Since answers 304', async () => {
    for (const p of ['/iiif/3/good.svs/info.json', '/iiif/3/good.svs/0,0,256,256/256,256/0/default.jpg', '/dzi/good.svs.dzi']) {
      const r = await fetch(s.url + p);
      const lm = r.headers.get('last-modified');
      expect(lm, p).toMatch(/GMT$/);
      expect((await fetch(s.url + p, { headers: { 'if-modified-since': lm! } })).status, p).toBe(304);
      const earlier = new Date(Date.parse(lm!) - 10_000).toUTCString();
      expect((await fetch(s.url + p, { headers: { 'if-modified-since': earlier } })).status, p).toBe(200);
      // If-None-Match wins over If-Modified-Since (RFC 9110 13.1.3)
      expect((await fetch(s.url + p, { headers: { 'if-modified-since': lm!, 'if-none-match': '"nope"' } })).status, p).toBe(200);
    }
  });
});

describe('logging', () => {
  it('only the server\'s own faults (500) reach onError: not 4xx, not an origin failure', async () => {
    const logged: string[] = [];
    const box = createImagebox({
      registry: { slidesDir: FIXTURES },
      pixels: { run: () => Promise.reject(new ImageboxError('E_INTERNAL', 'a bug')) },
      onError: (_e, req) => logged.push(req.path),
    });
    try {
      const get = (path: string, method = 'GET') => box.handle({ method, path, query: '', headers: { host: 'x' } });
      expect((await get('/iiif/3/aperio-jpeg.svs/full/max/45/default.jpg')).status).toBe(400);
      expect((await get('/iiif/3/nope.svs/info.json')).status).toBe(404);
      expect((await get('/iiif/3/aperio-jpeg.svs/info.json', 'POST')).status).toBe(405);
      expect((await get('/iiif/3/openslide%2Funopenable.tiff/info.json')).status).toBe(422);
      expect(logged).toEqual([]);
      expect((await get('/iiif/3/aperio-jpeg.svs/0,0,1000,1000/100,/0/default.png')).status).toBe(500);
      expect(logged).toEqual(['/iiif/3/aperio-jpeg.svs/0,0,1000,1000/100,/0/default.png']);
    } finally {
      await box.close();
    }
  });
});
