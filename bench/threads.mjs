#!/usr/bin/env node
// All cores (issue 13, item 1): `imagebox serve --threads 1` against
// `--threads 2`, each behind the front door (the default) and --direct, on two
// closed-loop workloads (bench/lib/load.mjs: N clients, each its own keep-alive
// connection, seeded random level-0 tiles):
//   passthrough  level-0 256x256 tiles as stored (HTTP-bound: the uWS threads' work)
//   transcode    512x512 level-0 regions out at 256 px (decode, resize, encode:
//                the pixel pool's work, one pool per process whatever --threads)
// A fresh server per configuration and round; each round's tiles are its own
// (seed + round). Before each measured run a short calibration run sizes it to
// about --seconds. Reports tiles/s, p50 and p99 of the median round (by tiles/s)
// and efficiency per core = tiles/s at 2 threads / (2 x tiles/s at 1 thread); and,
// from /proc (bench/lib/cpu.mjs), the server's CPU ms per tile and the cores the
// server and the load generator kept busy over the measured run.
// The load generator runs on the same machine and shares its cores.
//
//   npm run build && npm run bench:data && node bench/threads.mjs [--slide .bench-data/generated.svs]
//       [--clients 10] [--rounds 3] [--seconds 10] [--smoke]
//
// --smoke: the small fixture slide, 2 clients x 10 tiles, one round (CI: bench/smoke.mjs).
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DATA, SMOKE_SLIDE } from './harness.mjs';
import { httpLoad, randomTiles } from './lib/load.mjs';
import { tileIndex } from './lib/tile-index.mjs';
import { cpuSeconds, ownCpuSeconds } from './lib/cpu.mjs';
import { freePort } from './lib/util.mjs';

const { values: opt } = parseArgs({
  options: {
    slide: { type: 'string' },
    clients: { type: 'string' },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    seed: { type: 'string', default: '1' },
    smoke: { type: 'boolean', default: false },
  },
});
const smoke = opt.smoke;
const slideArg = opt.slide ?? (smoke ? SMOKE_SLIDE : '.bench-data/generated.svs');
const CLIENTS = Number(opt.clients ?? (smoke ? 2 : 10));
const ROUNDS = Number(opt.rounds ?? (smoke ? 1 : 3));
const SECONDS = Number(opt.seconds ?? 10);
const SEED = Number(opt.seed);
const svs = path.resolve(slideArg);
if (!existsSync(svs)) {
  console.error(`no slide ${svs}: npm run bench:data (makes .bench-data/generated.svs), or --slide PATH`);
  process.exit(2);
}
if (!existsSync('dist/cli.js')) {
  console.error('no dist/cli.js: npm run build');
  process.exit(2);
}

const index = await tileIndex(svs, { levels: [0] });
const L0 = index.levels[0];
const T = L0.tileWidth;
const id = encodeURIComponent(path.basename(svs));
const tilesFor = (requests, seed, tile = T) =>
  randomTiles({
    cols: Math.floor(L0.width / tile),
    rows: Math.floor(L0.height / tile),
    width: L0.width,
    height: L0.height,
    tile,
    clients: CLIENTS,
    requests,
    seed,
    accept: tile === T ? (c, r) => index.range(0, c, r) !== undefined : () => true,
  });
const WORKLOADS = {
  // the stored bytes of one level-0 tile
  passthrough: { tile: T, url: (base) => ([c, r]) => `${base}/iiif/3/${id}/${c * T},${r * T},${T},${T}/${T},/0/default.jpg` },
  // four level-0 tiles decoded, scaled to half, encoded again
  transcode: { tile: 2 * T, url: (base) => ([c, r]) => `${base}/iiif/3/${id}/${c * 2 * T},${r * 2 * T},${2 * T},${2 * T}/${T},/0/default.jpg` },
};
const CONFIGS = [
  { threads: 1, direct: false },
  { threads: 1, direct: true },
  { threads: 2, direct: false },
  { threads: 2, direct: true },
];

