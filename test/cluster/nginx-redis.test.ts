// Many nodes (issue 13, item 3): three `imagebox serve` processes (the built
// CLI) behind Debian's nginx with `hash $slide consistent` (docs/deployment.md's
// configuration), sharing Debian's redis-server as their second cache level,
// in front of one counting range origin. A slide's requests stay on one node;
// that node is killed (SIGKILL) while clients load tiles; nginx moves the
// slide to another node, no request fails but those in flight, every tile is
// still served with the same bytes, and the slide's re-open there costs the
// origin one validating request (its structure and its blocks come from Redis).
// A viewer in chromium streaming the slide through nginx reconnects on its own.
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterNginxConf } from '../../bench/lib/nginx.mjs';
import { haveChromium, launchChromium } from '../helpers/chromium.js';
import { freePort, haveNginx, startNginx, type Nginx } from '../helpers/nginx.js';
import { startOrigin, type Origin } from '../helpers/origin.js';
import { startServeProcess } from '../helpers/serve-process.js';
import { haveRedis, startRedis, type RedisServer } from '../helpers/redis.js';
import { FIXTURES, psnr } from '../server/helpers.js';
import { iiifView, newPage, openViewer, settle, snapshot, type PageViewer } from '../web/helpers.js';


interface Node {
  port: number;
  child: ChildProcess;
  dir: string;
}

async function startNode(config: string, redisUrl: string): Promise<Node> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'imagebox-node-'));
  // each node its own disk: what it knows of a slide another node opened comes from Redis
  const { child, out } = await startServeProcess(['--host', '127.0.0.1', '--port', String(port), '--config', config, '--shared-cache', redisUrl, '--open-cache', dir, '--threads', '1', '--workers', '1', '--drain-seconds', '0']);
  expect(out).toContain(`shared cache redis://127.0.0.1:`);
  return { port, child, dir };
}

