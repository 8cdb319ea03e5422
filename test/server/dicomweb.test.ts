// DICOMweb slides through the server: a configured { dicomweb: seriesUrl } slide
// whose Authorization header comes from the environment (Orthanc with Basic
// auth), and an ad-hoc id (base64url of a series URL) under --allow (a second
// Orthanc without authentication: ad-hoc ids carry no credential). IIIF
// info.json, a passed-through tile (the stored JPEG frame), and a region that a
// pixel worker renders after reopening the slide from its spec, equal to the
// source TIFF's; outside the allow list 403; the credential in no answer.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSlide } from '../../src/node/open-slide.js';
import { encodeRemoteId, SlideRegistry } from '../../src/server/registry.js';
import type { StartedServer } from '../../src/server/serve.js';
import { connectTileStream, type StreamTile } from '../../src/stream/client-node.js';
import { haveOrthanc, ORTHANC_AUTH, ORTHANC_PASSWORD, startOrthanc, type Orthanc } from '../helpers/orthanc.js';
import { compare, decodeImage, loadPng } from '../helpers/pixels.js';
import { FIXTURES, start } from './helpers.js';

const SERIES = fileURLToPath(new URL('../fixtures/dicom/generic-pyramid-jpeg', import.meta.url));

describe.runIf(haveOrthanc)('DICOMweb slides served', () => {
  let s: StartedServer;
  let locked: Orthanc;
  let open: Orthanc;
  let lockedUrl: string;
  let openUrl: string;
  beforeAll(async () => {
    [locked, open] = await Promise.all([startOrthanc(), startOrthanc({ auth: false })]);
    const files = readdirSync(SERIES).filter((f) => f.endsWith('.dcm')).sort().map((f) => `${SERIES}/${f}`);
    await Promise.all([locked.upload(files), open.upload(files)]);
    const local = await openSlide(SERIES);
    const study = local.properties['dicom.StudyInstanceUID']!;
    const series = local.properties['dicom.SeriesInstanceUID']!;
    await local.close();
    lockedUrl = locked.seriesUrl(study, series);
    openUrl = open.seriesUrl(study, series);
    s = await start({
      registry: {
        slidesDir: FIXTURES,
        allow: [`${open.url}/dicom-web/`],
        env: { ORTHANC_AUTH },
        config: { slides: { web: { dicomweb: lockedUrl, headers: { authorization: '${ORTHANC_AUTH}' } }, nokey: { dicomweb: lockedUrl } } },
      },
    });
  }, 60_000);
  afterAll(async () => {
    await s?.close();
    await locked?.stop();
    await open?.stop();
  });

  async function get(path: string): Promise<{ status: number; headers: Headers; body: Uint8Array }> {
    const r = await fetch(s.url + path);
    return { status: r.status, headers: r.headers, body: new Uint8Array(await r.arrayBuffer()) };
  }

  const ids = (): Array<[string, string]> => [
    ['configured (Basic auth from the environment)', 'web'],
    ['ad-hoc under --allow', encodeRemoteId(openUrl)],
  ];

  it('info.json, a passed-through tile equal to OpenSlide\'s render, a worker-rendered region equal to the source TIFF\'s', async () => {
    for (const [what, id] of ids()) {
      const info = await get(`/iiif/3/${id}/info.json`);
      expect([what, info.status]).toEqual([what, 200]);
      const j = JSON.parse(new TextDecoder().decode(info.body));
      expect([j.width, j.height, j.tiles[0].width]).toEqual([4096, 3072, 256]);

      const tile = await get(`/iiif/3/${id}/768,512,256,256/256,256/0/default.jpg`);
      expect(tile.status).toBe(200);
      expect([what, tile.headers.get('x-tile-path')]).toEqual([what, 'passthrough']);
      const ref = await loadPng(`${FIXTURES}/reference/generic-pyramid-jpeg_tif/L0_tile_c3_r2.png`);
      expect(compare(await decodeImage(tile.body), ref, false).psnr).toBeGreaterThanOrEqual(40);

      const path = (slide: string) => `/iiif/3/${slide}/1000,700,1500,1100/375,/0/default.png`;
      const a = await get(path(id));
      const b = await get(path('generic-pyramid-jpeg.tif'));
      expect([what, a.status, b.status]).toEqual([what, 200, 200]);
      expect(compare(await decodeImage(a.body), await decodeImage(b.body), true).maxDiff).toBe(0);
    }
  }, 60_000);

  it('the tile stream sends the stored JPEG frames (passthrough), byte for byte the frames of the DICOM files', async () => {
    const c = await connectTileStream(s.url.replace(/^http/, 'ws') + '/stream', { encodings: ['passthrough'] });
    const local = await openSlide(SERIES);
    try {
      const slide = await c.open('web');
      const got: StreamTile[] = [];
      c.on('tile', (t) => {
        if (t.level === 0) got.push(t);
      });
      const r = await c.view(slide.handle, { level: 0, x: 300, y: 200, width: 600, height: 500 });
      expect(r.tiles).toBeGreaterThan(0);
      expect(got.length).toBeGreaterThanOrEqual(r.tiles);
      for (const t of got.slice(0, r.tiles)) {
        expect([t.encoding, t.transcoded]).toEqual(['jpeg', false]);
        const want = await local.tile(0, t.col, t.row);
        expect(Buffer.from(t.data).equals(Buffer.from(want.bytes)), `frame ${t.col},${t.row}`).toBe(true);
      }
    } finally {
      await c.close();
      await local.close();
    }
  }, 30_000);

  it('an ad-hoc series URL outside --allow is refused (403); the locked Orthanc without the credential is 403, and no answer carries it', async () => {
    const outside = await get(`/iiif/3/${encodeRemoteId(lockedUrl)}/info.json`);
    expect(outside.status).toBe(403);
    const body = new TextDecoder().decode(outside.body);
    expect(body).not.toContain(ORTHANC_PASSWORD);
    expect(body).not.toContain(ORTHANC_AUTH.slice(6));
    const nokey = await get('/iiif/3/nokey/info.json');
    expect(nokey.status).toBe(403); // Orthanc's 401 without the credential: E_FORBIDDEN
    const configured = await get('/iiif/3/web/info.json');
    expect(new TextDecoder().decode(configured.body)).not.toContain(ORTHANC_AUTH.slice(6));
  });
});