async function serve({ threads, direct }) {
  const port = await freePort();
  const args = ['dist/cli.js', 'serve', '--host', '127.0.0.1', '--port', String(port), '--slides', path.dirname(svs), '--threads', String(threads), ...(direct ? ['--direct'] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => String(d).includes('listening on') && resolve());
    child.once('exit', (c) => reject(new Error(`serve exited ${c}: ${args.join(' ')}`)));
  });
  const base = `http://127.0.0.1:${port}`;
  const info = await fetch(`${base}/iiif/3/${id}/info.json`);
  if (info.status !== 200) throw new Error(`info.json: ${info.status}`);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  const m = /^imagebox_serve_threads (\d+)/m.exec(metrics);
  if (threads > 1 && Number(m?.[1]) !== threads) throw new Error(`/metrics says ${m?.[1]} serve threads, asked for ${threads}`);
  return {
    base,
    pid: child.pid,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

let failed = 0;
async function load(tiles, url) {
  const r = await httpLoad(tiles, { url });
  if (r.errors) {
    failed += r.errors;
    console.error(`${r.errors} failed requests: ${JSON.stringify(r.errorSamples.slice(0, 2))}`);
  }
  return r;
}

const results = []; // { workload, threads, direct, round, tilesPerSec, p50, p99, count }
for (let round = 0; round < ROUNDS; round++) {
  for (const cfg of CONFIGS) {
    const server = await serve(cfg);
    try {
      for (const [name, w] of Object.entries(WORKLOADS)) {
        const seed = SEED * 7919 + round * 101 + (name === 'transcode' ? 50 : 0);
        let requests = smoke ? 10 : name === 'transcode' ? 8 : 60;
        if (!smoke) {
          // calibrate (and warm up): how many tiles per client make about SECONDS
          const probe = await load(tilesFor(requests, seed + 1_000_000, w.tile), w.url(server.base));
          requests = Math.max(20, Math.round((probe.tilesPerSec * SECONDS) / CLIENTS));
        }
        const cpu0 = [cpuSeconds(server.pid), ownCpuSeconds()];
        const r = await load(tilesFor(requests, seed, w.tile), w.url(server.base));
        const cpu1 = [cpuSeconds(server.pid), ownCpuSeconds()];
        const serverCpu = cpu0[0] === undefined || cpu1[0] === undefined ? undefined : cpu1[0] - cpu0[0];
        const row = {
          workload: name,
          ...cfg,
          round,
          count: r.count,
          durationS: +r.durationS.toFixed(2),
          tilesPerSec: Math.round(r.tilesPerSec),
          p50: r.latencyMs.p50,
          p99: r.latencyMs.p99,
          // the server's CPU per tile, and the cores it and the load generator kept busy
          serverCpuMsPerTile: serverCpu === undefined ? undefined : +((serverCpu * 1000) / r.ok).toFixed(3),
          serverCores: serverCpu === undefined ? undefined : +(serverCpu / r.durationS).toFixed(2),
          loadCores: +((cpu1[1] - cpu0[1]) / r.durationS).toFixed(2),
        };
        results.push(row);
        console.log(JSON.stringify(row));
      }
    } finally {
      await server.stop();
    }
  }
}

// the median round of each (workload, threads, mode), by tiles/s
const median = (rows) => [...rows].sort((a, b) => a.tilesPerSec - b.tilesPerSec)[Math.floor((rows.length - 1) / 2)];
const table = [];
for (const workload of Object.keys(WORKLOADS)) {
  for (const direct of [false, true]) {
    const one = median(results.filter((r) => r.workload === workload && r.direct === direct && r.threads === 1));
    const two = median(results.filter((r) => r.workload === workload && r.direct === direct && r.threads === 2));
    for (const r of [one, two]) {
      table.push({
        workload,
        mode: direct ? '--direct' : 'front door',
        threads: r.threads,
        tilesPerSec: r.tilesPerSec,
        p50: r.p50,
        p99: r.p99,
        serverCpuMsPerTile: r.serverCpuMsPerTile,
        serverCores: r.serverCores,
        loadCores: r.loadCores,
        rounds: results.filter((x) => x.workload === workload && x.direct === direct && x.threads === r.threads).map((x) => x.tilesPerSec),
        efficiencyPerCore: r.threads === 2 ? +(two.tilesPerSec / (2 * one.tilesPerSec)).toFixed(2) : undefined,
      });
    }
  }
}
console.log(`\nimagebox serve --threads 1 vs 2; ${path.basename(svs)} ${L0.width}x${L0.height}; ${CLIENTS} clients, closed loop, keep-alive; median of ${ROUNDS} round(s); ${os.cpus().length} cores shared with the load generator`);
console.log('| workload | mode | threads | tiles/s | p50 ms | p99 ms | efficiency per core | server CPU ms per tile | cores busy: server / load generator | rounds (tiles/s) |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of table) console.log(`| ${r.workload} | ${r.mode} | ${r.threads} | ${r.tilesPerSec} | ${r.p50} | ${r.p99} | ${r.efficiencyPerCore ?? ''} | ${r.serverCpuMsPerTile ?? ''} | ${r.serverCores ?? ''} / ${r.loadCores} | ${r.rounds.join(', ')} |`);
const out = `${DATA}/results/threads${smoke ? '-smoke' : ''}.json`;
writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), slide: svs, clients: CLIENTS, rounds: ROUNDS, seconds: SECONDS, cores: os.cpus().length, table, results }, null, 2));
console.log(`wrote ${path.relative(process.cwd(), out)}`);
if (failed) {
  console.error(`${failed} requests failed`);
  process.exit(1);
}
