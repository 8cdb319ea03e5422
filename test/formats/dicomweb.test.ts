// DICOMweb: the OrthancWSIDicomizer conversion of generic-pyramid-jpeg.tif
// (and OpenSlide's boxes series) uploaded to a real Orthanc (Debian's orthanc +
// orthanc-dicomweb, started here with HTTP Basic authentication) and read back
// through WADO-RS: the same levels, sizes, MPP and frames as the DICOM files
// (bit-exact: the JPEG frames pass through), pixels against OpenSlide's renders
// of the source TIFF, the origin requests of open / first tile / later tiles /
// a batch counted and bounded, and refusals as typed errors.
import { readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDicomWebSlide, openSlide } from '../../src/node/open-slide.js';
import { openDicomWebSlide as openInBrowser } from '../../src/browser.js';
import { nodePixelReader } from '../../src/codecs/pixel-reader-node.js';
import type { DicomWebFrameSource } from '../../src/formats/dicom/dicomweb-series.js';
import { isDicomWebSeriesUrl } from '../../src/formats/dicom/dicomweb-series.js';
import { parseRelated } from '../../src/io/dicomweb-client.js';
import { dataSetFromJson } from '../../src/formats/dicom/dicom-json.js';
import { prefetchNeighbours, readTiles } from '../../src/stream/prefetch.js';
import type { Slide } from '../../src/slide/slide.js';
import { fixture, fixturePath, WSI_DIR } from '../helpers/fixtures.js';
import { compare, loadPng } from '../helpers/pixels.js';
import { haveOrthanc, ORTHANC_AUTH, startOrthanc, type Orthanc } from '../helpers/orthanc.js';

const DICOM = fileURLToPath(new URL('../fixtures/dicom/', import.meta.url));
const SERIES = `${DICOM}generic-pyramid-jpeg`;
const SOURCE = 'generic-pyramid-jpeg.tif';
const files = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith('.dcm')).sort().map((n) => `${dir}/${n}`);

describe('DICOM JSON and multipart/related (no origin)', () => {
  it('DICOM JSON values become the DataSet the Part 10 reader makes', () => {
    const ds = dataSetFromJson({
      '00280010': { vr: 'US', Value: [256] },
      '00280030': { vr: 'DS', Value: [0.000250000012, 0.000250000012] },
      '00080008': { vr: 'CS', Value: ['DERIVED', 'PRIMARY', 'VOLUME'] },
      '52009229': { vr: 'SQ', Value: [{ '00480106': { vr: 'SH', Value: ['1'] } }] },
      '00282000': { vr: 'OB', InlineBinary: 'AAEC' },
      '00480006': { vr: 'UL', Value: [4096] },
    });
    expect([...ds.get(0x00280010)!.value!]).toEqual([0, 1]);
    expect(new TextDecoder().decode(ds.get(0x00280030)!.value)).toBe('0.000250000012\\0.000250000012');
    expect(new TextDecoder().decode(ds.get(0x00080008)!.value)).toBe('DERIVED\\PRIMARY\\VOLUME');
    expect(ds.get(0x52009229)!.items!.length).toBe(1);
    expect([...ds.get(0x00282000)!.value!]).toEqual([0, 1, 2]);
    expect([...ds.get(0x00480006)!.value!]).toEqual([0, 16, 0, 0]);
    expect(() => dataSetFromJson({ zz: { vr: 'US' } })).toThrow(/8 hex digits/);
    expect(() => dataSetFromJson({ '00280010': { Value: [1] } })).toThrow(/without a VR/);
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 20; i++) deep = { '52009229': { vr: 'SQ', Value: [deep] } };
    expect(() => dataSetFromJson(deep)).toThrow(/deeper/);
  });

  it('multipart/related: parts by Content-Length (boundary bytes inside a frame are harmless), part counts capped', () => {
    const enc = new TextEncoder();
    const frame = enc.encode('\r\n--b1\r\nnot a boundary');
    const body = new Uint8Array([
      ...enc.encode(`--b1\r\nContent-Type: image/jpeg; transfer-syntax=1.2.840.10008.1.2.4.50\r\nContent-Length: ${frame.length}\r\n\r\n`),
      ...frame,
      ...enc.encode('\r\n--b1\r\nContent-Type: image/jpeg\r\n\r\nxyz\r\n--b1--\r\n'),
    ]);
    const parts = parseRelated(body, 'multipart/related; type="image/jpeg"; boundary=b1', 4);
    expect(parts.map((p) => new TextDecoder().decode(p.data))).toEqual(['\r\n--b1\r\nnot a boundary', 'xyz']);
    expect(() => parseRelated(body, 'multipart/related; boundary=b1', 1)).toThrow(/more than 1 parts/);
    expect(() => parseRelated(body, 'application/json', 4)).toThrow(/Content-Type/);
    expect(isDicomWebSeriesUrl('http://h/dicom-web/studies/1.2/series/3.4')).toBe(true);
    expect(isDicomWebSeriesUrl('http://h/dicom-web/studies/1.2/series/3.4/instances/5')).toBe(false);
    expect(isDicomWebSeriesUrl('http://h/x.svs')).toBe(false);
  });
});

