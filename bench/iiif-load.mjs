#!/usr/bin/env node
// The paper's IIIF workload (bench/lib/load.mjs: 10 clients x 250 random
// level-0 256x256 tiles, closed loop, keep-alive) against, in one run:
//   - imagebox serve on the SVS (local file),
//   - IIPImage (iipsrv 1.1 behind nginx, ../shared/tools/peers/iip.sh) on a vips
//     pyramidal-TIFF conversion of the same slide (iipsrv misreads SVS pyramids),
//   - nginx serving the stored tile bytes by range (our tile index): the floor
//     (our origin instead, and said so, without /usr/sbin/nginx).
// Records tiles/s, p50/p99, passthrough share (from /metrics) and server RSS.
// The same tiles for every server (seeded; tiles with stored bytes only).
//
//   npm run build && node bench/iiif-load.mjs --svs .bench-data/large.svs --pyramid .bench-data/large-pyramid.tif [--label large] [--smoke]
//
// IIPImage needs ../shared/tools/peers/iip.sh and iipsrv (../shared/tools/install-peers.sh):
// skipped with a printed reason where missing, and in --smoke (the small fixture
// slide, 2 clients x 10 tiles, no 20 s memory wait: CI).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DATA, SMOKE_SLIDE, TOOLS, haveTools } from './harness.mjs';
import { httpLoad, randomTiles } from './lib/load.mjs';
import { haveNginx, startNginx } from './lib/nginx.mjs';
import { startOrigin } from './lib/origin.mjs';
import { tileIndex } from './lib/tile-index.mjs';
import { freePort } from './lib/util.mjs';

const { values: opt } = parseArgs({
  options: {
    svs: { type: 'string' },
    pyramid: { type: 'string', default: '.bench-data/large-pyramid.tif' },
    label: { type: 'string' },
    clients: { type: 'string' },
    requests: { type: 'string' },
    seed: { type: 'string', default: '1' },
    port: { type: 'string' },
    'iip-port': { type: 'string', default: '8181' },
    smoke: { type: 'boolean', default: false },
  },
});
const smoke = opt.smoke;
opt.svs ??= smoke ? SMOKE_SLIDE : '.bench-data/large.svs';
opt.label ??= smoke ? 'smoke' : 'large';
opt.clients ??= smoke ? '2' : '10';
opt.requests ??= smoke ? '10' : '250';
opt.port ??= String(await freePort());
const env = { ...process.env, WSI_DATA: DATA };
const svs = path.resolve(opt.svs);
const pyramid = path.resolve(opt.pyramid);
if (!existsSync(svs)) {
  console.error(`no slide ${svs}: /usr/bin/python3 ../shared/fixtures/make_fixtures.py --large ${opt.svs} --pyramid-tif ${opt.pyramid}`);
  process.exit(2);
}
const index = await tileIndex(svs, { levels: [0] });
const L0 = index.levels[0];
const T = L0.tileWidth;
const tiles = randomTiles({ cols: L0.cols, rows: L0.rows, width: L0.width, height: L0.height, tile: T, clients: +opt.clients, requests: +opt.requests, seed: +opt.seed, accept: (c, r) => index.range(0, c, r) !== undefined });
const iiif = (base) => ({ url: ([c, r]) => `${base}/${c * T},${r * T},${T},${T}/${T},/0/default.jpg` });
let failed = 0;
const load = async (spec) => {
  const r = await httpLoad(tiles, spec);
  if (r.errors) {
    failed += r.errors;
    console.error(`${r.errors} failed requests: ${JSON.stringify(r.errorSamples.slice(0, 2))}`);
  }
  return r;
};
const rssMb = (pid) => {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
};
const row = (name, r, extra = {}) => ({
  name,
  tilesPerSec: Math.round(r.tilesPerSec),
  p50: r.latencyMs.p50,
  p99: r.latencyMs.p99,
  errors: r.errors,
  ...extra,
});
const rows = [];
let memory;

