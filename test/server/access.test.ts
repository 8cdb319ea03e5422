// Access control for our own endpoints (--require-token): signed, expiring
// tokens per slide, per folder or for everything, checked on IIIF, DeepZoom,
// the JSON API, /metrics and the WebSocket stream; links the server builds
// carry a token that came in the URL. The real server, real HTTP and WebSocket
// clients; pixels compared with the same tile read from the file.
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJpeg } from '../../src/codecs/jpeg.js';
import { kernels } from '../../src/codecs/kernels-node.js';
import { isImageboxError } from '../../src/errors.js';
import { openSlide } from '../../src/node/open-slide.js';
import { AccessControl, grants, requestToken } from '../../src/server/access.js';
import type { StartedServer } from '../../src/server/serve.js';
import { connectTileStream, type StreamTile } from '../../src/stream/client-node.js';
import { colourError } from '../helpers/pixels.js';
import { FIXTURES, ROOT, start } from './helpers.js';

const SECRET = 'a test secret of at least thirty-two bytes, not a real one';
const A = 'case-1/aperio-jpeg.svs';
const B = 'case-1/generic-pyramid-jpeg.tif';
const C = 'other.tif';

/** The server's clock runs this many seconds ahead of the real one (tests move it past an expiry). */
let skew = 0;
const access = new AccessControl(SECRET, () => Date.now() / 1000 + skew);

async function errorOf(r: Response): Promise<{ status: number; code: string; message: string }> {
  const j = (await r.json()) as { error: { code: string; message: string } };
  return { status: r.status, code: j.error.code, message: j.error.message };
}

/** A 256 x 256 JPEG tile of level 0, decoded, against the file's own tile. */
async function expectGoodTile(url: string, init?: RequestInit): Promise<void> {
  const r = await fetch(url, init);
  expect(r.status).toBe(200);
  const got = await sharp(new Uint8Array(await r.arrayBuffer())).raw().toBuffer();
  const local = await openSlide(`${FIXTURES}/aperio-jpeg.svs`);
  try {
    const ref = await local.readTile(0, 0, 0);
    // the tile passes through as stored (the JPEG bytes themselves), so sharp's decode is libjpeg's of the same bytes
    expect(colourError(got, 3, ref.data, 4).psnr).toBeGreaterThan(45);
  } finally {
    await local.close();
  }
}

