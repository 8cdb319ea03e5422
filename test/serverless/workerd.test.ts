// The Cloudflare Workers bundle (src/serverless/worker.ts, bundled by
// deploy/workerd/build.mjs) in a real workerd process, reading a slide from a
// real range origin on 127.0.0.1, answers as the Node server does.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImagebox, type Imagebox } from '../../src/server/app.js';
import { fetchHandler } from '../../src/server/fetch.js';
import { fixturePath } from '../helpers/fixtures.js';
import { startOrigin, type Origin } from '../helpers/origin.js';
import { compare, decodeImage } from '../helpers/pixels.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WORKERD = join(ROOT, 'node_modules/.bin/workerd');
const BUNDLE = join(ROOT, 'dist/serverless-bundle');

const probe = spawnSync(WORKERD, ['--version'], { encoding: 'utf8' });
const runs = probe.status === 0;
if (!runs && !process.env['CI']) console.warn(`workerd does not run here (${probe.error?.message ?? probe.stderr}): the serverless test is skipped`);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A workerd config (next to the bundle's two modules: embed paths are relative), the slide map as a text binding, outbound fetch allowed to private and local addresses. */
function workerdConfig(port: number, slides: Record<string, string>): string {
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .imagebox),
    # workerd's default outbound network is public addresses only: the range origin here is on 127.0.0.1
    (name = "origins", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const imagebox :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "kernels.wasm", wasm = embed "kernels.wasm"),
  ],
  compatibilityDate = "2025-09-01",
  compatibilityFlags = ["nodejs_compat"],
  bindings = [ (name = "SLIDES", text = ${JSON.stringify(JSON.stringify(slides))}) ],
  globalOutbound = "origins",
);
`;
}

describe.skipIf(!runs && !process.env['CI'])('serverless: the Workers bundle in workerd', () => {
  let origin: Origin; // read by workerd
  let nodeOrigin: Origin; // read by the Node server (its own counters)
  let wd: ChildProcess;
  let base: string;
  let node: Imagebox;
  let nodeFetch: (r: Request) => Promise<Response>;
  let dir: string;
  let stderr = '';

  beforeAll(async () => {
    const svs = readFileSync(fixturePath('aperio-jpeg.svs'));
    origin = await startOrigin();
    origin.put('/slides/aperio-jpeg.svs', svs);
    nodeOrigin = await startOrigin();
    nodeOrigin.put('/slides/aperio-jpeg.svs', svs);
    const b = spawnSync(process.execPath, [join(ROOT, 'deploy/workerd/build.mjs')], { encoding: 'utf8' });
    if (b.status !== 0) throw new Error(`bundle failed: ${b.stderr}`);
    // what the bundle leaves to the platform: the kernels module and two node: modules nodejs_compat provides (no fs, no worker_threads)
    expect(b.stdout).toMatch(/imports \.\/kernels\.wasm, node:crypto, node:events$/m);
    dir = mkdtempSync(join(tmpdir(), 'imagebox-workerd-'));
    const port = await freePort();
    for (const f of ['worker.js', 'kernels.wasm']) copyFileSync(join(BUNDLE, f), join(dir, f));
    writeFileSync(join(dir, 'config.capnp'), workerdConfig(port, { s: origin.url('/slides/aperio-jpeg.svs') }));
    wd = spawn(WORKERD, ['serve', join(dir, 'config.capnp')], { stdio: ['ignore', 'pipe', 'pipe'] });
    wd.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    wd.stdout!.on('data', (d: Buffer) => (stderr += d.toString()));
    base = `http://127.0.0.1:${port}`;
    const until = Date.now() + 30_000;
    for (;;) {
      if (wd.exitCode !== null) throw new Error(`workerd exited ${wd.exitCode}: ${stderr}`);
      const ok = await fetch(`${base}/health`).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > until) throw new Error(`workerd did not answer: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    node = createImagebox({ registry: { config: { slides: { s: { url: nodeOrigin.url('/slides/aperio-jpeg.svs') } } } } });
    nodeFetch = fetchHandler(node);
  }, 60_000);

  afterAll(async () => {
    if (wd && wd.exitCode === null) {
      const exited = new Promise((r) => wd.once('exit', r));
      wd.kill('SIGTERM');
      await exited;
    }
    await node?.close();
    await origin?.stop();
    await nodeOrigin?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const both = async (path: string) => {
    const [w, n] = await Promise.all([fetch(`${base}${path}`), nodeFetch(new Request(`http://node.test${path}`))]);
    return { w, n, wb: new Uint8Array(await w.arrayBuffer()), nb: new Uint8Array(await n.arrayBuffer()) };
  };

  it('info.json: 200, the same size, levels and tiles as the Node server', async () => {
    const { w, n, wb, nb } = await both('/iiif/3/s/info.json');
    expect(w.status, stderr).toBe(200);
    expect(n.status).toBe(200);
    const wi = JSON.parse(new TextDecoder().decode(wb));
    const ni = JSON.parse(new TextDecoder().decode(nb));
    expect(wi.id).toBe(`${base}/iiif/3/s`);
    expect(wi.width).toBe(ni.width);
    expect(wi.height).toBe(ni.height);
    expect(wi.sizes).toEqual(ni.sizes);
    expect(wi.sizes.length).toBeGreaterThan(1);
    expect(wi.tiles).toEqual(ni.tiles);
  });

  it('a stored tile is passed through: the same bytes as the Node server', async () => {
    const info = await (await fetch(`${base}/iiif/3/s/info.json`)).json();
    const t = info.tiles[0].width as number;
    const path = `/iiif/3/s/${t},${t},${t},${t}/${t},/0/default.jpg`;
    const { w, n, wb, nb } = await both(path);
    expect(w.status).toBe(200);
    expect(w.headers.get('content-type')).toBe('image/jpeg');
    expect(w.headers.get('x-tile-path')).toBe('passthrough');
    expect(n.headers.get('x-tile-path')).toBe('passthrough');
    expect(wb.length).toBeGreaterThan(1000);
    expect(Buffer.from(wb).equals(Buffer.from(nb))).toBe(true);
    // asked again: from the isolate's response cache, no origin request
    const before = origin.requests;
    const again = await fetch(`${base}${path}`);
    expect(again.headers.get('x-tile-path')).toBe('cache');
    expect(Buffer.from(await again.arrayBuffer()).equals(Buffer.from(wb))).toBe(true);
    expect(origin.requests).toBe(before);
  });

  it('a transcoded region (JPEG, and rotated grey PNG) matches the Node server at >= 40 dB', async () => {
    for (const path of ['/iiif/3/s/200,150,1400,900/350,/0/default.jpg', '/iiif/3/s/full/300,/90/gray.png']) {
      const { w, n, wb, nb } = await both(path);
      expect(w.status, `${path}: ${new TextDecoder().decode(wb.slice(0, 300))} ${stderr}`).toBe(200);
      expect(n.status).toBe(200);
      expect(w.headers.get('x-tile-path')).toBe('transcode');
      const a = await decodeImage(wb);
      const b = await decodeImage(nb);
      expect([a.width, a.height]).toEqual([b.width, b.height]);
      const c = compare(a, b, false);
      console.log(`serverless ${path}: ${a.width}x${a.height}, ${wb.length} B (node ${nb.length} B), PSNR ${c.psnr.toFixed(1)} dB, max diff ${c.maxDiff}`);
      expect(c.psnr).toBeGreaterThanOrEqual(40);
    }
  });

  it('concurrent requests (sharing the isolate\'s open slide, span cache and single flight) all answer, as the Node server does', async () => {
    const info = await (await fetch(`${base}/iiif/3/s/info.json`)).json();
    const t = info.tiles[0].width as number;
    const paths = Array.from({ length: 8 }, (_, i) => `/iiif/3/s/${(i % 4) * t},${Math.floor(i / 4) * t},${t},${t}/${t / 2},/0/default.jpg`);
    const answers = await Promise.all(paths.map((p) => fetch(`${base}${p}`).then(async (r) => ({ status: r.status, bytes: Buffer.from(await r.arrayBuffer()) }))));
    for (const [i, a] of answers.entries()) {
      expect(a.status, `${paths[i]}: ${a.bytes.subarray(0, 200).toString()} ${stderr}`).toBe(200);
      const n = Buffer.from(await (await nodeFetch(new Request(`http://node.test${paths[i]}`))).arrayBuffer());
      expect(a.bytes.equals(n), paths[i]).toBe(true);
    }
    expect(stderr).not.toMatch(/Cannot perform I\/O on behalf of a different request/);
  });

  it('an unknown id is 404, bad IIIF syntax is 400, both with the error contract', async () => {
    const a = await fetch(`${base}/iiif/3/nope/info.json`);
    expect(a.status).toBe(404);
    expect((await a.json()).error.code).toBe('E_NOT_FOUND');
    const b = await fetch(`${base}/iiif/3/s/0,0,10/max/0/default.jpg`);
    expect(b.status).toBe(400);
    expect((await b.json()).error.code).toBe('E_BAD_REQUEST');
    const c = await fetch(`${base}/iiif/3/s/full/max/0/default.tiff`);
    expect(c.status).toBe(400);
  });

  it('a DeepZoom descriptor and tile equal the Node server\'s', async () => {
    const d = await both('/dzi/s.dzi');
    expect(d.w.status).toBe(200);
    expect(new TextDecoder().decode(d.wb)).toBe(new TextDecoder().decode(d.nb));
    const t = await both('/dzi/s_files/10/1_1.jpeg');
    expect(t.w.status).toBe(200);
    expect(Buffer.from(t.wb).equals(Buffer.from(t.nb))).toBe(true);
  });

  it('the origin saw a bounded number of range requests', () => {
    console.log(`serverless: workerd wrote ${stderr.length} B to stdout/stderr${stderr ? `: ${stderr.slice(0, 500)}` : ''}`);
    console.log(`serverless: the origin saw ${origin.requests} requests (the Node server's origin ${nodeOrigin.requests})`);
    expect(origin.requests).toBeGreaterThan(0);
    expect(origin.requests).toBeLessThanOrEqual(40);
  });
});
