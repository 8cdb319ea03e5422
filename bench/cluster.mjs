#!/usr/bin/env node
// Many nodes (issue 13, items 3 and 5): 1, 2 and 3 `imagebox serve` processes
// (the built CLI, --threads 1 --workers 1, each its own empty --open-cache dir)
// behind Debian's nginx with `hash $slide consistent` (the configuration of
// docs/deployment.md and test/cluster/nginx-redis.test.ts), sharing Debian's
// redis-server as their second cache level (--shared-cache), in front of one
// counting range origin (bench/lib/origin.mjs). The slides: SLIDES distinct URLs
// on the origin (links to the same file: distinct URLs are distinct slides, so
// the hash spreads them over the nodes). Measured, per node count:
//   - tiles/s, p50, p99 of random level-0 tiles (IIIF, as stored; closed loop,
//     --clients keep-alive clients, each tile of a random slide) through nginx,
//     after a warm-up run; a fresh cluster (nodes, Redis, nginx) per
//     configuration and round; median round by tiles/s;
//   - per node, over the measured run: requests served, Redis hits / misses
//     (imagebox_shared_cache_total{level="redis"}), answer cache hits / misses
//     (imagebox_cache_hits_total / _misses_total); the origin's requests;
// and once, the re-open cost: a slide opened on node A, then a fresh node B (empty
// --open-cache dir; both processes first warmed on another slide) opens it: origin
// requests and time of its info.json with --shared-cache (A and B share Redis) and
// without (B opens cold); and a node SIGKILLed under load (the most nodes asked):
// failed requests, the survivors' Redis hits and the origin requests the move costs,
// with and without --shared-cache.
// Everything (nodes, nginx, Redis, the origin, the load generator) runs on this
// machine and shares its cores: on a 2-core machine this shows the cost of the
// extra hops, not scaling.
//
//   npm run build && node bench/cluster.mjs [--slide test/fixtures/wsi/aperio-jpeg.svs] [--slides 6]
//       [--clients 8] [--rounds 3] [--seconds 15] [--delay-ms 0] [--smoke]
//
// --smoke: 1 and 2 nodes, 2 slides, 2 clients x 10 tiles, one round (CI: bench/smoke.mjs).
// Needs /usr/sbin/nginx and /usr/bin/redis-server: without them it says so and
// exits 0 (unless CI is set: then it fails).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DATA, SMOKE_SLIDE, startRemote } from './harness.mjs';
import { httpLoad, randomTiles } from './lib/load.mjs';
import { NGINX, clusterNginxConf, haveNginx, startNginxWith } from './lib/nginx.mjs';
import { REDIS, haveRedis, startRedis as startRedis0 } from './lib/redis.mjs';
import { tileIndex } from './lib/tile-index.mjs';
import { freePort, rng, stopper } from './lib/util.mjs';

const { values: opt } = parseArgs({
  options: {
    slide: { type: 'string' },
    slides: { type: 'string' },
    nodes: { type: 'string' },
    clients: { type: 'string' },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    'delay-ms': { type: 'string', default: '0' },
    seed: { type: 'string', default: '1' },
    smoke: { type: 'boolean', default: false },
  },
});
const smoke = opt.smoke;
const missing = [!haveNginx() && NGINX, !haveRedis() && REDIS].filter(Boolean);
if (missing.length) {
  console.log(`cluster: skipped: no ${missing.join(', ')} (apt-get install nginx-light redis-server)`);
  process.exit(process.env.CI ? 1 : 0);
}
const svs = path.resolve(opt.slide ?? (smoke ? SMOKE_SLIDE : existsSync('.bench-data/generated.svs') ? '.bench-data/generated.svs' : SMOKE_SLIDE));
const SLIDES = Number(opt.slides ?? (smoke ? 2 : 6));
const NODE_COUNTS = (opt.nodes ?? (smoke ? '1,2' : '1,2,3')).split(',').map(Number);
const CLIENTS = Number(opt.clients ?? (smoke ? 2 : 8));
const ROUNDS = Number(opt.rounds ?? (smoke ? 1 : 3));
const SECONDS = Number(opt.seconds ?? 15);
const DELAY = Number(opt['delay-ms']);
const SEED = Number(opt.seed);
if (!existsSync(svs)) {
  console.error(`no slide ${svs}: --slide PATH`);
  process.exit(2);
}
if (!existsSync('dist/cli.js')) {
  console.error('no dist/cli.js: npm run build');
  process.exit(2);
}
const CORES = os.cpus().length;