describe.runIf(haveOrthanc)('a DICOM WSI series through Orthanc\'s DICOMweb', () => {
  let orthanc: Orthanc;
  let local: Slide;
  let tiff: Slide;
  let seriesUrl: string;
  let boxesUrl: string;
  const auth = { headers: { authorization: ORTHANC_AUTH } };

  beforeAll(async () => {
    orthanc = await startOrthanc();
    await orthanc.upload([...files(SERIES), ...files(`${DICOM}boxes`)]);
    local = await openSlide(SERIES);
    tiff = await openSlide(fixturePath(SOURCE));
    seriesUrl = orthanc.seriesUrl(local.properties['dicom.StudyInstanceUID']!, local.properties['dicom.SeriesInstanceUID']!);
    const boxes = await openSlide(`${DICOM}boxes`);
    boxesUrl = orthanc.seriesUrl(boxes.properties['dicom.StudyInstanceUID']!, boxes.properties['dicom.SeriesInstanceUID']!);
    await boxes.close();
  }, 60_000);
  afterAll(async () => {
    await local?.close();
    await tiff?.close();
    await orthanc?.stop();
  });

  it('has the source slide\'s levels, sizes and MPP, the files\' properties, and every frame bit-exact as in the files', async () => {
    const slide = await openDicomWebSlide(seriesUrl, { client: auth });
    const os = fixture(SOURCE).openslide;
    expect(slide.vendor).toBe('dicom');
    expect(slide.levels).toEqual(local.levels);
    expect(slide.levels.length).toBe(os.levels!.length);
    os.levels!.forEach((l, i) => expect(slide.levels[i]).toMatchObject({ width: l.width, height: l.height, tileWidth: l.tile_width, tileHeight: l.tile_height }));
    expect(slide.mppX).toBe(0.250000012);
    expect(slide.mppY).toBe(0.250000012);
    expect(slide.properties['openslide.mpp-x']).toBe('0.250000012');
    expect(slide.properties['dicom.TransferSyntaxUID']).toBe('1.2.840.10008.1.2.4.50');
    expect(slide.properties['dicom.level[0].frame-index']).toBe('dicomweb');
    // the optical path's ICC profile, bulk data in Orthanc's metadata: fetched, the file's bytes
    expect(slide.iccProfile!.length).toBe(6922);
    expect(Buffer.from(slide.iccProfile!).equals(Buffer.from(local.iccProfile!))).toBe(true);
    expect(slide.properties['dicom.ICCProfile.bytes']).toBe('6922');
    for (const k of ['dicom.SeriesInstanceUID', 'dicom.PhotometricInterpretation', 'dicom.PixelSpacing', 'openslide.level-count']) {
      expect([k, slide.properties[k]]).toEqual([k, local.properties[k]]);
    }
    // every tile of every level: the very bytes of the file's frame (JPEG passed through)
    let tiles = 0;
    for (let level = 0; level < slide.levels.length; level++) {
      const l = slide.levels[level]!;
      const batch: Array<{ level: number; col: number; row: number }> = [];
      for (let row = 0; row < l.rows; row++) for (let col = 0; col < l.cols; col++) batch.push({ level, col, row });
      const [got, want] = await Promise.all([Promise.all(readTiles(slide, batch)), Promise.all(readTiles(local, batch))]);
      got.forEach((t, k) => {
        expect(t.missing).toBe(false);
        expect(t.compression).toBe(want[k]!.compression);
        expect(Buffer.from(t.bytes).equals(Buffer.from(want[k]!.bytes))).toBe(true);
      });
      tiles += got.length;
    }
    expect(tiles).toBe(192 + 48 + 12 + 4 + 1);
    const px = compare(await slide.readTile(0, 3, 4), await tiff.readTile(0, 3, 4), true);
    expect(px.maxDiff).toBe(0);
    await slide.close();
  }, 60_000);

  it('reads regions equal to OpenSlide\'s renders of the source TIFF (PSNR >= 40 dB)', async () => {
    const slide = await openDicomWebSlide(seriesUrl, { client: auth });
    const refs = fixture(SOURCE).openslide.references!.filter((r) => r.call === 'read_region');
    expect(refs.length).toBeGreaterThan(5);
    const psnrs: number[] = [];
    for (const ref of refs) {
      const a = ref.args as { location: [number, number]; level: number; size: [number, number] };
      const got = await slide.readRegion(a.location[0], a.location[1], a.level, a.size[0], a.size[1]);
      const { psnr } = compare(got, await loadPng(WSI_DIR + ref.png), true);
      psnrs.push(psnr);
      expect([ref.name, psnr >= 40]).toEqual([ref.name, true]);
    }
    console.log(`DICOMweb vs OpenSlide renders of ${SOURCE}: PSNR min ${Math.min(...psnrs).toFixed(2)} dB over ${refs.length} regions`);
    await slide.close();
  }, 60_000);

  it('origin requests: open, first tile, later tiles, a batch of tiles in one frames/a,b,c request, a tile again', async () => {
    const slide = await openDicomWebSlide(seriesUrl, { client: auth });
    const src = slide.source as DicomWebFrameSource;
    const open = src.stats().requests;
    const openLog = [...src.requestLog];
    await slide.tile(0, 5, 5);
    const first = src.stats().requests - open;
    await slide.tile(0, 9, 2);
    await slide.tile(1, 3, 3);
    const later = src.stats().requests - open - first;
    const before = src.stats().requests;
    const batch = [0, 1, 2, 3, 4, 5, 6, 7].map((c) => ({ level: 0, col: c, row: 10 }));
    const got = await Promise.all(readTiles(slide, batch));
    const batched = src.stats().requests - before;
    const batchPath = src.requestLog[src.requestLog.length - 1]!;
    const again0 = src.stats().requests;
    await slide.tile(0, 5, 5);
    const again = src.stats().requests - again0;
    console.log(
      `DICOMweb (Orthanc, 5 instances): open ${open} requests (${openLog.map((p) => p.replace(/^.*\/(metadata|frames\/.*|bulk\/.*)$/, '$1')).join(', ')}), ` +
        `first tile ${first}, 2 later tiles ${later}, 8 tiles of a row read together ${batched} (${batchPath.replace(/^.*\//, 'frames/')}), a tile again ${again}`,
    );
    // series metadata (1) + frame 1 of each instance for its stored transfer syntax (5: Orthanc's metadata
    // does not carry it) + the base level's ICC profile (bulk data)
    expect(open).toBe(7);
    expect(openLog[0]).toMatch(/\/metadata$/);
    expect(first).toBe(1);
    expect(later).toBe(2);
    expect(batched).toBe(1);
    expect(batchPath).toMatch(/\/frames\/\d+(,\d+){7}$/);
    expect(got.every((t) => !t.missing && t.bytes.length > 100)).toBe(true);
    expect(again).toBe(0);
    // the IIIF neighbour prefetch: the 8 neighbours of a tile in one background frames request, then free
    const p0 = src.stats().requests;
    expect(prefetchNeighbours(slide, 0, 3, 6)).toBe(8);
    await new Promise((r) => setTimeout(r, 200));
    const prefetched = src.stats().requests - p0;
    await Promise.all([[2, 5], [3, 5], [4, 5], [2, 6], [4, 6], [2, 7], [3, 7], [4, 7]].map(([c, r]) => slide.tile(0, c!, r!)));
    expect([prefetched, src.stats().requests - p0]).toEqual([1, 1]);
    await slide.close();
  }, 60_000);

  it('found by a QIDO-RS instance search and per-instance metadata (origins without series metadata): the same slide', async () => {
    const slide = await openDicomWebSlide(seriesUrl, { client: auth, dicomweb: { metadata: 'instances' } });
    const src = slide.source as DicomWebFrameSource;
    expect(slide.levels).toEqual(local.levels);
    expect(slide.mppX).toBe(local.mppX);
    const log = src.requestLog.map((p) => p.replace(/^.*\/series\/[0-9.]+/, ''));
    console.log(`DICOMweb open by QIDO-RS: ${src.stats().requests} requests (${log.join(', ').replace(/\/instances\/[0-9.]+/g, '/instances/{sop}')})`);
    expect(log[0]).toBe('/instances');
    expect(log.filter((p) => p.endsWith('/metadata'))).toHaveLength(5);
    expect(src.stats().requests).toBe(1 + 5 + 5 + 1); // search, metadata x5, frame 1 x5, ICC profile
    const [a, b] = await Promise.all([slide.tile(2, 1, 2), local.tile(2, 1, 2)]);
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    await slide.close();
  }, 30_000);

  it('the browser entry (fetch) reads the same series: the same levels, frames and pixels', async () => {
    const slide = await openInBrowser(seriesUrl, { client: auth, pixels: await nodePixelReader() });
    expect(slide.levels).toEqual(local.levels);
    const [a, b] = await Promise.all([slide.tile(1, 2, 3), local.tile(1, 2, 3)]);
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    expect(compare(await slide.readRegion(1000, 700, 1, 300, 200), await local.readRegion(1000, 700, 1, 300, 200), true).maxDiff).toBe(0);
    await slide.close();
  }, 30_000);

  it('a series with a native THUMBNAIL instance (boxes): the associated image and the level as from the files', async () => {
    const slide = await openDicomWebSlide(boxesUrl, { client: auth });
    expect(slide.levels).toHaveLength(1);
    expect(slide.associatedImages).toEqual([{ name: 'thumbnail', width: 16, height: 16 }]);
    expect(slide.mppX).toBe(0.499);
    const ref0 = await loadPng(`${DICOM}boxes/reference/boxes_0.png`);
    expect(compare(await slide.readRegion(0, 0, 0, 16, 16), ref0, true).psnr).toBeGreaterThanOrEqual(40);
    const ref1 = await loadPng(`${DICOM}boxes/reference/boxes_1.png`);
    expect(compare(await slide.readAssociated('thumbnail'), ref1, true).maxDiff).toBe(0); // native frames: exact
    await slide.close();
  }, 30_000);

  it('refusals are typed: no credential (401), a wrong one, an unknown series (404), a URL outside the allow list; no credential in messages', async () => {
    await expect(openDicomWebSlide(seriesUrl)).rejects.toMatchObject({ code: 'E_FORBIDDEN' });
    const wrong = openDicomWebSlide(seriesUrl, { client: { headers: { authorization: 'Basic d3Jvbmc6d3Jvbmc=' } } });
    await expect(wrong).rejects.toMatchObject({ code: 'E_FORBIDDEN' });
    await wrong.catch((e: Error) => expect(e.message).not.toContain('d3Jvbmc6d3Jvbmc'));
    await expect(openDicomWebSlide(orthanc.seriesUrl('1.2.3', '4.5.6'), { client: auth })).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
    await expect(openDicomWebSlide(seriesUrl, { client: { ...auth, allow: (u) => u.hostname === 'elsewhere.example' } })).rejects.toMatchObject({ code: 'E_FORBIDDEN' });
    await expect(openDicomWebSlide(`${orthanc.dicomweb}/studies/1.2/series/x`, { client: auth })).rejects.toMatchObject({ code: 'E_BAD_REQUEST' });
  });
});