/** The status (and body) of a WebSocket upgrade that is refused, or 101. */
function upgrade(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Protocol': 'imagebox.v1', ...headers },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, body: '' });
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('tokens: signed, expiring, scoped', () => {
  it('a token opens what its scope names, until it expires; a forged or malformed one opens nothing', async () => {
    const t = await access.sign(A, 60);
    const g = await access.verify(t);
    expect(g.scope).toBe(A);
    expect(grants(g, A)).toBe(true);
    expect(grants(g, B)).toBe(false);
    const folder = await access.verify(await access.sign('case-1/', 60));
    expect([grants(folder, A), grants(folder, B), grants(folder, C), grants(folder, 'case-10/x.svs')]).toEqual([true, true, false, false]);
    const all = await access.verify(await access.sign('*', 60));
    expect(grants(all, C)).toBe(true);
    // flip one character of the signature, of the scope, of the expiry
    const [exp, scope, sig] = t.split('.') as [string, string, string];
    const flip = (s: string, i: number): string => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    for (const forged of [`${exp}.${scope}.${flip(sig, 5)}`, `${exp}.${flip(scope, 2)}.${sig}`, `${Number(exp) + 1000}.${scope}.${sig}`, `${exp}.${Buffer.from('*').toString('base64url')}.${sig}`]) {
      await expect(access.verify(forged)).rejects.toMatchObject({ code: 'E_UNAUTHORIZED', message: 'invalid token signature' });
    }
    // the signature's last character carries 4 bits: its 3 other spellings with the same
    // 4 bits decode to the same MAC, and are refused (one token, one spelling)
    const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = B64.indexOf(sig[42]!);
    expect(last % 4).toBe(0);
    for (let low = 1; low < 4; low++) {
      const same = `${exp}.${scope}.${sig.slice(0, 42)}${B64[last + low]}`;
      expect(Buffer.from(same.split('.')[2]!, 'base64url').equals(Buffer.from(sig, 'base64url'))).toBe(true);
      await expect(access.verify(same)).rejects.toMatchObject({ code: 'E_UNAUTHORIZED', message: 'malformed token' });
    }
    for (const bad of ['', 'x', `${exp}.${scope}`, `${exp}.${scope}.${sig}.x`, `-1.${scope}.${sig}`, 'a'.repeat(5000)]) {
      await expect(access.verify(bad)).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
    }
    // another secret's token
    const other = new AccessControl('another secret, also thirty-two bytes or more');
    await expect(access.verify(await other.sign(A, 60))).rejects.toMatchObject({ code: 'E_UNAUTHORIZED', message: 'invalid token signature' });
    // expiry
    skew = 61;
    try {
      await expect(access.verify(t)).rejects.toMatchObject({ code: 'E_UNAUTHORIZED', message: expect.stringMatching(/^token expired at \d{4}-/) });
    } finally {
      skew = 0;
    }
    expect(() => new AccessControl('short')).toThrow(/at least 32 bytes/);
  });

  it('the token of a request: a /t/<token> prefix, Authorization: Bearer, or ?token=', () => {
    expect(requestToken('/t/abc/iiif/3/x/info.json', {}, '')).toEqual({ token: 'abc', path: '/iiif/3/x/info.json', via: 'path' });
    expect(requestToken('/iiif/3/x/info.json', { authorization: 'Bearer abc' }, '')).toEqual({ token: 'abc', path: '/iiif/3/x/info.json', via: 'header' });
    expect(requestToken('/iiif/3/x/info.json', { authorization: 'Basic abc' }, '').token).toBe('');
    expect(requestToken('/slides', {}, 'a=1&token=abc')).toEqual({ token: 'abc', path: '/slides', via: 'query' });
    expect(requestToken('/slides', {}, '').token).toBeUndefined();
  });
});

describe('a server with access control on', () => {
  let s: StartedServer;
  let dir: string;
  let tA: string;
  let tAll: string;
  let tFolder: string;
  const e = (id: string): string => encodeURIComponent(id);
  const tileA = (base: string): string => `${base}/iiif/3/${e(A)}/0,0,256,256/256,256/0/default.jpg`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'imagebox-access-'));
    mkdirSync(join(dir, 'case-1'));
    copyFileSync(join(FIXTURES, 'aperio-jpeg.svs'), join(dir, A));
    copyFileSync(join(FIXTURES, 'generic-pyramid-jpeg.tif'), join(dir, B));
    copyFileSync(join(FIXTURES, 'generic-pyramid-jpeg.tif'), join(dir, C));
    s = await start({ registry: { slidesDir: dir }, access, webDir: `${ROOT}dist/web` });
    tA = await access.sign(A, 3600);
    tAll = await access.sign('*', 3600);
    tFolder = await access.sign('case-1/', 3600);
  });
  afterAll(async () => s?.close());

  it('without a token: 401 E_UNAUTHORIZED with WWW-Authenticate on IIIF, DeepZoom, the JSON API and /metrics; the pages and /health stay open', async () => {
    for (const p of [`/iiif/3/${e(A)}/info.json`, `/iiif/2/${e(A)}/info.json`, tileA(''), `/iiif/3/${e(A)}`, `/dzi/${e(A)}.dzi`, `/dzi/${e(A)}_files/8/0_0.jpeg`, '/slides', `/slides/${e(A)}`, `/slides/${e(A)}/associated/label.jpg`, '/metrics']) {
      const r = await fetch(`${s.url}${p}`);
      expect(await errorOf(r), p).toMatchObject({ status: 401, code: 'E_UNAUTHORIZED' });
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer realm="imagebox"/);
    }
    for (const p of ['/health', '/', `/view/${A}`, `/t/${tA}/view/${A}`]) expect((await fetch(`${s.url}${p}`)).status, p).toBe(200);
    // a preflight needs no token, and lets a page send one
    const pre = await fetch(`${s.url}/iiif/3/${e(A)}/info.json`, { method: 'OPTIONS' });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-headers')).toContain('Authorization');
  });

  it('forged, malformed and expired tokens: 401 E_UNAUTHORIZED; a token for another slide: 403 E_FORBIDDEN; then a good tile', async () => {
    const forged = tA.slice(0, -2) + (tA.endsWith('AA') ? 'BB' : 'AA');
    expect(await errorOf(await fetch(tileA(s.url), { headers: { Authorization: `Bearer ${forged}` } }))).toMatchObject({ status: 401, code: 'E_UNAUTHORIZED', message: 'invalid token signature' });
    expect(await errorOf(await fetch(tileA(s.url), { headers: { Authorization: 'Bearer nonsense' } }))).toMatchObject({ status: 401, code: 'E_UNAUTHORIZED', message: 'malformed token' });
    expect(await errorOf(await fetch(tileA(s.url), { headers: { Authorization: 'Basic dXNlcjpwYXNz' } }))).toMatchObject({ status: 401, code: 'E_UNAUTHORIZED' });
    const short = await access.sign(A, 30);
    skew = 31;
    try {
      expect(await errorOf(await fetch(tileA(`${s.url}/t/${short}`)))).toMatchObject({ status: 401, code: 'E_UNAUTHORIZED', message: expect.stringContaining('token expired') });
    } finally {
      skew = 0;
    }
    const tC = await access.sign(C, 60);
    for (const p of [tileA(''), `/slides/${e(A)}`, `/dzi/${e(A)}.dzi`]) {
      expect(await errorOf(await fetch(`${s.url}${p}`, { headers: { Authorization: `Bearer ${tC}` } })), p).toMatchObject({ status: 403, code: 'E_FORBIDDEN' });
    }
    await expectGoodTile(tileA(s.url), { headers: { Authorization: `Bearer ${tA}` } });
  });

  it('Authorization: Bearer opens the slide; its answers are private (no shared cache keeps them past the token)', async () => {
    const h = { headers: { Authorization: `Bearer ${tA}` } };
    const info = await fetch(`${s.url}/iiif/3/${e(A)}/info.json`, h);
    expect(info.status).toBe(200);
    expect(info.headers.get('cache-control')).toMatch(/^private/);
    const j = (await info.json()) as { id: string };
    expect(j.id).toBe(`${s.url}/iiif/3/${e(A)}`); // the client sends the header again, the links need no token
    const tile = await fetch(tileA(s.url), h);
    expect(tile.headers.get('cache-control')).toMatch(/^private/);
    await expectGoodTile(tileA(s.url), h);
  });

  it('a token in the URL (/t/<token>/ or ?token=) is carried by the links the server builds: info.json id, the listing, the slide JSON', async () => {
    for (const url of [`${s.url}/t/${tA}/iiif/3/${e(A)}/info.json`, `${s.url}/iiif/3/${e(A)}/info.json?token=${tA}`]) {
      const r = await fetch(url);
      expect(r.status, url).toBe(200);
      const j = (await r.json()) as { id: string };
      expect(j.id).toBe(`${s.url}/t/${tA}/iiif/3/${e(A)}`);
      // a IIIF client builds tile URLs from the id: they carry the token
      await expectGoodTile(`${j.id}/0,0,256,256/256,256/0/default.jpg`);
    }
    const slide = (await (await fetch(`${s.url}/t/${tA}/slides/${e(A)}`)).json()) as { info: string; dzi: string; associated: { url: string }[] };
    expect(slide.info).toBe(`${s.url}/t/${tA}/iiif/3/${e(A)}/info.json`);
    expect(slide.associated.length).toBeGreaterThan(0);
    for (const a of slide.associated) expect((await fetch(a.url)).status, a.url).toBe(200);
    // DeepZoom: a viewer derives the tiles from the .dzi URL, so the prefix flows
    const dzi = await fetch(slide.dzi);
    expect(dzi.status).toBe(200);
    const tile = await fetch(slide.dzi.replace(/\.dzi$/, '_files/13/0_0.jpeg'));
    expect(tile.status).toBe(200);
  });

  it('the listing: a token for everything lists every slide, a folder token its folder, a slide token its slide; /metrics needs everything', async () => {
    const ids = async (t: string): Promise<string[]> => ((await (await fetch(`${s.url}/t/${t}/slides`)).json()) as { slides: { id: string }[] }).slides.map((x) => x.id).sort();
    expect(await ids(tAll)).toEqual([A, B, C].sort());
    expect(await ids(tFolder)).toEqual([A, B].sort());
    expect(await ids(tA)).toEqual([A]);
    expect(await errorOf(await fetch(`${s.url}/metrics`, { headers: { Authorization: `Bearer ${tFolder}` } }))).toMatchObject({ status: 403, code: 'E_FORBIDDEN' });
    expect((await fetch(`${s.url}/metrics`, { headers: { Authorization: `Bearer ${tAll}` } })).status).toBe(200);
    // a folder token opens what is under it, not a neighbour with a longer name
    expect((await fetch(`${s.url}/t/${tFolder}/slides/${e(B)}`)).status).toBe(200);
    expect(await errorOf(await fetch(`${s.url}/t/${tFolder}/slides/${e(C)}`))).toMatchObject({ status: 403, code: 'E_FORBIDDEN' });
  });

  it('the stream: the upgrade needs a token (401 before it), a token for one slide opens only it (E_FORBIDDEN frame), tiles arrive with the pixels of the file', async () => {
    expect(await upgrade(s.port, '/stream')).toMatchObject({ status: 401, body: expect.stringContaining('E_UNAUTHORIZED') });
    expect(await upgrade(s.port, `/stream?token=${tA.slice(0, -1)}${tA.endsWith('A') ? 'Q' : 'A'}`)).toMatchObject({ status: 401 });
    expect((await upgrade(s.port, `/stream?token=${tA}`)).status).toBe(101);
    expect((await upgrade(s.port, `/t/${tA}/stream`)).status).toBe(101);
    expect((await upgrade(s.port, '/stream', { Authorization: `Bearer ${tA}` })).status).toBe(101);

    const ws = s.url.replace(/^http/, 'ws');
    const local = await openSlide(`${FIXTURES}/aperio-jpeg.svs`);
    for (const url of [`${ws}/t/${tA}/stream`, `${ws}/stream?token=${tA}`]) {
      const c = await connectTileStream(url, { encodings: ['passthrough'] });
      try {
        const err = await c.open(C).then(
          () => undefined,
          (x: unknown) => x,
        );
        expect(isImageboxError(err, 'E_FORBIDDEN'), String(err)).toBe(true);
        const slide = await c.open(A);
        const got: StreamTile[] = [];
        c.on('tile', (t) => {
          if (t.level === 0) got.push(t);
        });
        const r = await c.view(slide.handle, { level: 0, x: 0, y: 0, width: 512, height: 512 });
        expect(r.tiles).toBeGreaterThan(0);
        const t = got.find((x) => x.col === 0 && x.row === 0)!;
        expect(t.encoding).toBe('jpeg');
        const img = decodeJpeg(await kernels(), t.data);
        const ref = await local.readTile(0, 0, 0);
        expect(Buffer.from(img.data.subarray(0, 256 * 4)).equals(Buffer.from(ref.data.subarray(0, 256 * 4)))).toBe(true);
      } finally {
        await c.close();
      }
    }
    await local.close();
  });

  it('a stream is closed (1008) when its token expires; a new one with a fresh token is served', async () => {
    const ws = s.url.replace(/^http/, 'ws');
    const brief = await access.sign(A, 2); // whole seconds: expires in 1 to 2 s of the real clock
    const c = await connectTileStream(`${ws}/stream?token=${brief}`, { encodings: ['passthrough'] });
    const closed = new Promise<{ code: number; reason: string }>((resolve) => c.on('close', resolve));
    await c.open(A);
    expect(await closed).toEqual({ code: 1008, reason: 'token expired' });
    const d = await connectTileStream(`${ws}/stream?token=${tA}`, { encodings: ['passthrough'] });
    try {
      const slide = await d.open(A);
      const r = await d.view(slide.handle, { level: 0, x: 0, y: 0, width: 256, height: 256 });
      expect(r.tiles).toBe(1);
    } finally {
      await d.close();
    }
  });
});