// the origin's files: SLIDES links to the one slide, distinct names (distinct URLs, distinct slides)
const ext = path.extname(svs);
const root = `${DATA}/run/cluster-origin`;
rmSync(root, { recursive: true, force: true });
mkdirSync(root, { recursive: true });
const ids = Array.from({ length: SLIDES }, (_, i) => `s${i}${ext}`);
for (const id of ids) symlinkSync(svs, path.join(root, id));
const origin = await startRemote(root, DELAY);
const config = `${DATA}/results/cluster-config.json`;
writeFileSync(config, JSON.stringify({ slides: Object.fromEntries(ids.map((id) => [id, { url: `${origin.base}/${id}` }])) }));

const index = await tileIndex(svs, { levels: [0] });
const L0 = index.levels[0];
const T = L0.tileWidth;
/** Per client, `requests` tasks [slide, col, row]: seeded random stored level-0 tiles of seeded random slides. */
const tilesFor = (requests, seed) => {
  const pick = rng(seed * 31 + 7);
  return randomTiles({
    cols: Math.floor(L0.width / T),
    rows: Math.floor(L0.height / T),
    width: L0.width,
    height: L0.height,
    tile: T,
    clients: CLIENTS,
    requests,
    seed,
    accept: (c, r) => index.range(0, c, r) !== undefined,
  }).map((plan) => plan.map(([c, r]) => [ids[Math.floor(pick() * ids.length)], c, r]));
};
const tileUrl = (base) => ([id, c, r]) => `${base}/iiif/3/${id}/${c * T},${r * T},${T},${T}/${T},/0/default.jpg`;

const children = new Set();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

const startRedis = () => startRedis0({ dataDir: DATA, name: 'cluster-redis', onChild: (c) => children.add(c) });

/** One node: `imagebox serve` as the cluster test starts it (its own empty --open-cache dir). */
async function startNode(redisUrl) {
  const port = await freePort();
  const dir = `${DATA}/run/cluster-node-${port}`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const args = ['dist/cli.js', 'serve', '--host', '127.0.0.1', '--port', String(port), '--config', config, ...(redisUrl ? ['--shared-cache', redisUrl] : []), '--open-cache', dir, '--threads', '1', '--workers', '1', '--drain-seconds', '0'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] }); // its stderr: start/stop chatter
  children.add(child);
  let out = '';
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('listening on')) resolve();
    });
    child.once('exit', (c) => reject(new Error(`serve exited ${c}: ${args.join(' ')}`)));
  });
  child.stdout.resume();
  if (redisUrl && !out.includes('shared cache redis://')) throw new Error(`serve did not say it uses the shared cache: ${out}`);
  const stop = stopper(child);
  return { port, base: `http://127.0.0.1:${port}`, pid: child.pid, stop: async () => (await stop(), rmSync(dir, { recursive: true, force: true })) };
}

/** nginx in front of the nodes: the cluster configuration the cluster test runs (bench/lib/nginx.mjs clusterNginxConf). */
async function startClusterNginx(nodes) {
  const n = await startNginxWith((p) => clusterNginxConf(p, nodes.map((x) => x.port)), { dataDir: DATA, name: 'cluster-nginx', readyPath: '/health' });
  children.add(n.child);
  return { base: n.base, pid: n.pid, stop: async () => (await n.stop(), rmSync(n.run, { recursive: true, force: true })) };
}

/** The sum of a /metrics series' lines (every label set when `series` has none). */
async function metrics(node) {
  const text = await (await fetch(`${node.base}/metrics`)).text();
  const sum = (series) =>
    text
      .split('\n')
      .filter((l) => l.startsWith(series + ' ') || (!series.includes('{') && l.startsWith(series + '{')))
      .reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  return {
    requests: sum('imagebox_http_requests_total'),
    redisHit: sum('imagebox_shared_cache_total{level="redis",result="hit"}'),
    redisMiss: sum('imagebox_shared_cache_total{level="redis",result="miss"}'),
    redisSet: sum('imagebox_shared_cache_total{level="redis",result="set"}'),
    cacheHit: sum('imagebox_cache_hits_total'),
    cacheMiss: sum('imagebox_cache_misses_total'),
    openSlides: sum('imagebox_open_slides'),
  };
}
const diff = (a, b) => Object.fromEntries(Object.keys(b).map((k) => [k, k === 'openSlides' ? b[k] : b[k] - a[k]]));
const rate = (hit, miss) => (hit + miss ? +(hit / (hit + miss)).toFixed(3) : null);