async function metric(port: number, series: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

const sha = (b: ArrayBuffer): string => createHash('sha256').update(new Uint8Array(b)).digest('hex');

describe.skipIf(!haveNginx || !haveRedis)('three nodes behind nginx (hash $slide consistent) sharing Redis', () => {
  let origin: Origin;
  let redis: RedisServer;
  let nginx: Nginx;
  let nodes: Node[] = [];
  let cfgDir: string;
  const SLIDES = { 'a.svs': 'aperio-jpeg.svs', 'b.tif': 'generic-pyramid-jpeg.tif', 'c.tif': 'generic-pyramid-bigtiff.tif' } as const;
  /** Every tile of two whole levels of each slide (whole levels: the neighbours a node prefetches are in the set too). */
  const tiles = new Map<string, string[]>();

  beforeAll(async () => {
    origin = await startOrigin();
    const slides: Record<string, { url: string }> = {};
    for (const [id, file] of Object.entries(SLIDES)) {
      origin.put(`/wsi/${id}`, new Uint8Array(readFileSync(join(FIXTURES, file))));
      slides[id] = { url: origin.url(`/wsi/${id}`) };
    }
    cfgDir = mkdtempSync(join(tmpdir(), 'imagebox-cluster-'));
    writeFileSync(join(cfgDir, 'slides.json'), JSON.stringify({ slides }));
    redis = await startRedis(64);
    nodes = await Promise.all([0, 1, 2].map(() => startNode(join(cfgDir, 'slides.json'), redis.url)));
    nginx = await startNginx((port) => clusterNginxConf(port, nodes.map((n) => n.port)));
  }, 60_000);
  afterAll(async () => {
    await nginx?.stop();
    for (const n of nodes) {
      n.child.kill('SIGKILL');
      rmSync(n.dir, { recursive: true, force: true });
    }
    await redis?.stop();
    await origin?.stop();
    if (cfgDir) rmSync(cfgDir, { recursive: true, force: true });
  });

  const holderOf = async (): Promise<Node[]> => {
    const open = await Promise.all(nodes.map(async (n) => (n.child.exitCode === null && n.child.signalCode === null ? await metric(n.port, 'imagebox_open_slides') : 0)));
    return nodes.filter((_, i) => open[i]! > 0);
  };

  it('a slide stays on one node; killed under load, nginx moves it, every tile is served and its re-open costs one request', async () => {
    // 1. cold: info.json and every tile of two levels of each slide, through nginx
    const bytes = new Map<string, string>();
    let holderA: Node | undefined;
    for (const id of Object.keys(SLIDES)) {
      const r = await fetch(`${nginx.url}/iiif/3/${id}/info.json`);
      expect(r.status).toBe(200);
      const info = (await r.json()) as { width: number; height: number; tiles: { width: number; scaleFactors: number[] }[] };
      if (id === 'a.svs') {
        const held = await holderOf();
        expect(held).toHaveLength(1);
        holderA = held[0];
      }
      const t = info.tiles[0]!;
      const list: string[] = [];
      for (const sf of t.scaleFactors.slice(-2)) {
        const step = t.width * sf;
        for (let y = 0; y < info.height; y += step)
          for (let x = 0; x < info.width; x += step) {
            const w = Math.min(step, info.width - x);
            const h = Math.min(step, info.height - y);
            list.push(`/iiif/3/${id}/${x},${y},${w},${h}/${Math.ceil(w / sf)},${Math.ceil(h / sf)}/0/default.jpg`);
          }
      }
      tiles.set(id, list);
      for (const path of list) {
        const tr = await fetch(nginx.url + path);
        expect(tr.status, path).toBe(200);
        bytes.set(path, sha(await tr.arrayBuffer()));
      }
      // the same slide again: the same node (its answer cache), nothing new at the origin
      const before = origin.log.filter((l) => l.path === `/wsi/${id}`).length;
      expect((await fetch(nginx.url + list[0]!)).status).toBe(200);
      expect(origin.log.filter((l) => l.path === `/wsi/${id}`).length).toBe(before);
    }
    expect(holderA).toBeDefined();
    const a = holderA!;
    const all = [...tiles.values()].flat();
    console.log(`cluster: ${all.length} tiles of 3 slides over 3 nodes, cold: ${origin.requests} origin requests`);
    // the blocks went to Redis
    expect(await metric(a.port, 'imagebox_shared_cache_total{level="redis",result="set"}')).toBeGreaterThan(0);

    // 2. clients load tiles of the other slides; the node holding a.svs is killed meanwhile
    const others = [...tiles.entries()].filter(([id]) => id !== 'a.svs').flatMap(([, l]) => l);
    const logAtKill = { n: -1 };
    let stop = false;
    let ok = 0;
    const failures: string[] = [];
    const client = async (seed: number): Promise<void> => {
      for (let i = seed; !stop; i += 7) {
        const path = others[i % others.length]!;
        try {
          const r = await fetch(nginx.url + path);
          const body = await r.arrayBuffer();
          if (r.status !== 200) failures.push(`${r.status} ${path}`);
          else if (sha(body) !== bytes.get(path)) failures.push(`other bytes ${path}`);
          else ok++;
        } catch (e) {
          failures.push(`${(e as Error).message} ${path}`);
        }
      }
    };
    const CLIENTS = 4;
    const running = Array.from({ length: CLIENTS }, (_, i) => client(i));
    await new Promise((r) => setTimeout(r, 300));
    logAtKill.n = origin.log.length;
    a.child.kill('SIGKILL');
    await new Promise((r) => a.child.once('exit', r));
    await new Promise((r) => setTimeout(r, 1500));
    stop = true;
    await Promise.all(running);
    console.log(`cluster: ${ok} tiles served while a node died, ${failures.length} failed${failures.length ? ': ' + failures.slice(0, 4).join('; ') : ''}`);
    // a request in flight on the killed node may fail (nginx retries what it can); nothing else
    expect(failures.length).toBeLessThanOrEqual(CLIENTS);
    expect(ok).toBeGreaterThan(50);

    // 3. a.svs on the node nginx moved it to: its open costs one validating request (the
    //    structure this node never read comes from Redis), then every tile, the same bytes
    const aLog = () => origin.log.slice(logAtKill.n).filter((l) => l.path === '/wsi/a.svs');
    expect(aLog()).toHaveLength(0);
    const info = await fetch(`${nginx.url}/iiif/3/a.svs/info.json`);
    expect(info.status).toBe(200);
    expect(((await info.json()) as { width: number }).width).toBe(8000);
    const reopen = aLog();
    console.log(`cluster: a.svs re-opened on another node with ${reopen.length} origin request(s): ${reopen.map((l) => l.range ?? 'whole').join(', ')}`);
    expect(reopen).toHaveLength(1);
    for (const path of all) {
      const r = await fetch(nginx.url + path);
      expect(r.status, path).toBe(200);
      expect(sha(await r.arrayBuffer()), path).toBe(bytes.get(path));
    }
    const coldA = origin.log.slice(0, logAtKill.n).filter((l) => l.path === '/wsi/a.svs').length;
    const warmA = aLog().length;
    console.log(`cluster: a.svs's ${tiles.get('a.svs')!.length} tiles on the new node: ${warmA} origin requests in all (cold, on the first node: ${coldA}); the pixel worker's own open is one of them`);
    expect(warmA).toBeLessThan(coldA);
    const living = nodes.filter((n) => n !== a);
    const hits = await Promise.all(living.map((n) => metric(n.port, 'imagebox_shared_cache_total{level="redis",result="hit"}')));
    expect(hits.reduce((x, y) => x + y, 0)).toBeGreaterThan(0);
    expect((await fetch(`${nginx.url}/health`)).status).toBe(200);
  }, 120_000);

  it.skipIf(!haveChromium)('a viewer streaming through nginx reconnects to another node when its node dies', async () => {
    const living = nodes.filter((n) => n.child.exitCode === null && n.child.signalCode === null);
    expect(living.length).toBeGreaterThanOrEqual(2);
    const browser = await launchChromium();
    try {
      const { page } = await newPage(browser, 640, 480);
      await openViewer(page, `${nginx.url}/view/b.tif`);
      const mode = () => page.evaluate(() => (window as unknown as { imagebox: { viewer: PageViewer } }).imagebox.viewer.mode);
      expect(await mode()).toBe('stream');
      await settle(page, { x: 1000, y: 1000, zoom: 0.25 });
      // the stream's ?slide= hint put it on b.tif's node: the one whose streams are open
      const streams = await Promise.all(living.map((n) => metric(n.port, 'imagebox_stream_connections')));
      const at = living[streams.findIndex((c) => c > 0)];
      expect(at, `stream connections per node: ${streams.join(', ')}`).toBeDefined();
      at!.child.kill('SIGKILL');
      await page.waitForFunction(() => (window as unknown as { imagebox: { viewer: PageViewer } }).imagebox.viewer.mode !== 'stream', undefined, { timeout: 10_000 });
      await page.waitForFunction(() => (window as unknown as { imagebox: { viewer: PageViewer } }).imagebox.viewer.mode === 'stream', undefined, { timeout: 20_000 });
      // a view it had not drawn before, drawn by the new node's stream
      const v = { x: 2500, y: 2000, zoom: 0.5 };
      await settle(page, v);
      const shot = await snapshot(page);
      const p = psnr(shot.data, await iiifView(nginx.url, 'b.tif', v, 640, 480));
      console.log(`cluster: viewer reconnected through nginx; PSNR ${p.toFixed(1)} dB against /iiif/3 after the node died`);
      expect(p).toBeGreaterThanOrEqual(30);
    } finally {
      await browser.close();
    }
  }, 90_000);
});
