// The requests the official IIIF Image API validator (IIIF/image-validator,
// iiif-validate.py --level=2, versions 3.0 and 2.0) makes, replayed against the
// real server with the same URLs and the same acceptance rules: identifiers go
// on the wire unquoted (its make_url quotes nothing), random strings come from
// chr(48..122), the test image is 1000 x 1000 in a 10 x 10 grid of 100 px
// squares of known colours, and a square "matches" when every channel of its
// most frequent colour is within 6. Here the image is a pyramidal TIFF written
// by libvips (sharp) from such a grid, served from a temporary slide directory.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedServer } from '../../src/server/serve.js';
import { start } from './helpers.js';
import { xorshift32 } from '../helpers/rng.js';

const ID = 'validator.tif';
const N = 1000;

/** A deterministic colour per square (x = column, y = row), distinct by more than 6 per channel. */
function colour(x: number, y: number): [number, number, number] {
  return [20 + x * 23, 20 + y * 23, 230 - ((x * 7 + y * 13) % 10) * 21];
}

let s: StartedServer;
let dir: string;

beforeAll(async () => {
  const px = Buffer.alloc(N * N * 3);
  for (let j = 0; j < N; j++) {
    for (let i = 0; i < N; i++) {
      const [r, g, b] = colour(Math.floor(i / 100), Math.floor(j / 100));
      const o = (j * N + i) * 3;
      px[o] = r;
      px[o + 1] = g;
      px[o + 2] = b;
    }
  }
  dir = mkdtempSync(join(tmpdir(), 'imagebox-validator-'));
  const tif = await sharp(px, { raw: { width: N, height: N, channels: 3 } })
    .tiff({ tile: true, tileWidth: 256, tileHeight: 256, pyramid: true, compression: 'deflate' })
    .toBuffer();
  writeFileSync(join(dir, ID), tif);
  s = await start({ registry: { slidesDir: dir } });
});
afterAll(async () => s?.close());

/** xorshift32, seeded: the same "random" values every run. */
function rng(seed: number): (lo: number, hi: number) => number {
  const next = xorshift32(seed);
  return (lo, hi) => lo + (next() % (hi - lo + 1));
}

/** The validator's make_randomstring: chr(48..122) with '?' replaced by '$'. */
function randomString(r: (lo: number, hi: number) => number, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) {
    const c = String.fromCharCode(r(48, 122));
    out += c === '?' ? '$' : c;
  }
  return out;
}

interface Params {
  identifier?: string;
  region?: string;
  size?: string;
  rotation?: string;
  quality?: string;
  format?: string;
}

function url(v: '3.0' | '2.0', p: Params = {}): string {
  const prefix = v === '3.0' ? 'iiif/3' : 'iiif/2';
  const parts = [p.identifier ?? ID, p.region ?? 'full', p.size ?? (v === '3.0' ? 'max' : 'full'), p.rotation ?? '0', p.quality ?? 'default'];
  return `/${prefix}/${parts.join('/')}.${p.format ?? 'jpg'}`;
}

async function fetchRaw(path: string, headers: Record<string, string> = {}) {
  const r = await fetch(s.url + path, { headers: { Origin: 'http://iiif.io/', Referer: 'http://iiif.io/api/image/validator', ...headers } });
  return { status: r.status, headers: r.headers, body: Buffer.from(await r.arrayBuffer()) };
}

async function image(path: string) {
  const r = await fetchRaw(path);
  expect(r.status, path).toBe(200);
  const { data, info } = await sharp(r.body).raw().toBuffer({ resolveWithObject: true });
  const meta = await sharp(r.body).metadata();
  // channels: of the decoded pixels (sharp expands grey to RGB); stored: of the file itself
  return { data, width: info.width, height: info.height, channels: info.channels, stored: meta.channels, format: meta.format };
}