let failed = 0;
async function load(tiles, url) {
  const r = await httpLoad(tiles, { url });
  if (r.errors) {
    failed += r.errors;
    console.error(`${r.errors} failed requests: ${JSON.stringify(r.errorSamples.slice(0, 2))}`);
  }
  return r;
}

async function cluster(n, shared = true) {
  const redis = shared ? await startRedis() : undefined;
  const nodes = [];
  for (let i = 0; i < n; i++) nodes.push(await startNode(redis?.url));
  const nginx = await startClusterNginx(nodes);
  return {
    redis,
    nodes,
    nginx,
    async stop() {
      await nginx.stop();
      for (const node of nodes) await node.stop();
      await redis?.stop();
    },
  };
}

console.log(`cluster: ${SLIDES} slides (${path.basename(svs)} ${L0.width}x${L0.height}, tiles ${T}x${T}) on ${origin.kind}; ${CLIENTS} clients; nodes ${NODE_COUNTS.join(', ')}; ${CORES} cores shared by the nodes, nginx, Redis, the origin and the load generator`);
const results = [];
for (let round = 0; round < ROUNDS; round++) {
  for (const n of NODE_COUNTS) {
    const c = await cluster(n);
    try {
      const seed = SEED * 7919 + round * 101;
      // open every slide through nginx, then a warm-up run (tiles of its own seed)
      for (const id of ids) {
        const r = await fetch(`${c.nginx.base}/iiif/3/${id}/info.json`);
        if (r.status !== 200) throw new Error(`${id} info.json through nginx: ${r.status}`);
        await r.arrayBuffer();
      }
      let requests = smoke ? 10 : 100;
      const warm = await load(tilesFor(requests, seed + 1_000_000), tileUrl(c.nginx.base));
      if (!smoke) requests = Math.max(50, Math.round((warm.tilesPerSec * SECONDS) / CLIENTS));
      const before = await Promise.all(c.nodes.map(metrics));
      await origin.reset();
      const r = await load(tilesFor(requests, seed), tileUrl(c.nginx.base));
      const o = await origin.stats();
      const per = (await Promise.all(c.nodes.map(metrics))).map((m, i) => diff(before[i], m));
      const row = {
        nodes: n,
        round,
        count: r.count,
        durationS: +r.durationS.toFixed(2),
        tilesPerSec: Math.round(r.tilesPerSec),
        p50: r.latencyMs.p50,
        p99: r.latencyMs.p99,
        originRequests: o.requests,
        perNode: per.map((m) => ({ ...m, redisHitRate: rate(m.redisHit, m.redisMiss), cacheHitRate: rate(m.cacheHit, m.cacheMiss) })),
      };
      results.push(row);
      console.log(JSON.stringify(row));
    } finally {
      await c.stop();
    }
  }
}