describe('{ dicomweb } in the config', () => {
  it('a series URL becomes a DICOMweb spec (headers from the environment, its origin allowed); anything else is E_BAD_REQUEST', async () => {
    const url = 'https://pacs.example/dicom-web/studies/1.2.3/series/4.5.6';
    const reg = new SlideRegistry({ env: { T: 'tok' }, config: { slides: { a: { dicomweb: url, headers: { authorization: 'Bearer ${T}' } } } } });
    const e = await reg.resolve('a');
    expect(e.spec).toMatchObject({ location: url, dicomweb: true, headers: { authorization: 'Bearer tok' }, allow: ['https://pacs.example/'] });
    await reg.close();
    // an ad-hoc id of a series URL under --allow is a DICOMweb slide; of a file URL, a ranged one
    const adhoc = new SlideRegistry({ allow: ['https://pacs.example/dicom-web/'] });
    expect((await adhoc.resolve(encodeRemoteId(url))).spec.dicomweb).toBe(true);
    expect((await adhoc.resolve(encodeRemoteId('https://pacs.example/dicom-web/x.svs'))).spec.dicomweb).toBeUndefined();
    await expect(adhoc.resolve(encodeRemoteId('https://other.example/dicom-web/studies/1/series/2'))).rejects.toMatchObject({ code: 'E_FORBIDDEN' });
    await adhoc.close();
    for (const bad of ['https://pacs.example/dicom-web/studies/1.2.3', 'ftp://pacs.example/studies/1/series/2', `${url}?x=1`, 42]) {
      expect(() => new SlideRegistry({ config: { slides: { bad: { dicomweb: bad as string } } } })).toThrow(expect.objectContaining({ code: 'E_BAD_REQUEST' }));
    }
    expect(() => new SlideRegistry({ config: { slides: { bad: { dicomweb: url, s3: { region: 'x' } } } } })).toThrow(expect.objectContaining({ code: 'E_BAD_REQUEST' }));
  });
});