describe('hostile or odd DICOMweb origins (a real HTTP server on 127.0.0.1 answering what it is told)', () => {
  let server: Server;
  let base: string;
  let frame: Uint8Array;
  let local: Slide;
  const hits = new Map<string, number>();
  const tokens = ['first-token'];
  const bearerSeen: string[] = [];
  const WSI = '1.2.840.10008.5.1.4.1.1.77.1.6';
  const instance = (ts: string | undefined) => ({
    '00080016': { vr: 'UI', Value: [WSI] },
    '00080018': { vr: 'UI', Value: ['1.2.3.4.5'] },
    '0020000E': { vr: 'UI', Value: ['3.4'] },
    '00280002': { vr: 'US', Value: [3] },
    '00280004': { vr: 'CS', Value: ['YBR_FULL_422'] },
    '00280008': { vr: 'IS', Value: [1] },
    '00280010': { vr: 'US', Value: [256] },
    '00280011': { vr: 'US', Value: [256] },
    '00280100': { vr: 'US', Value: [8] },
    '00480006': { vr: 'UL', Value: [256] },
    '00480007': { vr: 'UL', Value: [192] },
    ...(ts ? { '00020010': { vr: 'UI', Value: [ts] } } : {}),
  });
  const multipart = (parts: Array<{ type: string; data: Uint8Array }>): Buffer =>
    Buffer.concat([
      ...parts.flatMap((p) => [Buffer.from(`--BB\r\nContent-Type: ${p.type}\r\nContent-Length: ${p.data.length}\r\n\r\n`), Buffer.from(p.data), Buffer.from('\r\n')]),
      Buffer.from('--BB--\r\n'),
    ]);
  const JPEG = 'image/jpeg; transfer-syntax=1.2.840.10008.1.2.4.50';

  beforeAll(async () => {
    local = await openSlide(SERIES);
    frame = (await local.tile(4, 0, 0)).bytes;
    server = createServer((req, res) => {
      const path = req.url ?? '';
      const kind = path.split('/')[1]!;
      hits.set(kind, (hits.get(kind) ?? 0) + 1);
      const related = (body: Buffer) => {
        res.writeHead(200, { 'content-type': 'multipart/related; type="image/jpeg"; boundary=BB' });
        res.end(body);
      };
      const json = (v: unknown) => {
        res.writeHead(200, { 'content-type': 'application/dicom+json' });
        res.end(JSON.stringify(v));
      };
      if (kind === 'good') return path.endsWith('/metadata') ? json([instance('1.2.840.10008.1.2.4.50')]) : related(multipart([{ type: JPEG, data: frame }]));
      if (kind === 'notjson') return res.end('<html>');
      if (kind === 'object') return json({});
      if (kind === 'empty') return json([]);
      if (kind === 'twoparts') return path.endsWith('/metadata') ? json([instance('1.2.840.10008.1.2.4.50')]) : related(multipart([{ type: JPEG, data: frame }, { type: JPEG, data: frame }]));
      if (kind === 'transcoded') return path.endsWith('/metadata') ? json([instance(undefined)]) : related(multipart([{ type: 'application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1', data: new Uint8Array(16) }]));
      if (kind === 'wrongts') return path.endsWith('/metadata') ? json([instance('1.2.840.10008.1.2.4.50')]) : related(multipart([{ type: 'image/jp2; transfer-syntax=1.2.840.10008.1.2.4.90', data: frame }]));
      if (kind === 'huge') return json([instance('1.2.840.10008.1.2.4.50'), ...new Array(200).fill(instance('1.2.840.10008.1.2.4.50'))]);
      if (kind === 'redirect') {
        res.writeHead(302, { location: 'http://elsewhere.example/x' });
        return res.end();
      }
      if (kind === 'down') {
        res.writeHead(503);
        return res.end();
      }
      if (kind === 'bearer') {
        const ok = req.headers['authorization'] === `Bearer ${tokens[tokens.length - 1]}`;
        bearerSeen.push(req.headers['authorization'] ?? '(none)');
        if (!ok) {
          res.writeHead(401);
          return res.end();
        }
        return path.endsWith('/metadata') ? json([instance('1.2.840.10008.1.2.4.50')]) : related(multipart([{ type: JPEG, data: frame }]));
      }
      if (kind === 'unnamed') return path.endsWith('/metadata') ? json([instance(undefined)]) : related(multipart([{ type: 'application/octet-stream', data: frame }]));
      if (kind === 'opaque') return path.endsWith('/metadata') ? json([instance(undefined)]) : related(multipart([{ type: 'application/octet-stream', data: new Uint8Array(100) }]));
      if (kind === 'badjson') return json([{ '00280010': { vr: 'US', Value: ['x'] } }]);
      res.writeHead(404);
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await local?.close();
    await new Promise((r) => server?.close(r));
  });
  const url = (kind: string) => `${base}/${kind}/studies/1.2/series/3.4`;

  it('a transfer syntax in the metadata: open is 1 request, a tile 1 more, its pixels those of the file', async () => {
    const slide = await openDicomWebSlide(url('good'));
    expect(slide.stats()!.requests).toBe(1);
    expect(slide.levels[0]).toMatchObject({ width: 256, height: 192 });
    const t = await slide.tile(0, 0, 0);
    expect(Buffer.from(t.bytes).equals(Buffer.from(frame))).toBe(true);
    expect(slide.stats()!.requests).toBe(2);
    expect(compare(await slide.readTile(0, 0, 0), await local.readTile(4, 0, 0), true).maxDiff).toBe(0);
    await slide.close();
    // the frame cache is bounded by bytes: one too small for the frame keeps nothing, each read asks again
    const uncached = await openDicomWebSlide(url('good'), { dicomweb: { cacheBytes: 16 } });
    await uncached.tile(0, 0, 0);
    await uncached.tile(0, 0, 0);
    expect(uncached.stats()!.requests).toBe(3);
    await uncached.close();
  });

  it('bearer tokens: a configured header reaches the origin; a signer\'s token refused (401) is renewed once and asked again', async () => {
    const slide = await openDicomWebSlide(url('bearer'), { client: { headers: { authorization: 'Bearer first-token' } } });
    await slide.tile(0, 0, 0);
    expect(bearerSeen).toEqual(['Bearer first-token', 'Bearer first-token']);
    await slide.close();
    bearerSeen.length = 0;
    let issued = 0;
    let invalidated = 0;
    // an OAuth 2.0-style signer: its cached token was revoked at the origin, the fresh one works
    const sign = Object.assign(async (r: { headers: Record<string, string> }) => ({ ...r.headers, authorization: `Bearer ${issued === 0 ? 'stale' : tokens[0]}` }), {
      invalidate: () => {
        invalidated++;
        issued++;
      },
    });
    const signed = await openDicomWebSlide(url('bearer'), { client: { sign } });
    expect(invalidated).toBe(1);
    expect(bearerSeen).toEqual(['Bearer stale', 'Bearer first-token']);
    await signed.close();
    await expect(openDicomWebSlide(url('bearer'), { client: { headers: { authorization: 'Bearer wrong-one' } } })).rejects.toMatchObject({
      code: 'E_FORBIDDEN',
      message: expect.not.stringContaining('wrong-one'),
    });
  });

  it('a frame answer that does not name its transfer syntax: told by the frame\'s bytes (a JPEG stream), else E_ORIGIN', async () => {
    const slide = await openDicomWebSlide(url('unnamed'));
    expect(slide.properties['dicom.TransferSyntaxUID']).toBe('1.2.840.10008.1.2.4.50');
    expect(slide.stats()!.requests).toBe(2); // metadata, frame 1 (kept: the tile costs nothing more)
    expect(compare(await slide.readTile(0, 0, 0), await local.readTile(4, 0, 0), true).maxDiff).toBe(0);
    expect(slide.stats()!.requests).toBe(2);
    await slide.close();
    await expect(openDicomWebSlide(url('opaque'))).rejects.toMatchObject({ code: 'E_ORIGIN', message: expect.stringMatching(/do not tell/) });
  });

  it('bad answers are typed errors', async () => {
    await expect(openDicomWebSlide(url('notjson'))).rejects.toMatchObject({ code: 'E_ORIGIN', message: expect.stringMatching(/not JSON/) });
    await expect(openDicomWebSlide(url('object'))).rejects.toMatchObject({ code: 'E_ORIGIN', message: expect.stringMatching(/not an array/) });
    await expect(openDicomWebSlide(url('empty'))).rejects.toMatchObject({ code: 'E_NOT_A_SLIDE' });
    await expect(openDicomWebSlide(url('badjson'))).rejects.toMatchObject({ code: 'E_ORIGIN', message: expect.stringMatching(/non-number/) });
    await expect(openDicomWebSlide(url('transcoded'))).rejects.toMatchObject({ code: 'E_NOT_A_SLIDE' }); // native 16-byte "frames" of a YBR image
    const two = await openDicomWebSlide(url('twoparts'));
    await expect(two.tile(0, 0, 0)).rejects.toMatchObject({ code: 'E_ORIGIN', message: expect.stringMatching(/2 frames answered for 1 asked|more than 1 parts/) });
    const wrong = await openDicomWebSlide(url('wrongts'));
    await expect(wrong.tile(0, 0, 0)).rejects.toMatchObject({ code: 'E_ORIGIN', message: expect.stringMatching(/transfer syntax 1.2.840.10008.1.2.4.90, not the stored/) });
    await expect(openDicomWebSlide(url('huge'), { dicomweb: { maxMetadataBytes: 4096 } })).rejects.toMatchObject({ code: 'E_TOO_LARGE' });
    await expect(openDicomWebSlide(url('redirect'))).rejects.toMatchObject({ code: 'E_FORBIDDEN', message: expect.stringMatching(/redirect 302 not followed/) });
    await expect(openDicomWebSlide(url('down'), { client: { retries: 2, retryBaseMs: 1 } })).rejects.toMatchObject({ code: 'E_ORIGIN', message: expect.stringMatching(/503 \(3 attempts\)/) });
    expect(hits.get('down')).toBe(3);
  });
});
