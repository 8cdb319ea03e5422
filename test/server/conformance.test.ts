// IIIF Image API 3.0 / 2.1 conformance, DeepZoom and the JSON API, against
// the real server over HTTP on 127.0.0.1 (uWS), with a real client (fetch).
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedServer } from '../../src/server/serve.js';
import { readFile } from 'node:fs/promises';
import { startOrigin, type Origin } from '../helpers/origin.js';
import { FIXTURES, start } from './helpers.js';

let s: StartedServer;
const LIM = { maxWidth: 2000, maxHeight: 2000, maxArea: 2000 * 1600 };

interface Got {
  status: number;
  headers: Headers;
  body: Uint8Array;
  text: string;
}

async function get(path: string, init: RequestInit = {}): Promise<Got> {
  const r = await fetch(s.url + path, { redirect: 'manual', ...init });
  const body = new Uint8Array(await r.arrayBuffer());
  return { status: r.status, headers: r.headers, body, text: new TextDecoder().decode(body) };
}

async function dims(body: Uint8Array): Promise<[number, number]> {
  const m = await sharp(body).metadata();
  return [m.width!, m.height!];
}

async function raw(body: Uint8Array): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(body).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

const ID = 'aperio-jpeg.svs'; // 8000 x 6000, levels 1, 4, 16
const I3 = `/iiif/3/${ID}`;
const I2 = `/iiif/2/${ID}`;
const R = '1000,1000,800,600'; // a small region for the size forms
const TISSUE = '4000,3000,800,600'; // a region with stain on it (R is background)

