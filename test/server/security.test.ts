// The registry's fences (no path traversal, no symlinks out, no open proxy),
// hostile URLs, and errors that leave the server serving. Real server over
// HTTP, real origin on 127.0.0.1 for the remote cases.
import { copyFileSync, mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRemoteId, SlideRegistry, urlAllowed } from '../../src/server/registry.js';
import type { StartedServer } from '../../src/server/serve.js';
import { startOrigin, type Origin } from '../helpers/origin.js';
import { FIXTURES, start } from './helpers.js';

let dir: string;
let outside: string;
let s: StartedServer;
let origin: Origin;
let svs: Uint8Array;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'imagebox-slides-'));
  outside = mkdtempSync(join(tmpdir(), 'imagebox-outside-'));
  mkdirSync(join(dir, 'sub'));
  copyFileSync(`${FIXTURES}/openslide/small.svs`, join(dir, 'sub', 'small.svs'));
  copyFileSync(`${FIXTURES}/openslide/unreadable.svs`, join(dir, 'unreadable.svs'));
  copyFileSync(`${FIXTURES}/openslide/unopenable.tiff`, join(dir, 'unopenable.tiff'));
  copyFileSync(`${FIXTURES}/aperio-jpeg.svs`, join(dir, 'good.svs'));
  copyFileSync(`${FIXTURES}/openslide/small.svs`, join(outside, 'secret.svs'));
  writeFileSync(join(dir, 'notes.txt'), 'not a slide');
  symlinkSync(join(outside, 'secret.svs'), join(dir, 'escape.svs'));
  symlinkSync(outside, join(dir, 'outdir'));
  symlinkSync(join(dir, 'good.svs'), join(dir, 'alias.svs')); // inside: fine
  svs = new Uint8Array(await readFile(`${FIXTURES}/aperio-jpeg.svs`));
  origin = await startOrigin();
  origin.put('/slides/a.svs', svs);
  origin.put('/private/a.svs', svs);
  origin.put('/slides-private/a.svs', svs);
  process.env.IMAGEBOX_TEST_TOKEN = 's3cret-token';
  s = await start({
    registry: {
      slidesDir: dir,
      allow: [origin.url('/slides/')],
      config: {
        slides: {
          'configured-remote': { url: origin.url('/private/a.svs'), headers: { Authorization: 'Bearer ${IMAGEBOX_TEST_TOKEN}' } },
          'configured-local': { path: `${FIXTURES}/aperio-jpeg-ycbcr-bigtiff.svs` },
        },
      },
    },
  });
});

