// createServerlessHandler in this process (the same code workerd runs), and
// the AWS Lambda function-URL adapter around it, against a real range origin.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KERNELS_WASM_PATH } from '../../src/codecs/kernels-node.js';
import { createServerlessHandler, type ServerlessHandler } from '../../src/serverless/handler.js';
import { functionUrlHandler, type FunctionUrlEvent } from '../../src/serverless/lambda.js';
import { fixturePath } from '../helpers/fixtures.js';
import { startOrigin, type Origin } from '../helpers/origin.js';
import { decodeImage } from '../helpers/pixels.js';

const b64url = (s: string) => Buffer.from(s, 'utf8').toString('base64url');

const event = (path: string, query = '', method = 'GET'): FunctionUrlEvent => ({
  rawPath: path,
  rawQueryString: query,
  headers: { host: 'abc123.lambda-url.eu-west-1.on.aws', accept: '*/*' },
  requestContext: { domainName: 'abc123.lambda-url.eu-west-1.on.aws', http: { method } },
  isBase64Encoded: false,
});

describe('serverless handler (in Node) and the Lambda function-URL adapter', () => {
  let origin: Origin;
  let handler: ServerlessHandler;

  beforeAll(async () => {
    origin = await startOrigin();
    origin.put('/slides/aperio-jpeg.svs', readFileSync(fixturePath('aperio-jpeg.svs')));
    origin.put('/other/aperio-jpeg.svs', readFileSync(fixturePath('aperio-jpeg.svs')));
    handler = createServerlessHandler({
      slides: { s: origin.url('/slides/aperio-jpeg.svs') },
      allow: [origin.url('/slides/')],
      kernels: readFileSync(KERNELS_WASM_PATH),
    });
  });

  afterAll(async () => {
    await (await handler.box()).close();
    await origin.stop();
  });

  it('handler.ts bundles for a Web runtime without the Node server (no registry, pool, fs, worker_threads)', async () => {
    const res = await build({ entryPoints: ['src/serverless/handler.ts'], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent', metafile: true, external: ['node:*'] });
    const inputs = Object.keys(res.metafile!.inputs);
    expect(inputs.some((i) => i.endsWith('server/core.ts'))).toBe(true);
    expect(inputs.some((i) => i.endsWith('server/handlers/iiif.ts'))).toBe(true);
    expect(inputs.filter((i) => /server\/(registry|app|open-spec|stream-host)\.ts|pixels\/pool\.ts|src\/node\/|-node\.ts|handlers\/static\.ts/.test(i))).toEqual([]);
    const ext = Object.values(res.metafile!.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
    expect([...new Set(ext)].sort()).toEqual(['node:crypto', 'node:events']);
  });

  it('a function-URL event for info.json: 200 JSON text, ids on the function URL', async () => {
    const lambda = functionUrlHandler(handler);
    const r = await lambda(event('/iiif/3/s/info.json'));
    expect(r.statusCode).toBe(200);
    expect(r.isBase64Encoded).toBe(false);
    const info = JSON.parse(r.body);
    expect(info.id).toBe('https://abc123.lambda-url.eu-west-1.on.aws/iiif/3/s');
    expect(info.width).toBeGreaterThan(1000);
  });

  it('a tile event: the body base64, the same bytes as the handler answers directly, a real JPEG', async () => {
    const lambda = functionUrlHandler(handler);
    const path = '/iiif/3/s/0,0,512,512/256,/0/default.jpg';
    const r = await lambda(event(path));
    expect(r.statusCode).toBe(200);
    expect(r.isBase64Encoded).toBe(true);
    expect(r.headers['content-type']).toBe('image/jpeg');
    const bytes = Buffer.from(r.body, 'base64');
    const direct = Buffer.from(await (await handler(new Request(`https://x.test${path}`))).arrayBuffer());
    expect(bytes.equals(direct)).toBe(true);
    const img = await decodeImage(bytes);
    expect([img.width, img.height]).toEqual([256, 256]);
  });

  it('errors keep their contract through the adapter: 404, 400, and 400 for an event that is not one', async () => {
    const lambda = functionUrlHandler(handler);
    expect((await lambda(event('/iiif/3/none/info.json'))).statusCode).toBe(404);
    const bad = await lambda(event('/iiif/3/s/0,0/max/0/default.jpg'));
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(bad.body).error.code).toBe('E_BAD_REQUEST');
    const notEvent = await lambda({ rawPath: '/x' } as unknown as FunctionUrlEvent);
    expect(notEvent.statusCode).toBe(400);
  });

  it('ad-hoc ids (base64url of a URL): served under the allow list, 403 outside it', async () => {
    const ok = await handler(new Request(`https://x.test/iiif/3/${b64url(origin.url('/slides/aperio-jpeg.svs'))}/info.json`));
    expect(ok.status).toBe(200);
    const out = await handler(new Request(`https://x.test/iiif/3/${b64url(origin.url('/other/aperio-jpeg.svs'))}/info.json`));
    expect(out.status).toBe(403);
    expect((await out.json()).error.code).toBe('E_FORBIDDEN');
  });

  it('DeepZoom, /slides, /health and /metrics answer; / is 404 (no viewer pages); limits apply', async () => {
    const get = (p: string) => handler(new Request(`https://x.test${p}`));
    const dzi = await get('/dzi/s.dzi');
    expect(dzi.status).toBe(200);
    expect(await dzi.text()).toMatch(/<Image[^>]+TileSize="\d+"/);
    const listing = await (await get('/slides')).json();
    expect(listing.slides.map((e: { id: string }) => e.id)).toEqual(['s']);
    expect((await get('/health')).status).toBe(200);
    const m = await get('/metrics');
    expect(m.status).toBe(200);
    expect(await m.text()).toMatch(/^imagebox_http_requests_total\{route="dzi",status="200"\} 1$/m);
    expect((await get('/')).status).toBe(404);
    const small = createServerlessHandler({ slides: { s: origin.url('/slides/aperio-jpeg.svs') }, kernels: readFileSync(KERNELS_WASM_PATH), limits: { maxWidth: 100, maxHeight: 100, maxArea: 10_000 } });
    const info = await (await small(new Request('https://x.test/iiif/3/s/info.json'))).json();
    expect(info.maxWidth).toBe(100);
    expect((await small(new Request('https://x.test/iiif/3/s/full/200,/0/default.jpg'))).status).toBe(400);
    await (await small.box()).close();
  });

  it('a slide whose bytes change at the origin is dropped and read afresh (no mix of two files)', async () => {
    const o2 = await startOrigin();
    try {
      o2.put('/x.svs', readFileSync(fixturePath('aperio-jpeg.svs')));
      const h = createServerlessHandler({ slides: { x: o2.url('/x.svs') }, kernels: readFileSync(KERNELS_WASM_PATH), spanCacheBytes: 64 * 1024 });
      const first = await (await h(new Request('https://x.test/iiif/3/x/info.json'))).json();
      const other = readFileSync(fixturePath('generic-pyramid-jpeg.tif'));
      o2.put('/x.svs', other);
      // tiles not read yet: their ranges go out with If-Range and meet the new bytes
      const statuses: number[] = [];
      let now = first;
      for (let i = 0; i < 6 && now.width === first.width; i++) {
        statuses.push((await h(new Request(`https://x.test/iiif/3/x/${1024 + i * 256},${512 + i * 128},256,256/256,/0/default.jpg`))).status);
        now = await (await h(new Request('https://x.test/iiif/3/x/info.json'))).json();
      }
      console.log(`serverless change: tile statuses ${statuses.join(',')}, width ${first.width} -> ${now.width}`);
      expect(now.width).not.toBe(first.width);
      expect((await h.box()).context.registry.openCount()).toBe(1);
      await (await h.box()).close();
    } finally {
      await o2.stop();
    }
  });

  it('without an allow list, only configured ids exist', async () => {
    const closed = createServerlessHandler({ slides: { s: origin.url('/slides/aperio-jpeg.svs') }, kernels: readFileSync(KERNELS_WASM_PATH) });
    const r = await closed(new Request(`https://x.test/iiif/3/${b64url(origin.url('/slides/aperio-jpeg.svs'))}/info.json`));
    expect(r.status).toBe(404);
    await (await closed.box()).close();
  });
});