// The whole suite twice: the slide as a local file, and the same slide behind
// a range-capable HTTP origin on 127.0.0.1 (configured id, same name).
for (const mode of ['local', 'remote'] as const) describe(`${mode} slide`, () => {
  let origin: Origin | undefined;
  beforeAll(async () => {
    if (mode === 'remote') {
      origin = await startOrigin();
      origin.put('/wsi/aperio-jpeg.svs', new Uint8Array(await readFile(`${FIXTURES}/aperio-jpeg.svs`)));
      s = await start({ limits: LIM, registry: { slidesDir: FIXTURES, config: { slides: { [ID]: { url: origin.url('/wsi/aperio-jpeg.svs') } } } } });
    } else {
      s = await start({ limits: LIM });
    }
  });
  afterAll(async () => {
    await s?.close();
    await origin?.stop();
  });
  it(`serves ${ID} from ${mode === 'remote' ? 'the HTTP origin' : 'the file'}`, async () => {
    expect((await get(`${I3}/info.json`)).status).toBe(200);
    const open = s.box.context.registry.openSlides().map((x) => x.source.id);
    if (origin) {
      expect(origin.requests).toBeGreaterThan(0);
      expect(open).toContain(origin.url('/wsi/aperio-jpeg.svs'));
    } else {
      expect(open).toContain(`file:${FIXTURES}/${ID}`);
    }
  });

  describe('IIIF 3.0 info.json', () => {
    it('has the required properties, the real pyramid and the limits', async () => {
      const r = await get(`${I3}/info.json`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('application/json');
      expect(r.headers.get('access-control-allow-origin')).toBe('*');
      expect(r.headers.get('link')).toBe('<http://iiif.io/api/image/3/level2.json>;rel="profile"');
      const info = JSON.parse(r.text);
      expect(info).toMatchObject({
        '@context': 'http://iiif.io/api/image/3/context.json',
        id: `${s.url}${I3}`,
        type: 'ImageService3',
        protocol: 'http://iiif.io/api/image',
        profile: 'level2',
        width: 8000,
        height: 6000,
        maxWidth: 2000,
        maxHeight: 2000,
        maxArea: 3_200_000,
        tiles: [{ width: 256, height: 256, scaleFactors: [1, 4, 16, 32] }],
        sizes: [
          { width: 500, height: 375 },
          { width: 2000, height: 1500 },
        ],
        extraQualities: ['color', 'gray', 'bitonal'],
      });
    });
    it('is application/ld+json with the profile when asked', async () => {
      const r = await get(`${I3}/info.json`, { headers: { accept: 'application/ld+json' } });
      expect(r.headers.get('content-type')).toBe('application/ld+json;profile="http://iiif.io/api/image/3/context.json"');
    });
    it('has a strong ETag and answers If-None-Match with 304', async () => {
      const r = await get(`${I3}/info.json`);
      const etag = r.headers.get('etag')!;
      expect(etag).toMatch(/^"[^"]+"$/);
      const again = await get(`${I3}/info.json`, { headers: { 'if-none-match': etag } });
      expect(again.status).toBe(304);
      expect(again.body.length).toBe(0);
    });
    it('base URI redirects (303) to info.json', async () => {
      const r = await get(I3);
      expect(r.status).toBe(303);
      expect(r.headers.get('location')).toBe(`${s.url}${I3}/info.json`);
      expect(r.headers.get('access-control-allow-origin')).toBe('*');
      expect((await get(`${I3}/`)).status).toBe(303);
    });
    it('unknown identifiers are 404 (info, redirect and image)', async () => {
      for (const p of ['/iiif/3/nope.svs/info.json', '/iiif/3/nope.svs', '/iiif/3/nope.svs/full/max/0/default.jpg']) {
        const r = await get(p);
        expect(r.status, p).toBe(404);
        expect(JSON.parse(r.text).error.code).toBe('E_NOT_FOUND');
      }
    });
    it('percent-encoded identifiers with "/" resolve', async () => {
      const r = await get('/iiif/3/openslide%2Fsmall.svs/info.json');
      expect(r.status).toBe(200);
      expect(JSON.parse(r.text).id).toBe(`${s.url}/iiif/3/openslide%2Fsmall.svs`);
    });
  });

  describe('IIIF 2.1 info.json', () => {
    it('has @context, @id and the level 2 profile', async () => {
      const r = await get(`${I2}/info.json`, { headers: { accept: 'application/ld+json' } });
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('application/ld+json;profile="http://iiif.io/api/image/2/context.json"');
      expect(r.headers.get('link')).toBe('<http://iiif.io/api/image/2/level2.json>;rel="profile"');
      const info = JSON.parse(r.text);
      expect(info['@context']).toBe('http://iiif.io/api/image/2/context.json');
      expect(info['@id']).toBe(`${s.url}${I2}`);
      expect(info.profile[0]).toBe('http://iiif.io/api/image/2/level2.json');
      expect(info.profile[1].formats).toEqual(['jpg', 'png']);
      expect(info.tiles[0].scaleFactors).toEqual([1, 4, 16, 32]);
    });
    it('base URI redirects', async () => {
      const r = await get(I2);
      expect(r.status).toBe(303);
      expect(r.headers.get('location')).toBe(`${s.url}${I2}/info.json`);
    });
  });

  describe('IIIF 3.0 region', () => {
    const cases: [string, [number, number]][] = [
      ['full/pct:5', [400, 300]],
      ['square/100,', [100, 100]],
      [`${R}/max`, [800, 600]],
      ['pct:10,10,10,10/max', [800, 600]],
      ['7900,5900,500,500/max', [100, 100]], // cropped at the edge
    ];
    for (const [p, wh] of cases)
      it(p, async () => {
        const r = await get(`${I3}/${p}/0/default.jpg`);
        expect(r.status).toBe(200);
        expect(await dims(r.body)).toEqual(wh);
      });
    it('canonical Link header', async () => {
      const r = await get(`${I3}/pct:10,10,10,10/pct:50/0/default.jpg`);
      expect(r.headers.get('link')).toContain(`<${s.url}${I3}/800,600,800,600/400,300/0/default.jpg>;rel="canonical"`);
      expect(r.headers.get('link')).toContain('<http://iiif.io/api/image/3/level2.json>;rel="profile"');
    });
  });

  describe('IIIF 3.0 size', () => {
    const cases: [string, [number, number]][] = [
      ['max', [800, 600]],
      ['^max', [2000, 1500]],
      ['400,', [400, 300]],
      ['^1600,', [1600, 1200]],
      [',300', [400, 300]],
      ['^,1200', [1600, 1200]],
      ['pct:25', [200, 150]],
      ['^pct:150', [1200, 900]],
      ['300,300', [300, 300]],
      ['^1000,700', [1000, 700]],
      ['!400,400', [400, 300]],
      ['^!1000,1000', [1000, 750]],
      ['!800,900', [800, 600]], // the best fit is the region itself: no upscaling
    ];
    for (const [p, wh] of cases)
      it(p, async () => {
        const r = await get(`${I3}/${R}/${p}/0/default.jpg`);
        expect(r.status).toBe(200);
        expect(await dims(r.body)).toEqual(wh);
      });
    it('a large body (multi-MB PNG) arrives whole (uWS backpressure path)', async () => {
      const r = await get(`${I3}/full/1600,/0/default.png`);
      expect(r.status).toBe(200);
      expect(r.body.length).toBe(Number(r.headers.get('content-length')));
      expect(r.body.length).toBeGreaterThan(1_000_000);
      const { info } = await sharp(r.body).raw().toBuffer({ resolveWithObject: true }); // decodes only if complete
      expect([info.width, info.height]).toEqual([1600, 1200]);
    });
    it('max of the full image is limited by maxWidth/maxArea', async () => {
      const r = await get(`${I3}/full/max/0/default.jpg`);
      expect(r.status).toBe(200);
      const [w, h] = await dims(r.body);
      expect(w).toBeLessThanOrEqual(2000);
      expect(w * h).toBeLessThanOrEqual(LIM.maxArea);
    });
  });

  describe('IIIF 3.0 rotation and mirroring', () => {
    it('90/180/270 rotate the pixels (png, lossless)', async () => {
      const base = await raw((await get(`${I3}/${R}/200,150/0/default.png`)).body);
      for (const deg of [90, 180, 270]) {
        const r = await get(`${I3}/${R}/200,150/${deg}/default.png`);
        expect(r.status).toBe(200);
        const got = await raw(r.body);
        expect([got.width, got.height]).toEqual(deg === 180 ? [200, 150] : [150, 200]);
        const want = await sharp(base.data, { raw: { width: base.width, height: base.height, channels: base.channels as 3 } })
          .rotate(deg)
          .raw()
          .toBuffer();
        expect(got.data.equals(want), `rotation ${deg}`).toBe(true);
      }
    });
    it('!0 mirrors, !90 mirrors then rotates', async () => {
      const base = await raw((await get(`${I3}/${R}/200,150/0/default.png`)).body);
      const opts = { raw: { width: base.width, height: base.height, channels: base.channels as 3 } };
      const m = await raw((await get(`${I3}/${R}/200,150/!0/default.png`)).body);
      expect(m.data.equals(await sharp(base.data, opts).flop().raw().toBuffer())).toBe(true);
      const m90 = await raw((await get(`${I3}/${R}/200,150/!90/default.png`)).body);
      const flopped = await sharp(base.data, opts).flop().raw().toBuffer();
      expect(m90.data.equals(await sharp(flopped, opts).rotate(90).raw().toBuffer())).toBe(true);
    });
  });

  describe('IIIF 3.0 quality and format', () => {
    /** ITU-R 601 luma of the colour image, pixel by pixel. */
    const luma = async (): Promise<number[]> => {
      const c = await raw((await get(`${I3}/${TISSUE}/100,/0/default.png`)).body);
      const out: number[] = [];
      for (let i = 0; i < c.data.length; i += c.channels) out.push(0.299 * c.data[i]! + 0.587 * c.data[i + 1]! + 0.114 * c.data[i + 2]!);
      return out;
    };
    it('gray: one grey channel, the luma of the colour image (within rounding)', async () => {
      const r = await get(`${I3}/${TISSUE}/100,/0/gray.png`);
      expect((await sharp(r.body).metadata()).channels).toBe(1);
      const g = await raw(r.body);
      const y = await luma();
      expect(g.data.length / g.channels).toBe(y.length);
      let worst = 0;
      for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(g.data[i * g.channels]! - y[i]!));
      expect(worst).toBeLessThanOrEqual(1);
      expect(new Set(g.data).size).toBeGreaterThan(20); // a picture, not a flat grey
    });
    it('bitonal: black and white only, white exactly where the luma is >= 128 (both present)', async () => {
      const b = await raw((await get(`${I3}/${TISSUE}/100,/0/bitonal.png`)).body);
      const y = await luma();
      let white = 0;
      let agree = 0;
      for (let i = 0; i < y.length; i++) {
        const v = b.data[i * b.channels]!;
        expect(v === 0 || v === 255).toBe(true);
        if (v === 255) white++;
        if ((v === 255) === (y[i]! >= 128)) agree++;
      }
      expect(white).toBeGreaterThan(0);
      expect(white).toBeLessThan(y.length);
      expect(agree / y.length).toBeGreaterThan(0.995); // only pixels within rounding of 128 may disagree
    });
    it('color and default are images; gray jpg is a JPEG', async () => {
      for (const q of ['color', 'default', 'gray', 'bitonal']) {
        const r = await get(`${I3}/${R}/100,/0/${q}.jpg`);
        expect(r.status).toBe(200);
        expect(r.headers.get('content-type')).toBe('image/jpeg');
        expect([...r.body.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
      }
    });
    it('png is a PNG', async () => {
      const r = await get(`${I3}/${R}/100,/0/default.png`);
      expect(r.headers.get('content-type')).toBe('image/png');
      expect([...r.body.subarray(0, 8)]).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
    });
  });

  describe('IIIF errors (400 for syntax and for unsupported rotation, quality, format, in both versions)', () => {
    const bad3: [string, number][] = [
      ['9000,0,10,10/max/0/default.jpg', 400], // region outside
      ['0,0,0,10/max/0/default.jpg', 400],
      ['junk/max/0/default.jpg', 400],
      [`${R}/801,/0/default.jpg`, 400], // upscale without ^
      [`${R}/!2000,2000/0/default.jpg`, 400], // a best fit larger than the region is upscaling (needs ^)
      [`${R}/!801,601/0/default.jpg`, 400],
      [`${R}/pct:101/0/default.jpg`, 400],
      [`${R}/full/0/default.jpg`, 400], // 2.1 syntax
      [`${R}/0,/0/default.jpg`, 400],
      ['full/^3000,/0/default.jpg', 400], // over maxWidth
      ['full/2000,2000/0/default.jpg', 400], // over maxArea
      [`${R}/max/22.5/default.jpg`, 400],
      [`${R}/max/-90/default.jpg`, 400],
      [`${R}/max/0/sepia.jpg`, 400],
      [`${R}/max/0/default.tif`, 400],
      [`${R}/max/0/default.webp`, 400],
      [`${R}/max/0/default`, 400],
      [`${R}/max/0`, 400], // too few segments
      [`${R}/max/0/default.jpg/extra`, 400],
    ];
    for (const [p, status] of bad3)
      it(`/iiif/3/…/${p} -> ${status}`, async () => {
        const r = await get(`${I3}/${p}`);
        expect(r.status).toBe(status);
        expect(r.headers.get('content-type')).toBe('application/json');
        expect(r.headers.get('access-control-allow-origin')).toBe('*');
        const e = JSON.parse(r.text);
        expect(e.error.code).toBe('E_BAD_REQUEST');
        expect(e.error.message.length).toBeGreaterThan(0);
        expect(r.text).not.toMatch(/\bat .*\.(ts|js):\d+/); // never a stack
      });
    const bad2: [string, number][] = [
      [`${R}/max/22.5/default.jpg`, 400], // 2.1 section 4.3: unsupported rotation SHOULD be 400
      [`${R}/max/45/default.jpg`, 400],
      [`${R}/max/0/default.tif`, 400], // 4.5: unsupported format SHOULD be 400
      [`${R}/max/0/default.webp`, 400],
      [`${R}/max/0/default.gif`, 400],
      [`${R}/max/0/default.xyz`, 400],
      [`${R}/^max/0/default.jpg`, 400],
      [`full/full/0/default.jpg`, 400], // 8000 x 6000 is over the limits
    ];
    for (const [p, status] of bad2)
      it(`/iiif/2/…/${p} -> ${status}`, async () => {
        const r = await get(`${I2}/${p}`);
        expect(r.status).toBe(status);
        expect(JSON.parse(r.text).error.code).toBe('E_BAD_REQUEST'); // the body's code agrees with the status
      });
    for (const v of ['2', '3'])
      it(`/iiif/${v}: an identifier with an unescaped "/" names no image: 404, whatever follows`, async () => {
        for (const p of ['a/b/full/max/0/default.jpg', 'a/b/full/full/0/default.jpg', 'a/b/info.json', `${ID}/x/info.json`]) {
          if (v === '3' && p.includes('full/full')) continue;
          const r = await get(`/iiif/${v}/${p}`);
          expect(r.status, p).toBe(404);
          expect(JSON.parse(r.text).error.code, p).toBe('E_NOT_FOUND');
        }
        // an escaped one is one identifier (unknown here)
        expect((await get(`/iiif/${v}/a%2Fb/info.json`)).status).toBe(404);
        // extra segments that do not end in a valid request stay a syntax error
        expect((await get(`/iiif/${v}/${ID}/${R}/max/0/default.jpg/extra`)).status).toBe(400);
      });
  });

  describe('IIIF 2.1 image requests', () => {
    const cases: [string, [number, number]][] = [
      [`${R}/full`, [800, 600]],
      [`${R}/max`, [800, 600]],
      [`${R}/400,`, [400, 300]],
      [`${R}/,300`, [400, 300]],
      [`${R}/pct:50`, [400, 300]],
      [`${R}/300,300`, [300, 300]],
      [`${R}/!400,400`, [400, 300]],
      [`${R}/1600,`, [1600, 1200]], // sizeAboveFull
      ['square/100,', [100, 100]],
    ];
    for (const [p, wh] of cases)
      it(p, async () => {
        const r = await get(`${I2}/${p}/0/default.jpg`);
        expect(r.status).toBe(200);
        expect(await dims(r.body)).toEqual(wh);
      });
    it('canonical link uses 2.1 syntax', async () => {
      const r = await get(`${I2}/${R}/pct:50/0/default.jpg`);
      expect(r.headers.get('link')).toContain(`<${s.url}${I2}/${R}/400,/0/default.jpg>;rel="canonical"`);
    });
  });

  describe('HTTP caching and CORS', () => {
    it('ETag + If-None-Match -> 304; Cache-Control public; cache hit on repeat', async () => {
      const p = `${I3}/${R}/123,/0/default.jpg`;
      const a = await get(p);
      expect(a.status).toBe(200);
      expect(a.headers.get('cache-control')).toMatch(/public, max-age=\d+/);
      const etag = a.headers.get('etag')!;
      expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
      expect((await get(p, { headers: { 'if-none-match': etag } })).status).toBe(304);
      expect((await get(p, { headers: { 'if-none-match': `"other", W/${etag}` } })).status).toBe(304);
      expect((await get(p, { headers: { 'if-none-match': '"other"' } })).status).toBe(200);
      const b = await get(p);
      expect(b.headers.get('x-tile-path')).toBe('cache');
      expect(Buffer.from(b.body).equals(Buffer.from(a.body))).toBe(true);
      expect(b.headers.get('etag')).toBe(etag);
    });
    it('equivalent requests share the canonical ETag; different ones do not', async () => {
      const a = await get(`${I3}/${R}/pct:50/0/default.jpg`);
      const b = await get(`${I3}/${R}/400,/0/default.jpg`);
      const c = await get(`${I3}/${R}/401,/0/default.jpg`);
      expect(a.headers.get('etag')).toBe(b.headers.get('etag'));
      expect(c.headers.get('etag')).not.toBe(a.headers.get('etag'));
    });
    it('identical concurrent requests all succeed with the same bytes (single flight)', async () => {
      const p = `${I3}/2000,2000,1000,1000/317,/0/default.jpg`;
      const all = await Promise.all(Array.from({ length: 6 }, () => get(p)));
      for (const r of all) {
        expect(r.status).toBe(200);
        expect(Buffer.from(r.body).equals(Buffer.from(all[0]!.body))).toBe(true);
      }
    });
    it('OPTIONS preflight, HEAD, and 405 for other methods', async () => {
      const o = await get(`${I3}/info.json`, { method: 'OPTIONS' });
      expect(o.status).toBe(204);
      expect(o.headers.get('access-control-allow-origin')).toBe('*');
      expect(o.headers.get('access-control-allow-methods')).toContain('GET');
      const h = await get(`${I3}/${R}/100,/0/default.jpg`, { method: 'HEAD' });
      expect(h.status).toBe(200);
      expect(h.body.length).toBe(0);
      expect(h.headers.get('content-type')).toBe('image/jpeg');
      for (const method of ['POST', 'DELETE', 'PUT']) {
        const r = await get(`${I3}/info.json`, method === 'DELETE' ? { method } : { method, body: 'x' });
        expect(r.status, method).toBe(405);
        expect(r.headers.get('allow'), method).toBe('GET, HEAD, OPTIONS');
        expect(JSON.parse(r.text).error.code).toBe('E_METHOD_NOT_ALLOWED');
      }
    });
  });

  describe('DeepZoom', () => {
    it('.dzi describes the image', async () => {
      const r = await get(`/dzi/${ID}.dzi`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('application/xml');
      expect(r.text).toContain('TileSize="256"');
      expect(r.text).toContain('Overlap="0"');
      expect(r.text).toContain('<Size Width="8000" Height="6000"/>');
    });
    it('level 13 (full resolution) tile 3_2 is the stored tile (passthrough)', async () => {
      const r = await get(`/dzi/${ID}_files/13/3_2.jpeg`);
      expect(r.status).toBe(200);
      expect(r.headers.get('x-tile-path')).toMatch(/passthrough|cache/);
      expect(await dims(r.body)).toEqual([256, 256]);
    });
    it('level 11 (scale 4 = native level 1) passes through; edge tiles are cropped', async () => {
      const a = await get(`/dzi/${ID}_files/11/1_1.jpeg`);
      expect(a.headers.get('x-tile-path')).toMatch(/passthrough|cache/);
      const e = await get(`/dzi/${ID}_files/11/7_5.jpeg`);
      expect(e.status).toBe(200);
      expect(await dims(e.body)).toEqual([2000 - 7 * 256, 1500 - 5 * 256]);
    });
    it('level 0 is 1 x 1; level 8 is 250 x 188', async () => {
      expect(await dims((await get(`/dzi/${ID}_files/0/0_0.jpeg`)).body)).toEqual([1, 1]);
      expect(await dims((await get(`/dzi/${ID}_files/8/0_0.jpeg`)).body)).toEqual([250, 188]);
    });
    it('tiles and levels out of range are 404; bad syntax 400', async () => {
      expect((await get(`/dzi/${ID}_files/14/0_0.jpeg`)).status).toBe(404);
      expect((await get(`/dzi/${ID}_files/13/99_0.jpeg`)).status).toBe(404);
      expect((await get(`/dzi/${ID}_files/13/a_b.jpeg`)).status).toBe(400);
      expect((await get(`/dzi/nope.svs.dzi`)).status).toBe(404);
    });
  });

  describe('JSON API, health, metrics', () => {
    it('/slides lists the slides with their IIIF and DZI URLs', async () => {
      const r = await get('/slides');
      expect(r.status).toBe(200);
      const list = JSON.parse(r.text).slides as { id: string; info: string; dzi: string }[];
      const e = list.find((x) => x.id === ID)!;
      expect(e.info).toBe(`${s.url}${I3}/info.json`);
      expect(e.dzi).toBe(`${s.url}/dzi/${ID}.dzi`);
      expect(list.some((x) => x.id === 'openslide/small.svs')).toBe(true);
    });
    it('/slides/{id}: levels, MPP, associated images, properties', async () => {
      const d = JSON.parse((await get(`/slides/${ID}`)).text);
      expect(d.width).toBe(8000);
      expect(d.levels.map((l: { downsample: number }) => l.downsample)).toEqual([1, 4, 16]);
      expect(d.mppX).toBeCloseTo(0.499, 3);
      expect(d.associated.map((a: { name: string }) => a.name).sort()).toEqual(['label', 'macro', 'thumbnail']);
      expect(d.properties['aperio.AppMag']).toBe('20');
    });
    it('/slides/{id}/associated/{name} as JPEG and PNG', async () => {
      const j = await get(`/slides/${ID}/associated/label`);
      expect(j.status).toBe(200);
      expect(j.headers.get('content-type')).toBe('image/jpeg');
      expect(await dims(j.body)).toEqual([387, 463]);
      const p = await get(`/slides/${ID}/associated/macro.png`);
      expect(p.headers.get('content-type')).toBe('image/png');
      expect(await dims(p.body)).toEqual([1280, 431]);
      expect((await get(`/slides/${ID}/associated/nothing`)).status).toBe(404);
    });
    it('/health', async () => {
      expect(JSON.parse((await get('/health')).text)).toEqual({ status: 'ok' });
    });
    it('/metrics is Prometheus text with requests, latency, cache and origin counters', async () => {
      const r = await get('/metrics');
      expect(r.headers.get('content-type')).toContain('text/plain');
      expect(r.text).toMatch(/imagebox_http_requests_total\{route="iiif_image",status="200"\} \d+/);
      expect(r.text).toMatch(/imagebox_http_request_duration_seconds_bucket\{route="iiif_image",le="\+Inf"\} \d+/);
      expect(r.text).toMatch(/imagebox_cache_hit_ratio [0-9.]+/);
      expect(r.text).toMatch(/imagebox_origin_bytes_total [1-9]\d*/);
      expect(r.text).toMatch(/imagebox_tiles_total\{path="passthrough"\} [1-9]/);
    });
    it('unknown paths are 404 JSON', async () => {
      const r = await get('/nothing/here');
      expect(r.status).toBe(404);
    });
  });
});