afterAll(async () => {
  await s?.close();
  await origin?.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

async function get(path: string): Promise<{ status: number; text: string; body: Uint8Array; headers: Headers }> {
  const r = await fetch(s.url + path, { redirect: 'manual' });
  const body = new Uint8Array(await r.arrayBuffer());
  return { status: r.status, text: new TextDecoder().decode(body), body, headers: r.headers };
}

describe('directory scan', () => {
  it('lists slides by relative path, not other files, not symlinks out of the directory', async () => {
    const ids = (JSON.parse((await get('/slides')).text).slides as { id: string }[]).map((x) => x.id);
    expect(ids).toContain('sub/small.svs');
    expect(ids).toContain('good.svs');
    expect(ids).toContain('alias.svs');
    expect(ids).not.toContain('escape.svs');
    expect(ids.some((i) => i.startsWith('outdir'))).toBe(false);
    expect(ids).not.toContain('notes.txt');
  });
  it('serves a slide in a subdirectory by its encoded relative path', async () => {
    expect((await get('/iiif/3/sub%2Fsmall.svs/info.json')).status).toBe(200);
  });
  it('refuses symlinks that leave the directory (403)', async () => {
    expect((await get('/iiif/3/escape.svs/info.json')).status).toBe(403);
    expect((await get('/iiif/3/outdir%2Fsecret.svs/info.json')).status).toBe(403);
  });
  it('refuses traversal and odd identifiers (400), unknown and non-slide files (404)', async () => {
    for (const p of ['..%2Fsecret.svs', '%2E%2E%2F%2E%2E%2Fetc%2Fpasswd', 'sub%2F..%2F..%2Fx.svs', '%2Fetc%2Fpasswd', 'a%00.svs', 'a%5C..%5Cb.svs', '%E0%A4%A', 'sub%2F%2Fsmall.svs']) {
      expect((await get(`/iiif/3/${p}/info.json`)).status, p).toBe(400);
    }
    expect((await get('/iiif/3/notes.txt/info.json')).status).toBe(404);
    expect((await get('/iiif/3/missing.svs/info.json')).status).toBe(404);
  });
});

describe('remote slides: only under --allow prefixes', () => {
  it('an ad-hoc id (base64url of a URL) under the prefix works: info, passthrough, transcode', async () => {
    const id = encodeRemoteId(origin.url('/slides/a.svs'));
    const info = await get(`/iiif/3/${id}/info.json`);
    expect(info.status).toBe(200);
    expect(JSON.parse(info.text).width).toBe(8000);
    const tile = await get(`/iiif/3/${id}/768,512,256,256/max/0/default.jpg`);
    expect(tile.status).toBe(200);
    expect(tile.headers.get('x-tile-path')).toBe('passthrough');
    const local = await get('/iiif/3/good.svs/768,512,256,256/max/0/default.jpg');
    expect(Buffer.from(tile.body).equals(Buffer.from(local.body))).toBe(true);
    const region = await get(`/iiif/3/${id}/4059,3049,301,203/150,/0/default.png`);
    expect(region.status).toBe(200);
    expect((await sharp(region.body).metadata()).width).toBe(150);
  });
  it('URLs outside the prefixes are 403 and never fetched', async () => {
    origin.resetCounters();
    const p = origin.url('/slides/').replace(/\/slides\/$/, '');
    for (const url of [
      origin.url('/private/a.svs'),
      origin.url('/slides-private/a.svs'),
      origin.url('/slides/../private/a.svs'),
      origin.url('/slides/%2e%2e/private/a.svs'),
      origin.url('/slides/..%2Fprivate/a.svs'),
      p.replace('http://', 'http://user:pw@') + '/slides/a.svs',
      'http://127.0.0.1:1/slides/a.svs',
      'http://169.254.169.254/latest/meta-data/x.svs',
    ]) {
      const r = await get(`/iiif/3/${encodeRemoteId(url)}/info.json`);
      expect(r.status, url).toBe(403);
      expect(JSON.parse(r.text).error.code).toBe('E_FORBIDDEN');
    }
    expect(origin.requests).toBe(0);
  });
  it('non-http schemes are not remote ids at all (404)', async () => {
    for (const url of ['file:///etc/passwd', 'ftp://127.0.0.1/a.svs', 'gopher://x/y']) {
      expect((await get(`/iiif/3/${encodeRemoteId(url)}/info.json`)).status).toBe(404);
    }
  });
  it('a redirect out of the allowed prefix is refused', async () => {
    origin.put('/slides/redirect.svs', svs);
    origin.faults = { redirects: { '/slides/redirect.svs': origin.url('/private/a.svs') } };
    try {
      const r = await get(`/iiif/3/${encodeRemoteId(origin.url('/slides/redirect.svs'))}/info.json`);
      expect(r.status).toBe(403);
    } finally {
      origin.faults = {};
    }
  });
  it('a redirect to http://user:pw@<the allowed host>/... gets every check a direct URL gets: 403, as the URL itself is', async () => {
    const withCreds = origin.url('/slides/a.svs').replace('http://', 'http://user:pw@');
    expect((await get(`/iiif/3/${encodeRemoteId(withCreds)}/info.json`)).status).toBe(403);
    origin.faults = { redirects: { '/slides/creds.svs': withCreds } };
    try {
      origin.resetCounters();
      const r = await get(`/iiif/3/${encodeRemoteId(origin.url('/slides/creds.svs'))}/info.json`);
      expect(r.status).toBe(403);
      expect(origin.log.map((l) => l.path)).toEqual(['/slides/creds.svs']); // the target was not fetched
    } finally {
      origin.faults = {};
    }
  });
  it('configured remote slides send their headers with ${ENV} secrets', async () => {
    origin.resetCounters();
    const r = await get('/iiif/3/configured-remote/info.json');
    expect(r.status).toBe(200);
    expect(origin.log.length).toBeGreaterThan(0);
    expect(origin.log.every((l) => l.headers.authorization === 'Bearer s3cret-token')).toBe(true);
    expect(r.text).not.toContain('s3cret');
    expect((await get('/iiif/3/configured-local/info.json')).status).toBe(200);
  });
  it('urlAllowed compares origins and path segments, not strings', () => {
    const pre = [{ origin: 'http://a.example', path: '/data' }];
    expect(urlAllowed(new URL('http://a.example/data/x.svs'), pre)).toBe(true);
    expect(urlAllowed(new URL('http://a.example/data'), pre)).toBe(true);
    expect(urlAllowed(new URL('http://a.example/database/x.svs'), pre)).toBe(false);
    expect(urlAllowed(new URL('http://a.example.evil/data/x.svs'), pre)).toBe(false);
    expect(urlAllowed(new URL('https://a.example/data/x.svs'), pre)).toBe(false);
    expect(urlAllowed(new URL('http://a.example@evil/data/x.svs'), pre)).toBe(false);
  });
  it('a config with a missing ${ENV} fails at load time', () => {
    expect(() => new SlideRegistry({ config: { slides: { x: { url: 'http://h/x.svs', headers: { A: '${IMAGEBOX_NOT_SET_ANYWHERE}' } } } }, env: {} })).toThrow(/IMAGEBOX_NOT_SET_ANYWHERE/);
  });
});

describe('errors keep the server serving', () => {
  it('a corrupt tile is 422 with a code, then good requests succeed', async () => {
    const bad = await get('/iiif/3/unreadable.svs/full/max/0/default.jpg');
    expect(bad.status).toBe(422);
    expect(JSON.parse(bad.text).error.code).toMatch(/^E_/);
    expect(bad.text).not.toMatch(/\.ts:\d+|\.js:\d+/);
    const good = await get('/iiif/3/good.svs/full/100,/0/default.jpg');
    expect(good.status).toBe(200);
  });
  it('a file that is not a slide is 422', async () => {
    const r = await get('/iiif/3/unopenable.tiff/info.json');
    expect(r.status).toBe(422);
  });
  it('hostile URLs get 4xx, and the server still answers', async () => {
    const hostile = [
      '/iiif/3/' + 'a'.repeat(10_000) + '/info.json',
      '/iiif/3/%/info.json',
      '/iiif/3/good.svs/%ZZ/max/0/default.jpg',
      '/iiif/3/good.svs/full/max/0/default.jpg%00',
      '/iiif/3/good.svs/99999999999999,0,1,1/max/0/default.jpg',
      '/iiif/3/good.svs/full/99999999999,/0/default.jpg',
      '/iiif/3/good.svs/full/pct:1e308/0/default.jpg',
      '/iiif/4/good.svs/info.json',
      '/../../etc/passwd',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/index.html/../../package.json',
      '/.git/config',
      '/dzi/..%2Fgood.svs.dzi',
      '/slides/good.svs/associated/..%2F..%2Fx',
      '/slides/good.svs/associated/%ZZ',
      '/slides/%ZZ',
      '/dzi/good.svs_files/%ZZ/0_0.jpeg',
    ];
    for (const p of hostile) {
      const r = await get(p);
      expect(r.status, p).toBeGreaterThanOrEqual(400);
      expect(r.status, p).toBeLessThan(500);
    }
    expect((await get('/health')).status).toBe(200);
  });
});
