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

  it('without an allow list, only configured ids exist', async () => {
    const closed = createServerlessHandler({ slides: { s: origin.url('/slides/aperio-jpeg.svs') }, kernels: readFileSync(KERNELS_WASM_PATH) });
    const r = await closed(new Request(`https://x.test/iiif/3/${b64url(origin.url('/slides/aperio-jpeg.svs'))}/info.json`));
    expect(r.status).toBe(404);
    await (await closed.box()).close();
  });
});