// the re-open cost: a slide opened on node A; a fresh node B (empty --open-cache) opens it
async function reopen(shared) {
  const redis = shared ? await startRedis() : undefined;
  const a = await startNode(redis?.url);
  const b = await startNode(redis?.url);
  try {
    const id = ids[0];
    // both processes warm (JIT, pools, connections) on another slide first, so the times are the open's
    if (ids.length > 1) {
      for (const node of [a, b]) {
        const r = await fetch(`${node.base}/iiif/3/${ids[1]}/info.json`);
        if (r.status !== 200) throw new Error(`warm-up info.json: ${r.status}`);
        await r.arrayBuffer();
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    await origin.reset();
    let t0 = performance.now();
    const ra = await fetch(`${a.base}/iiif/3/${id}/info.json`);
    if (ra.status !== 200) throw new Error(`node A info.json: ${ra.status}`);
    await ra.arrayBuffer();
    const onA = { ms: +(performance.now() - t0).toFixed(1), originRequests: (await origin.stats()).requests };
    await new Promise((r) => setTimeout(r, 300)); // A's writes to Redis are not awaited by its answer
    await origin.reset();
    const bBefore = await metrics(b);
    t0 = performance.now();
    const rb = await fetch(`${b.base}/iiif/3/${id}/info.json`);
    if (rb.status !== 200) throw new Error(`node B info.json: ${rb.status}`);
    await rb.arrayBuffer();
    const ms = +(performance.now() - t0).toFixed(1);
    const s = await origin.stats();
    const mb = diff(bBefore, await metrics(b));
    return { sharedCache: shared, nodeA: onA, nodeB: { ms, originRequests: s.requests, originBytes: s.bytes, redisHit: mb.redisHit, redisMiss: mb.redisMiss } };
  } finally {
    await a.stop();
    await b.stop();
    await redis?.stop();
  }
}
// a node dies under load: the warm-up's tiles replayed through nginx, the node holding
// the most slides SIGKILLed when a quarter of them have been asked; its slides move
// to the next node on the ring, which re-opens them and reads their blocks from
// Redis (--shared-cache) or from the origin (without)
async function failover(shared) {
  const n = Math.max(...NODE_COUNTS);
  const c = await cluster(n, shared);
  try {
    for (const id of ids) {
      const r = await fetch(`${c.nginx.base}/iiif/3/${id}/info.json`);
      if (r.status !== 200) throw new Error(`${id} info.json through nginx: ${r.status}`);
      await r.arrayBuffer();
    }
    const plan = tilesFor(smoke ? 20 : Math.max(100, Math.round(SECONDS * 40)), SEED * 7919 + 555);
    const warm = await load(plan, tileUrl(c.nginx.base));
    await new Promise((r) => setTimeout(r, 300)); // the nodes' writes to Redis are not awaited by their answers
    const before = await Promise.all(c.nodes.map(metrics));
    const vi = before.reduce((best, m, i) => (m.openSlides > before[best].openSlides ? i : best), 0);
    const victim = c.nodes[vi];
    const total = plan.reduce((a, p) => a + p.length, 0);
    let asked = 0;
    let killedAt;
    const url = tileUrl(c.nginx.base);
    await origin.reset();
    const r = await httpLoad(plan, {
      url: (task) => {
        if (++asked === Math.ceil(total / 4) + 1) {
          process.kill(victim.pid, 'SIGKILL');
          killedAt = asked - 1;
        }
        return url(task);
      },
    });
    const o = await origin.stats();
    const after = await Promise.all(c.nodes.map((node, i) => (i === vi ? undefined : metrics(node))));
    const survivors = after.map((m, i) => m && diff(before[i], m)).filter(Boolean);
    const tot = (k) => survivors.reduce((a, x) => a + x[k], 0);
    // requests in flight on the victim when it died are the only ones that may fail (one per client at most)
    if (r.errors > CLIENTS) failed += r.errors;
    const row = {
      sharedCache: shared,
      nodes: n,
      slidesMoved: before[vi].openSlides,
      tiles: r.count,
      killedAfter: killedAt,
      errors: r.errors,
      errorSamples: r.errorSamples.slice(0, 2),
      tilesPerSec: Math.round(r.tilesPerSec),
      warmTilesPerSec: Math.round(warm.tilesPerSec),
      p99: r.latencyMs.p99,
      max: r.latencyMs.max,
      survivorsRedis: `${tot('redisHit')}/${tot('redisHit') + tot('redisMiss')}`,
      survivorsCacheHitRate: rate(tot('cacheHit'), tot('cacheMiss')),
      originRequests: o.requests,
      originBytes: o.bytes,
    };
    console.log(JSON.stringify(row));
    return row;
  } finally {
    await c.stop();
  }
}
const failovers = [];
if (Math.max(...NODE_COUNTS) >= 2) for (const shared of [true, false]) failovers.push(await failover(shared));

const reopens = [];
for (const shared of [true, false]) {
  const rr = [];
  for (let i = 0; i < (smoke ? 1 : 3); i++) rr.push(await reopen(shared));
  const m = [...rr].sort((x, y) => x.nodeB.ms - y.nodeB.ms)[Math.floor((rr.length - 1) / 2)];
  reopens.push({ ...m, roundsMs: rr.map((x) => x.nodeB.ms) });
  console.log(JSON.stringify(m));
}
await origin.stop();

const median = (rows) => [...rows].sort((a, b) => a.tilesPerSec - b.tilesPerSec)[Math.floor((rows.length - 1) / 2)];
const one = median(results.filter((r) => r.nodes === NODE_COUNTS[0]));
const table = NODE_COUNTS.map((n) => {
  const rows = results.filter((r) => r.nodes === n);
  const m = median(rows);
  const tot = (k) => m.perNode.reduce((a, x) => a + x[k], 0);
  return {
    nodes: n,
    tilesPerSec: m.tilesPerSec,
    tilesPerSecPerNode: Math.round(m.tilesPerSec / n),
    tilesPerSecPerCore: Math.round(m.tilesPerSec / CORES),
    scaling: +(m.tilesPerSec / one.tilesPerSec).toFixed(2),
    p50: m.p50,
    p99: m.p99,
    requestsPerNode: m.perNode.map((x) => x.requests),
    slidesPerNode: m.perNode.map((x) => x.openSlides),
    cacheHitRate: rate(tot('cacheHit'), tot('cacheMiss')),
    redis: `${tot('redisHit')}/${tot('redisHit') + tot('redisMiss')}`,
    originRequests: m.originRequests,
    rounds: rows.map((x) => x.tilesPerSec),
  };
});
console.log(`\nimagebox cluster behind nginx (hash $slide consistent) + Redis; ${SLIDES} slides (${path.basename(svs)} ${L0.width}x${L0.height}), random level-0 ${T}x${T} tiles; ${CLIENTS} clients, closed loop, keep-alive; median of ${ROUNDS} round(s)`);
console.log(`NOTE: this machine has ${CORES} cores; the nodes, nginx, Redis, the origin and the load generator all share them: CPU-bound, so more nodes cannot add tiles/s here.`);
console.log('| nodes | tiles/s | tiles/s per node | tiles/s per core | vs 1 node | p50 ms | p99 ms | requests per node | slides per node | answer cache hit rate | Redis hits/lookups | origin requests | rounds (tiles/s) |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of table) console.log(`| ${r.nodes} | ${r.tilesPerSec} | ${r.tilesPerSecPerNode} | ${r.tilesPerSecPerCore} | ${r.scaling} | ${r.p50} | ${r.p99} | ${r.requestsPerNode.join(' / ')} | ${r.slidesPerNode.join(' / ')} | ${r.cacheHitRate} | ${r.redis} | ${r.originRequests} | ${r.rounds.join(', ')} |`);
console.log('\nre-open on a fresh node B of a slide node A opened (info.json; median of B\'s times):');
console.log('| --shared-cache | node A: origin requests, ms | node B: origin requests | node B: origin bytes | node B: Redis hits/lookups | node B ms | rounds (ms) |');
console.log('|---|---|---|---|---|---|---|');
for (const r of reopens) console.log(`| ${r.sharedCache ? 'yes' : 'no'} | ${r.nodeA.originRequests}, ${r.nodeA.ms} | ${r.nodeB.originRequests} | ${r.nodeB.originBytes} | ${r.nodeB.redisHit}/${r.nodeB.redisHit + r.nodeB.redisMiss} | ${r.nodeB.ms} | ${r.roundsMs.join(', ')} |`);
console.log(`\na node SIGKILLed under load (${Math.max(...NODE_COUNTS)} nodes; the warm-up's tiles replayed through nginx; the node with the most slides killed after a quarter of them):`);
console.log('| --shared-cache | slides moved | tiles | failed requests | tiles/s | p99 ms | max ms | survivors: Redis hits/lookups | survivors: answer cache hit rate | origin requests | origin bytes |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of failovers) console.log(`| ${r.sharedCache ? 'yes' : 'no'} | ${r.slidesMoved} | ${r.tiles} | ${r.errors} | ${r.tilesPerSec} | ${r.p99} | ${r.max} | ${r.survivorsRedis} | ${r.survivorsCacheHitRate} | ${r.originRequests} | ${r.originBytes} |`);
const out = `${DATA}/results/cluster${smoke ? '-smoke' : ''}.json`;
writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), slide: svs, slides: SLIDES, clients: CLIENTS, rounds: ROUNDS, seconds: SECONDS, delayMs: DELAY, cores: CORES, table, reopens, failovers, results }, null, 2));
console.log(`wrote ${path.relative(process.cwd(), out)}`);
rmSync(root, { recursive: true, force: true });
if (failed) {
  console.error(`${failed} requests failed`);
  process.exit(1);
}
