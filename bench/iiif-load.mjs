#!/usr/bin/env node
// The paper's IIIF workload (../shared/tools/load.mjs: 10 clients x 250 random
// level-0 256x256 tiles, closed loop, keep-alive) against, in one run:
//   - imagebox serve on the SVS (local file),
//   - IIPImage (iipsrv 1.1 behind nginx, ../shared/tools/peers/iip.sh) on a vips
//     pyramidal-TIFF conversion of the same slide (iipsrv misreads SVS pyramids),
//   - nginx serving the stored tile bytes by range (load.mjs --index): the floor.
// Records tiles/s, p50/p99, passthrough share (from /metrics) and server RSS.
//
//   npm run build && node bench/iiif-load.mjs --svs .bench-data/large.svs --pyramid .bench-data/large-pyramid.tif [--label large]
//
// Needs ../shared/tools and the peers (../shared/tools/install-peers.sh); a peer
// that is not installed is skipped with a printed reason.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    svs: { type: 'string', default: '.bench-data/large.svs' },
    pyramid: { type: 'string', default: '.bench-data/large-pyramid.tif' },
    label: { type: 'string', default: 'large' },
    clients: { type: 'string', default: '10' },
    requests: { type: 'string', default: '250' },
    seed: { type: 'string', default: '1' },
    port: { type: 'string', default: '8090' },
  },
});
const TOOLS = path.resolve('../shared/tools');
const DATA = path.resolve('.bench-data');
mkdirSync(`${DATA}/results`, { recursive: true });
const env = { ...process.env, WSI_DATA: DATA };
const svs = path.resolve(opt.svs);
const pyramid = path.resolve(opt.pyramid);
if (!existsSync(svs)) {
  console.error(`no slide ${svs}: /usr/bin/python3 ../shared/fixtures/make_fixtures.py --large ${opt.svs} --pyramid-tif ${opt.pyramid}`);
  process.exit(2);
}
const load = (args, label) => {
  const out = `${DATA}/results/${opt.label}-${label}.json`;
  execFileSync('node', [`${TOOLS}/load.mjs`, ...args, '--clients', opt.clients, '--requests', opt.requests, '--seed', opt.seed, '--label', label, '--out', out], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  return JSON.parse(readFileSync(out, 'utf8'));
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
  generatorCpu: r.generator?.cpuShareOfOneCore,
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
    const r = load(['--url', `${base}/{x},{y},{w},{h}/{tw},/0/default.jpg`, '--info', `${base}/info.json`], 'imagebox');
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
      await new Promise((res) => setTimeout(res, 20_000));
      memory = { request: 'full/max', status: big.status, ms, rssIdleMb: idle, rssAfterMb: after, rssAfter20sMb: rssMb(server.pid) };
    }
  } finally {
    server.kill('SIGTERM');
    await new Promise((res) => server.once('exit', res));
  }
}

// --- IIPImage ----------------------------------------------------------------------
const haveIip = existsSync('/usr/lib/iipimage-server/iipsrv.fcgi');
if (!haveIip) console.log('IIPImage skipped: /usr/lib/iipimage-server/iipsrv.fcgi is not installed (../shared/tools/install-peers.sh)');
else if (!existsSync(pyramid)) console.log(`IIPImage skipped: no pyramidal TIFF at ${pyramid}`);
else {
  execFileSync('bash', [`${TOOLS}/peers/iip.sh`, 'start', '8081', pyramid], { env, stdio: 'ignore' });
  try {
    const id = path.basename(pyramid);
    const base = `http://127.0.0.1:8081/iiif/${id}`;
    const r = load(['--url', `${base}/{x},{y},{w},{h}/{tw},/0/default.jpg`, '--info', `${base}/info.json`], 'iipimage');
    const run = `${DATA}/run/iip-8081`;
    const pids = readdirSync(run).filter((f) => f.endsWith('.pid')).map((f) => Number(readFileSync(`${run}/${f}`, 'utf8').trim()));
    rows.push(row('IIPImage 1.1 (vips pyramid TIFF, IIIF 2)', r, { rssMb: pids.reduce((n, p) => n + (rssMb(p) ?? 0), 0) || undefined }));
  } catch (e) {
    console.log(`IIPImage run failed: ${e.message}`);
  } finally {
    execFileSync('bash', [`${TOOLS}/peers/iip.sh`, 'stop', '8081'], { env, stdio: 'ignore' });
  }
}

// --- nginx floor: the stored tile bytes by range ------------------------------------
{
  const index = `${DATA}/results/${opt.label}-index.json`;
  execFileSync('node', [`${TOOLS}/tile-index.mjs`, svs, '--ifd', '0', '--out', index], { stdio: 'ignore' });
  execFileSync('bash', [`${TOOLS}/peers/origin.sh`, 'start', '8083', path.dirname(svs)], { env, stdio: 'ignore' });
  try {
    const r = load(['--url', `http://127.0.0.1:8083/${path.basename(svs)}`, '--index', index], 'nginx-range');
    rows.push(row('nginx range reads of the stored tiles (floor)', r));
  } finally {
    execFileSync('bash', [`${TOOLS}/peers/origin.sh`, 'stop', '8083'], { env, stdio: 'ignore' });
  }
}

console.log(JSON.stringify({ label: opt.label, svs: opt.svs, clients: +opt.clients, requests: +opt.requests, rows, memory }, null, 2));
console.log('\n| server | tiles/s | p50 ms | p99 ms | errors | passthrough | RSS MB |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) console.log(`| ${r.name} | ${r.tilesPerSec} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.passthroughShare ?? '-'} | ${r.rssMb ?? '-'} |`);
if (memory) console.log(`memory: ${memory.request} ${memory.status} in ${memory.ms} ms; RSS ${memory.rssIdleMb} MB idle -> ${memory.rssAfterMb} MB after -> ${memory.rssAfter20sMb} MB 20 s later`);
const ours = rows[0];
const direct = rows.find((r) => r.name.includes('--direct'));
if (direct) console.log(`front door / --direct: ${(ours.tilesPerSec / direct.tilesPerSec).toFixed(2)}x tiles/s`);
const iip = rows.find((r) => r.name.startsWith('IIPImage'));
const floor = rows.find((r) => r.name.startsWith('nginx'));
if (iip) console.log(`imagebox / IIPImage: ${(ours.tilesPerSec / iip.tilesPerSec).toFixed(2)}x tiles/s, p50 ${ours.p50} vs ${iip.p50} ms`);
if (floor) console.log(`imagebox / nginx floor: ${(ours.tilesPerSec / floor.tilesPerSec).toFixed(2)}x tiles/s`);