/** The most frequent colour of a crop, compared with the square's colour (|diff| < 6 per channel). */
function squareMatches(img: { data: Buffer; width: number; channels: number }, x0: number, y0: number, w: number, h: number, x: number, y: number): boolean {
  const counts = new Map<number, number>();
  for (let j = y0; j < y0 + h; j++) {
    for (let i = x0; i < x0 + w; i++) {
      const o = (j * img.width + i) * img.channels;
      const key = img.channels >= 3 ? (img.data[o]! << 16) | (img.data[o + 1]! << 8) | img.data[o + 2]! : img.data[o]! * 0x10101;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  const [top] = [...counts].sort((a, b) => b[1] - a[1])[0]!;
  const want = colour(x, y);
  return Math.abs((top >> 16) - want[0]) < 6 && Math.abs(((top >> 8) & 255) - want[1]) < 6 && Math.abs((top & 255) - want[2]) < 6;
}

for (const v of ['3.0', '2.0'] as const) {
  describe(`IIIF validator ${v}, level 2`, () => {
    const prefix = v === '3.0' ? '/iiif/3' : '/iiif/2';
    it('info_json: id, @context, protocol, profile, width/height, tiles', async () => {
      const r = await fetchRaw(`${prefix}/${ID}/info.json`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/application\/(ld\+)?json/);
      const info = JSON.parse(r.body.toString());
      expect(info[v === '3.0' ? 'id' : '@id']).toBe(`${s.url}${prefix}/${ID}`);
      expect(info['@context']).toBe(`http://iiif.io/api/image/${v[0]}/context.json`);
      expect(info.protocol).toBe('http://iiif.io/api/image');
      if (v === '3.0') {
        expect(info.type).toBe('ImageService3');
        expect(info.profile).toBe('level2');
      } else expect(info.profile[0]).toMatch(/^http:\/\/iiif\.io\/api\/image\/2\/level/);
      expect([info.width, info.height]).toEqual([N, N]);
      for (const t of info.tiles) expect(Number.isInteger(t.width) && Array.isArray(t.scaleFactors)).toBe(true);
    });
    it('id_basic, format_jpg, id_squares', async () => {
      const img = await image(url(v));
      expect(img.format).toBe('jpeg');
      const r = rng(7);
      let match = 0;
      for (let k = 0; k < 5; k++) {
        const x = r(0, 9);
        const y = r(0, 9);
        if (squareMatches(img, x * 100 + 13, y * 100 + 13, 74, 74, x, y)) match++;
      }
      expect(match).toBeGreaterThanOrEqual(4);
    });
    if (v === '3.0')
      it('size_nofull: "full" is not a 3.0 size', async () => {
        expect((await fetchRaw(url(v, { size: 'full' }))).status).not.toBe(200);
      });
    it('cors and jsonld', async () => {
      expect((await fetchRaw(`${prefix}/${ID}/info.json`)).headers.get('access-control-allow-origin')).toBe('*');
      const j = await fetch(`${s.url}${prefix}/${ID}/info.json`, { headers: { Accept: 'application/ld+json' } });
      expect(j.headers.get('content-type')).toMatch(/^application\/ld\+json/);
    });
    it('baseurl_redirect: the base URI redirects to info.json', async () => {
      const r = await fetch(`${s.url}${prefix}/${ID}`, { redirect: 'manual' });
      expect(r.status).toBeGreaterThanOrEqual(300);
      expect(r.status).toBeLessThan(400);
      expect(r.headers.get('location')).toBe(`${s.url}${prefix}/${ID}/info.json`);
    });
    it('id_error_random: an unknown identifier is 404', async () => {
      expect((await fetchRaw(url(v, { identifier: '8a7d2a4c-cf0e-11ee-a5b3-0242ac120002' }))).status).toBe(404);
    });
    it('id_error_escapedslash: the identifier a/b sent as is is 404', async () => {
      expect((await fetchRaw(url(v, { identifier: 'a/b' }))).status).toBe(404);
    });
    it('id_error_unescaped: [frob] sent as is is 400 or 404', async () => {
      expect([400, 404]).toContain((await fetchRaw(url(v, { identifier: '[frob]' }))).status);
    });
    it('id_escaped: %2D in the identifier decodes to "-"', async () => {
      // our identifier has no "-"; the validator's rule is that escapes decode
      expect((await fetchRaw(url(v, { identifier: 'validator%2Etif' }))).status).toBe(200);
    });
    const r = rng(31337);
    for (const [name, param, len, accepted] of [
      ['format_error_random', 'format', 3, [400]],
      ['region_error_random', 'region', 6, [400]],
      ['size_error_random', 'size', 6, [400]],
      ['rot_error_random', 'rotation', 4, [400]],
      ['quality_error_random', 'quality', 6, [400]],
    ] as const) {
      const values = Array.from({ length: 8 }, () => randomString(r, len));
      it(`${name}: random ${param} strings are ${accepted.join('/')} (${values.map((x) => JSON.stringify(x)).join(' ')})`, async () => {
        for (const value of values) {
          // fetch() would percent-encode some of these characters; the validator sends them raw
          const res = await rawGet(url(v, { [param]: value }));
          expect(accepted, `${param}=${value}`).toContain(res);
        }
      });
    }
    it('region_pixels: x*100+13,y*100+13,74,74 is the square', async () => {
      const rr = rng(11);
      for (let k = 0; k < 5; k++) {
        const x = rr(0, 9);
        const y = rr(0, 9);
        const img = await image(url(v, { region: `${x * 100 + 13},${y * 100 + 13},74,74` }));
        expect([img.width, img.height]).toEqual([74, 74]);
        expect(squareMatches(img, 0, 0, 74, 74, x, y)).toBe(true);
      }
    });
    if (v === '3.0')
      it('region_square', async () => {
        const img = await image(url(v, { region: 'square' }));
        expect(img.width).toBe(img.height);
      });
    it('size_wc, size_ch, size_wh, size_percent, size_bwh: exact sizes, squares scale with them', async () => {
      const rr = rng(5);
      const sw = rr(450, 750);
      const a = await image(url(v, { size: `${sw},` }));
      expect([a.width, a.height]).toEqual([sw, sw]);
      const side = Math.floor(sw / 10);
      expect(squareMatches(a, 3 * side + 3, 4 * side + 3, side - 6, side - 6, 3, 4)).toBe(true);
      const b = await image(url(v, { size: `,${sw}` }));
      expect([b.width, b.height]).toEqual([sw, sw]);
      const w = rr(350, 750);
      const h = rr(350, 750);
      const c = await image(url(v, { size: `${w},${h}` }));
      expect([c.width, c.height]).toEqual([w, h]);
      const p = rr(45, 75);
      const d = await image(url(v, { size: `pct:${p}` }));
      expect([d.width, d.height]).toEqual([10 * p, 10 * p]);
      const e = await image(url(v, { size: `!${w},${h}` }));
      expect([e.width, e.height]).toEqual([Math.min(w, h), Math.min(w, h)]);
    });
    it('size_region: 100 px squares at s,s', async () => {
      const rr = rng(3);
      const sz = rr(35, 90);
      for (let k = 0; k < 5; k++) {
        const x = rr(0, 9);
        const y = rr(0, 9);
        const img = await image(url(v, { region: `${x * 100},${y * 100},100,100`, size: `${sz},${sz}` }));
        expect([img.width, img.height]).toEqual([sz, sz]);
        expect(squareMatches(img, 2, 2, sz - 4, sz - 4, x, y)).toBe(true);
      }
    });
    if (v === '3.0')
      it('size_noup: larger than the region without "^" is an error (400), never 200', async () => {
        const sz = rng(9)(1100, 2000);
        for (const size of [`${sz},${sz}`, `,${sz}`, `${sz},`, 'pct:200', '!2000,3000']) {
          expect((await fetchRaw(url(v, { size }))).status, size).toBe(400);
        }
      });
    it('region_percent: pct:(10x+1),(10y+1),9,9', async () => {
      const rr = rng(13);
      for (let k = 0; k < 5; k++) {
        const x = rr(0, 9);
        const y = rr(0, 9);
        const img = await image(url(v, { region: `pct:${10 * x + 1},${10 * y + 1},9,9` }));
        expect(squareMatches(img, 0, 0, img.width, img.height, x, y)).toBe(true);
      }
    });
    it('rot_full_basic: 90/180/270 move the corner squares', async () => {
      for (const [deg, a, b] of [
        ['180', [9, 9], [0, 0]],
        ['90', [0, 9], [9, 0]],
        ['270', [9, 0], [0, 9]],
      ] as const) {
        const img = await image(url(v, { rotation: deg }));
        expect(img.width).toBe(N);
        expect(squareMatches(img, 12, 12, 64, 64, a[0], a[1]), `${deg} top-left`).toBe(true);
        expect(squareMatches(img, 912, 912, 64, 64, b[0], b[1]), `${deg} bottom-right`).toBe(true);
      }
    });
    it('rot_region_basic: a 76 px region at 180 is its square', async () => {
      const img = await image(url(v, { region: '213,313,76,76', rotation: '180' }));
      expect(img.width).toBe(76);
      expect(squareMatches(img, 0, 0, 76, 76, 2, 3)).toBe(true);
    });
    it('format_png, quality_color, quality_grey, quality_bitonal', async () => {
      expect((await image(url(v, { format: 'png' }))).format).toBe('png');
      expect((await image(url(v, { quality: 'color' }))).channels).toBe(3);
      const g = await image(url(v, { quality: 'gray', format: 'png' }));
      expect(g.stored).toBe(1); // a grey PNG, not RGB with R = G = B
      const bt = await image(url(v, { quality: 'bitonal', format: 'png' }));
      expect(bt.stored).toBe(1);
      expect([...new Set(bt.data)].sort((p, q) => p - q).every((x) => x === 0 || x === 255)).toBe(true);
    });
  });
}

/** GET with the path bytes exactly as given (the validator does not percent-encode). */
async function rawGet(path: string): Promise<number> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: s.port, path, method: 'GET', insecureHTTPParser: true }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end();
  });
}