// --- imagebox: with the front door (the default) and --direct -------------------
for (const direct of [false, true]) {
  const port = opt.port;
  const args = ['dist/cli.js', 'serve', '--port', port, '--host', '127.0.0.1', '--slides', path.dirname(svs), ...(direct ? ['--direct'] : [])];
  const server = spawn('node', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    server.stdout.on('data', (d) => String(d).includes('listening on') && resolve());
    server.on('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  const id = encodeURIComponent(path.basename(svs));
  const base = `http://127.0.0.1:${port}/iiif/3/${id}`;
  const metrics = async () => {
    const t = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const get = (p) => Number(new RegExp(`imagebox_tiles_total\\{path="${p}"\\} (\\d+)`).exec(t)?.[1] ?? 0);
    return { passthrough: get('passthrough'), transcode: get('transcode'), cache: get('cache') };
  };
  try {
    const before = await metrics();
    const r = await load(iiif(base));
    const after = await metrics();
    const pt = after.passthrough - before.passthrough;
    const all = pt + (after.transcode - before.transcode) + (after.cache - before.cache);
    rows.push(row(`imagebox (SVS, IIIF 3${direct ? ', --direct' : ''})`, r, { passthroughShare: all ? +(pt / all).toFixed(3) : undefined, rssMb: rssMb(server.pid) }));
    if (!direct) {
      // memory after a big request: full/max (16 Mpx out) read band by band; RSS before, right after, 20 s later
      const idle = rssMb(server.pid);
      const t0 = performance.now();
      const big = await fetch(`${base}/full/max/0/default.jpg`);
      await big.arrayBuffer();
      const ms = Math.round(performance.now() - t0);
      const after = rssMb(server.pid);
      await new Promise((res) => setTimeout(res, smoke ? 0 : 20_000));
      memory = { request: 'full/max', status: big.status, ms, rssIdleMb: idle, rssAfterMb: after, rssAfter20sMb: rssMb(server.pid) };
    }
  } finally {
    server.kill('SIGTERM');
    await new Promise((res) => server.once('exit', res));
  }
}

// --- IIPImage ----------------------------------------------------------------------
const iipPort = opt['iip-port'];
if (smoke) console.log('IIPImage skipped: smoke mode');
else if (!haveTools()) console.log(`IIPImage skipped: no ${TOOLS}/peers (../shared/tools)`);
else if (!existsSync('/usr/lib/iipimage-server/iipsrv.fcgi')) console.log('IIPImage skipped: /usr/lib/iipimage-server/iipsrv.fcgi is not installed (../shared/tools/install-peers.sh)');
else if (!existsSync(pyramid)) console.log(`IIPImage skipped: no pyramidal TIFF at ${pyramid}`);
else {
  execFileSync('bash', [`${TOOLS}/peers/iip.sh`, 'start', iipPort, pyramid], { env, stdio: 'ignore' });
  try {
    const id = path.basename(pyramid);
    const base = `http://127.0.0.1:${iipPort}/iiif/${id}`;
    const r = await load(iiif(base));
    const run = `${DATA}/run/iip-${iipPort}`;
    const pids = readdirSync(run).filter((f) => f.endsWith('.pid')).map((f) => Number(readFileSync(`${run}/${f}`, 'utf8').trim()));
    rows.push(row('IIPImage 1.1 (vips pyramid TIFF, IIIF 2)', r, { rssMb: pids.reduce((n, p) => n + (rssMb(p) ?? 0), 0) || undefined }));
  } catch (e) {
    console.log(`IIPImage run failed: ${e.message}`);
  } finally {
    execFileSync('bash', [`${TOOLS}/peers/iip.sh`, 'stop', iipPort], { env, stdio: 'ignore' });
  }
}

// --- nginx floor: the stored tile bytes by range ------------------------------------
{
  let origin;
  if (haveNginx()) origin = await startNginx(path.dirname(svs), { dataDir: DATA }).catch((e) => void console.log(`nginx did not start (${e.message}): our origin instead`));
  const kind = origin ? 'nginx' : 'our node origin (no nginx)';
  if (!origin) {
    const o = await startOrigin({ root: path.dirname(svs) });
    origin = { base: o.base, stop: o.close };
  }
  try {
    const url = `${origin.base}/${encodeURIComponent(path.basename(svs))}`;
    const r = await load({ url: () => url, expect: 206, headers: ([c, w]) => { const t = index.range(0, c, w); return { range: `bytes=${t.offset}-${t.offset + t.length - 1}` }; } });
    rows.push(row(`${kind} range reads of the stored tiles (floor)`, r));
  } finally {
    await origin.stop();
  }
}

console.log(JSON.stringify({ label: opt.label, svs: opt.svs, clients: +opt.clients, requests: +opt.requests, rows, memory }, null, 2));
console.log('\n| server | tiles/s | p50 ms | p99 ms | errors | passthrough | RSS MB |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) console.log(`| ${r.name} | ${r.tilesPerSec} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.passthroughShare ?? '-'} | ${r.rssMb ?? '-'} |`);
if (memory) console.log(`memory: ${memory.request} ${memory.status} in ${memory.ms} ms; RSS ${memory.rssIdleMb} MB idle -> ${memory.rssAfterMb} MB after -> ${memory.rssAfter20sMb} MB ${smoke ? "at once (smoke: no wait)" : "20 s later"}`);
const ours = rows[0];
const direct = rows.find((r) => r.name.includes('--direct'));
if (direct) console.log(`front door / --direct: ${(ours.tilesPerSec / direct.tilesPerSec).toFixed(2)}x tiles/s`);
const iip = rows.find((r) => r.name.startsWith('IIPImage'));
const floor = rows.find((r) => r.name.includes('(floor)'));
if (iip) console.log(`imagebox / IIPImage: ${(ours.tilesPerSec / iip.tilesPerSec).toFixed(2)}x tiles/s, p50 ${ours.p50} vs ${iip.p50} ms`);
if (floor) console.log(`imagebox / ${floor.name.split(' ')[0]} floor: ${(ours.tilesPerSec / floor.tilesPerSec).toFixed(2)}x tiles/s`);
if (failed) process.exitCode = 1;
