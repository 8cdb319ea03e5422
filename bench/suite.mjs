#!/usr/bin/env node
// npm run bench: the workloads of issue 10 on one slide, in one run, in one table.
//
// Workloads
//   paper  the ImageBox2 paper's benchmark: C clients x R random whole level-0
//          256x256 tiles (default 10 x 250), closed loop, one keep-alive
//          connection per client, through IIIF
//          /iiif/3/{id}/{x},{y},{w},{h}/{tw},/0/default.jpg;
//   walk   the seeded 1920x1080 viewer session of bench/stream-session.mjs
//          (pans of 1-3 tiles with momentum, zooms), per-view completion, over
//          HTTP IIIF (6 connections) and over the WebSocket stream (jpeg).
// each on the slide as a local file and remote: behind bench/lib/origin.mjs
// (single and multi-range, +delay per request, optional bandwidth cap, counting
// requests and bytes; --origin nginx: nginx behind it as a shaping proxy).
// In the same run, on the same random tiles, same clients:
//   floor (remote)   raw single-range GETs of the tiles' stored bytes through the
//                    same shaping: the best a remote tile can cost;
//   I/O layer        in-process openSlide(url) + slide.tile(0, col, row, signal):
//                    our reader without the HTTP server (floor -> I/O layer -> IIIF
//                    server is the remote overhead, split);
//   geotiff.js       3.0.5 in-process on the same remote tiles (pass-through decoder);
//   floor (local)    nginx serving the stored tile bytes by range from the local
//                    file (our origin, no delay, without /usr/sbin/nginx);
//   IIPImage, OpenSlide  on the local file through ../shared/tools/peers (where
//                    installed: skipped with a reason otherwise, and in --smoke).
// Per row: p50/p90/p99 ms, tiles/s, origin requests per tile, origin bytes / tile
// bytes (the stored sizes of the tiles served), open time and requests (the first
// info.json on a fresh server; the open of an in-process reader), the server's
// peak RSS (VmHWM). Then the ratios and the issue's targets, met or not.
// Written: .bench-data/results/bench.json and bench.md (bench-smoke.* with --smoke).
//
//   npm run bench -- [--slide .bench-data/large.svs | URL] [--pyramid P.tif] [--delay-ms 20]
//                    [--bandwidth 100mbit] [--clients 10] [--requests 250] [--views 120]
//                    [--dwell-ms 150] [--seed 1] [--only paper,walk-stream,...] [--origin node|nginx]
//                    [--server-args=--direct] [--smoke]
// --only: row ids containing any of the comma-separated words (ids: paper-floor-remote,
// paper-io-remote, paper-geotiff-remote, paper-iiif-remote, paper-floor-local,
// paper-iiif-local, paper-iip-local, paper-openslide-local, walk-iiif-local,
// walk-iiif-remote, walk-stream-local, walk-stream-remote).
// --smoke: the small fixture slide, 2 clients x 10 tiles, 6 views, no dwell, no peers:
// it only proves every row still runs (CI); its times mean nothing.
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, openSync, readFileSync, readSync, closeSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fromUrl } from 'geotiff';
import { openSlide } from '../dist/index.js';
import { DATA, SMOKE_SLIDE, TOOLS, haveTools, pct, startImagebox, startRemote } from './harness.mjs';
import { closedLoop, connection, httpLoad, randomTiles } from './lib/load.mjs';
import { haveNginx, startNginx } from './lib/nginx.mjs';
import { startOrigin } from './lib/origin.mjs';
import { tileIndex } from './lib/tile-index.mjs';
import { childPids, peakRssMb } from './lib/util.mjs';
import { iiifSession, streamSession, visible, walk } from './lib/viewer-walk.mjs';

const { values: opt } = parseArgs({
  options: {
    slide: { type: 'string' },
    pyramid: { type: 'string' },
    'delay-ms': { type: 'string', default: '20' },
    bandwidth: { type: 'string' },
    clients: { type: 'string' },
    requests: { type: 'string' },
    views: { type: 'string' },
    'dwell-ms': { type: 'string' },
    seed: { type: 'string', default: '1' },
    only: { type: 'string' },
    origin: { type: 'string', default: process.env.BENCH_ORIGIN ?? 'node' },
    'server-args': { type: 'string', default: '' },
    'iip-port': { type: 'string', default: '8181' },
    'openslide-port': { type: 'string', default: '8182' },
    smoke: { type: 'boolean', default: false },
  },
});
const SMOKE = opt.smoke;
// The smoke slide is the repository's fixture (8000x6000, JPEG 256 tiles);
// `npm run bench:data` (bench/make-slide.mjs) may later make a bigger generated one.
const slideArg = opt.slide ?? (SMOKE ? SMOKE_SLIDE : '.bench-data/large.svs');
const CLIENTS = Number(opt.clients ?? (SMOKE ? 2 : 10));
const REQUESTS = Number(opt.requests ?? (SMOKE ? 10 : 250));
const VIEWS = Number(opt.views ?? (SMOKE ? 6 : 120));
const DWELL = Number(opt['dwell-ms'] ?? (SMOKE ? 0 : 150));
const DELAY = Number(opt['delay-ms']);
const SEED = Number(opt.seed);
const SERVER_ARGS = opt['server-args'].split(/\s+/).filter(Boolean);
const isUrl = /^https?:\/\//.test(slideArg);
const slidePath = isUrl ? undefined : path.resolve(slideArg);
if (slidePath && !existsSync(slidePath)) {
  console.error(`no slide at ${slidePath}${slideArg.includes('large') ? ': /usr/bin/python3 ../shared/fixtures/make_fixtures.py --large .bench-data/large.svs --pyramid-tif .bench-data/large-pyramid.tif' : ''}`);
  process.exit(2);
}
const pyramidPath = opt.pyramid ? path.resolve(opt.pyramid) : slidePath?.replace(/\.svs$/i, '-pyramid.tif');
const onlyWords = opt.only?.split(',').map((w) => w.trim()).filter(Boolean);
const wanted = (id) => !onlyWords || onlyWords.some((w) => id.includes(w));

const rows = [];
const skipped = [];
const failures = [];
const log = (s) => console.log(s);
const r3 = (x) => (x === undefined || x === null || Number.isNaN(x) ? undefined : +x.toFixed(3));
const r1 = (x) => (x === undefined || x === null || Number.isNaN(x) ? undefined : +x.toFixed(1));

/** Run one row (unless --only leaves it out): failures are recorded, the run goes on. */
async function row(id, meta, fn) {
  if (!wanted(id)) return;
  const t0 = performance.now();
  try {
    const r = await fn();
    if (!r) return;
    if (r.skip) {
      skipped.push({ id, reason: r.skip });
      log(`- ${id}: skipped: ${r.skip}`);
      return;
    }
    const out = { id, ...meta, ...r, wallS: r1((performance.now() - t0) / 1000) };
    rows.push(out);
    if (out.errors) failures.push({ id, error: `${out.errors} failed requests: ${JSON.stringify(out.errorSamples?.slice(0, 2))}` });
    log(`- ${id}: p50 ${out.p50} p90 ${out.p90} p99 ${out.p99} ms, ${out.tilesPerSec} tiles/s, origin req/tile ${out.originRequestsPerTile ?? '-'}, bytes ratio ${out.originBytesRatio ?? '-'}, open ${out.openMs ?? '-'} ms / ${out.openRequests ?? '-'} req, RSS ${out.peakRssMb ?? '-'} MB${out.errors ? `, ${out.errors} ERRORS` : ''} (${out.wallS} s)`);
  } catch (e) {
    failures.push({ id, error: String(e?.stack ?? e) });
    log(`- ${id}: FAILED: ${e?.message ?? e}`);
  }
}

// ---- the slide, its tiles, the origin ------------------------------------------------------

let remote;
let remoteUrl;
if (slidePath) {
  remote = await startRemote(path.dirname(slidePath), DELAY, { bandwidth: opt.bandwidth, origin: opt.origin });
  remoteUrl = `${remote.base}/${encodeURIComponent(path.basename(slidePath))}`;
} else {
  remoteUrl = slideArg;
  // an origin of ours (bench/lib/origin.mjs) answers /__stats; any other gives no counts
  const statsUrl = new URL('/__stats', remoteUrl).href;
  const probe = await fetch(statsUrl).then((r) => (r.ok ? r.json() : undefined)).catch(() => undefined);
  remote = {
    kind: probe ? `the given URL (an origin with /__stats: ${probe.mode ?? '?'})` : 'the given URL (no request counts: its origin has no /__stats)',
    stats: probe ? async () => (await fetch(statsUrl)).json() : async () => undefined,
    stop: async () => {},
  };
}
const counted = async (fn) => {
  const a = await remote.stats();
  const v = await fn();
  const b = await remote.stats();
  return [v, a && b ? { requests: b.requests - a.requests, bytes: b.bytes - a.bytes, multiRange: b.multiRange - a.multiRange } : undefined];
};

const index = await tileIndex(slidePath ?? remoteUrl);
const L0 = index.levels[0];
const ID = 'slide';
const tiles = randomTiles({ cols: L0.cols, rows: L0.rows, width: L0.width, height: L0.height, tile: L0.tileWidth, clients: CLIENTS, requests: REQUESTS, seed: SEED, accept: (c, r) => index.range(0, c, r) !== undefined });
const allTiles = tiles.flat();
const paperTileBytes = allTiles.reduce((n, [c, r]) => n + index.bytes(0, c, r), 0);
const views = walk(index.levels, SEED, VIEWS);
const walkTileBytes = (() => {
  const seen = new Set();
  let n = 0;
  for (const v of views) {
    for (const [c, r] of visible(index.levels[v.level], v)) {
      const k = `${v.level}/${c}/${r}`;
      if (!seen.has(k)) {
        seen.add(k);
        n += index.bytes(v.level, c, r);
      }
    }
  }
  return n;
})();
const TW = L0.tileWidth;
const TH = L0.tileHeight;
const region = ([c, r]) => `${c * TW},${r * TH},${TW},${TH}/${TW},`;

// the tiles' stored bytes into the page cache: no row pays for the first read of the file
if (slidePath) {
  const fd = openSync(slidePath, 'r');
  const buf = Buffer.alloc(1 << 20);
  for (const [c, r] of allTiles) {
    const t = index.range(0, c, r);
    readSync(fd, buf, 0, Math.min(t.length, buf.length), t.offset);
  }
  closeSync(fd);
}

log(`slide ${slideArg}: ${L0.width}x${L0.height}, ${index.levels.length} levels, tile ${TW}x${TH}; ${CLIENTS} clients x ${REQUESTS} random whole level-0 tiles (${allTiles.length}, ${(paperTileBytes / allTiles.length / 1024).toFixed(1)} KB mean stored); walk of ${VIEWS} views, dwell ${DWELL} ms`);
log(`remote: ${remote.kind}${SMOKE ? '; SMOKE MODE: the times mean nothing' : ''}`);

const paperMeta = (pathName, where, name) => ({ workload: 'paper', path: pathName, where, name });
const fromLoad = (r, origin, tileBytes, extra = {}) => ({
  p50: r1(r.latencyMs.p50),
  p90: r1(r.latencyMs.p90),
  p99: r1(r.latencyMs.p99),
  tilesPerSec: Math.round(r.tilesPerSec),
  count: r.count,
  errors: r.errors,
  errorSamples: r.errors ? r.errorSamples : undefined,
  bodyBytes: r.bytes,
  originRequestsPerTile: origin ? r3(origin.requests / r.ok) : undefined,
  originBytesRatio: origin ? r3(origin.bytes / tileBytes) : undefined,
  originMultiRange: origin?.multiRange,
  ...extra,
});
/** A fresh imagebox server on this registry; its first info.json timed (and counted); then the paper workload. */
async function paperImagebox(config, where) {
  const s = await startImagebox({ name: `bench-${where}`, config, args: SERVER_ARGS });
  try {
    const base = `${s.base}/iiif/3/${ID}`;
    const t0 = performance.now();
    const [info, openOrigin] = await counted(async () => {
      const res = await fetch(`${base}/info.json`);
      if (res.status !== 200) throw new Error(`info.json: HTTP ${res.status}`);
      return res.json();
    });
    const openMs = performance.now() - t0;
    if (info.width !== L0.width || info.height !== L0.height) throw new Error(`info.json says ${info.width}x${info.height}, the index ${L0.width}x${L0.height}`);
    const [r, origin] = await counted(() => httpLoad(tiles, { url: (t) => `${base}/${region(t)}/0/default.jpg` }));
    return fromLoad(r, where === 'remote' ? origin : undefined, paperTileBytes, { openMs: r1(openMs), openRequests: where === 'remote' ? openOrigin?.requests : undefined, peakRssMb: s.peakRssMb() });
  } finally {
    await s.stop();
  }
}
const rangeHeader = ([c, r]) => {
  const t = index.range(0, c, r);
  return { range: `bytes=${t.offset}-${t.offset + t.length - 1}` };
};

// ---- the paper workload, remote -------------------------------------------------------------

await row('paper-floor-remote', paperMeta('floor: raw single-range GETs', 'remote', 'floor'), async () => {
  const [r, origin] = await counted(() => httpLoad(tiles, { url: () => remoteUrl, headers: rangeHeader, expect: 206 }));
  return fromLoad(r, origin, paperTileBytes);
});

await row('paper-io-remote', paperMeta('imagebox I/O layer (in-process slide.tile)', 'remote', 'io'), async () => {
  const t0 = performance.now();
  const [slide, openOrigin] = await counted(() => openSlide(remoteUrl));
  const openMs = performance.now() - t0;
  try {
    const [r, origin] = await counted(() => closedLoop(tiles, async ([c, w]) => (await slide.tile(0, c, w, new AbortController().signal)).bytes.length));
    return fromLoad(r, origin, paperTileBytes, { openMs: r1(openMs), openRequests: openOrigin?.requests });
  } finally {
    await slide.close();
  }
});

await row('paper-geotiff-remote', paperMeta('geotiff.js 3.0.5 (in-process, pass-through decoder)', 'remote', 'geotiff'), async () => {
  const t0 = performance.now();
  const [[tiff, image], openOrigin] = await counted(async () => {
    const tiff = await fromUrl(remoteUrl, { allowFullFile: false });
    await tiff.getImageCount(); // every IFD, as our open reads the whole pyramid
    return [tiff, await tiff.getImage(0)];
  });
  const openMs = performance.now() - t0;
  const raw = { decode: async (slice) => slice.data ?? slice };
  try {
    const [r, origin] = await counted(() => closedLoop(tiles, async ([c, w]) => (await image.getTileOrStrip(c, w, 0, raw)).data.byteLength));
    return fromLoad(r, origin, paperTileBytes, { openMs: r1(openMs), openRequests: openOrigin?.requests });
  } finally {
    await tiff.close?.();
  }
});

// GDAL /vsicurl/ (python3-gdal, default configuration): one process reads tiles one
// after another, so it gets one client's share of the tiles (the ratios are per tile).
await row('paper-gdal-remote', paperMeta('GDAL /vsicurl/ (1 client, default config, decodes)', 'remote', 'gdal'), async () => {
  if (SMOKE) return { skip: 'smoke mode (peers are never run in CI)' };
  const py = spawnSync('/usr/bin/python3', ['-c', 'from osgeo import gdal; print(gdal.__version__)'], { encoding: 'utf8' });
  if (py.status !== 0) return { skip: "Debian's python3 has no GDAL (apt-get install python3-gdal)" };
  const mine = tiles[0];
  const spec = `${DATA}/results/bench-gdal-tiles.json`;
  writeFileSync(spec, JSON.stringify({ tiles: mine, tile: TW }));
  const [out, origin] = await counted(async () => JSON.parse(execFileSync('/usr/bin/python3', ['bench/peers/gdal-vsicurl.py', remoteUrl, spec], { encoding: 'utf8', maxBuffer: 64 << 20 })));
  const bytes = mine.reduce((n, [c, r]) => n + index.bytes(0, c, r), 0);
  const total = out.tileMs.reduce((a, b) => a + b, 0);
  return {
    p50: r1(pct(out.tileMs, 50)),
    p90: r1(pct(out.tileMs, 90)),
    p99: r1(pct(out.tileMs, 99)),
    tilesPerSec: Math.round((mine.length * 1000) / total),
    count: mine.length,
    errors: 0,
    originRequestsPerTile: origin ? r3(origin.requests / mine.length) : undefined,
    originBytesRatio: origin ? r3(origin.bytes / bytes) : undefined,
    openMs: r1(out.openMs),
    note: `GDAL ${out.gdal}; requests and bytes include its open`,
  };
});

await row('paper-iiif-remote', paperMeta('imagebox IIIF', 'remote', 'iiif'), () => paperImagebox({ slides: { [ID]: { url: remoteUrl } } }, 'remote'));

// ---- the paper workload, local --------------------------------------------------------------

const localSkip = slidePath ? undefined : 'the slide is a URL (already remote)';
await row('paper-floor-local', paperMeta(haveNginx() ? 'floor: nginx range GETs' : 'floor: range GETs from our origin (no /usr/sbin/nginx)', 'local', 'floor'), async () => {
  if (localSkip) return { skip: localSkip };
  let origin;
  let kind;
  if (haveNginx()) {
    try {
      origin = await startNginx(path.dirname(slidePath), { dataDir: DATA });
      kind = 'nginx';
    } catch (e) {
      log(`  nginx did not start (${e.message}): our origin instead`);
    }
  }
  if (!origin) {
    const o = await startOrigin({ root: path.dirname(slidePath) });
    origin = { base: o.base, stop: o.close };
    kind = 'node origin (bench/lib/origin.mjs), no delay';
  }
  try {
    const url = `${origin.base}/${encodeURIComponent(path.basename(slidePath))}`;
    const r = await httpLoad(tiles, { url: () => url, headers: rangeHeader, expect: 206 });
    return fromLoad(r, undefined, paperTileBytes, { origin: kind, peakRssMb: origin.pid ? peakRssMb([origin.pid, ...childPids(origin.pid)]) : undefined });
  } finally {
    await origin.stop();
  }
});

await row('paper-iiif-local', paperMeta('imagebox IIIF', 'local', 'iiif'), () => (localSkip ? { skip: localSkip } : paperImagebox({ slides: { [ID]: { path: slidePath } } }, 'local')));

const env = { ...process.env, WSI_DATA: DATA };
const peerSkip = () => {
  if (SMOKE) return 'smoke mode (peers are never run in CI)';
  if (localSkip) return localSkip;
  if (!haveTools()) return `no ${TOOLS}/peers (../shared/tools is not here)`;
  return undefined;
};

await row('paper-iip-local', paperMeta('IIPImage 1.1 (vips pyramid TIFF, IIIF 2)', 'local', 'iip'), async () => {
  const why = peerSkip() ?? (!existsSync('/usr/lib/iipimage-server/iipsrv.fcgi') ? 'iipsrv is not installed (../shared/tools/install-peers.sh)' : !haveNginx() ? 'no nginx (iip.sh fronts iipsrv with it)' : !existsSync(pyramidPath) ? `no pyramidal TIFF at ${pyramidPath} (--pyramid)` : undefined);
  if (why) return { skip: why };
  // the whole pyramid into the page cache, as the SVS's tiles are (not a warm-up pass of the
  // same tiles: that would fill iipsrv's own tile cache with exactly the tiles measured)
  await new Promise((resolve, reject) => createReadStream(pyramidPath, { highWaterMark: 8 << 20 }).on('data', () => {}).on('end', resolve).on('error', reject));
  const port = opt['iip-port'];
  execFileSync('bash', [`${TOOLS}/peers/iip.sh`, 'start', port, pyramidPath], { env, stdio: 'ignore' });
  try {
    const base = `http://127.0.0.1:${port}/iiif/${encodeURIComponent(path.basename(pyramidPath))}`;
    const info = await (await fetch(`${base}/info.json`)).json();
    if (info.width !== L0.width || info.height !== L0.height) throw new Error(`IIPImage's info.json says ${info.width}x${info.height}, the slide is ${L0.width}x${L0.height}`);
    const url = (t) => `${base}/${region(t)}/0/default.jpg`;
    const r = await httpLoad(tiles, { url });
    const run = `${DATA}/run/iip-${port}`;
    const pids = readdirSync(run).filter((f) => /^iipsrv-\d+\.pid$/.test(f)).map((f) => Number(readFileSync(`${run}/${f}`, 'utf8').trim()));
    return fromLoad(r, undefined, paperTileBytes, { peakRssMb: peakRssMb(pids), note: `${pids.length} iipsrv processes behind nginx; the pyramid read into the page cache first` });
  } finally {
    execFileSync('bash', [`${TOOLS}/peers/iip.sh`, 'stop', port], { env, stdio: 'ignore' });
  }
});

await row('paper-openslide-local', paperMeta('OpenSlide 3.4.1 (Deep Zoom server, IIIF region route)', 'local', 'openslide'), async () => {
  const why = peerSkip() ?? (spawnSync('/usr/bin/python3', ['-c', 'import openslide, flask, gunicorn'], { stdio: 'ignore' }).status !== 0 ? "Debian's python3 lacks openslide/flask/gunicorn (../shared/tools/install-peers.sh)" : undefined);
  if (why) return { skip: why };
  const port = opt['openslide-port'];
  execFileSync('bash', [`${TOOLS}/peers/openslide-dz.sh`, 'start', port, slidePath], { env, stdio: 'ignore' });
  try {
    const base = `http://127.0.0.1:${port}/iiif/slide`;
    const r = await httpLoad(tiles, { url: (t) => `${base}/${region(t)}/0/default.jpg` });
    const master = Number(readFileSync(`${DATA}/run/openslide-dz-${port}/gunicorn.pid`, 'utf8').trim());
    return fromLoad(r, undefined, paperTileBytes, { peakRssMb: peakRssMb([master, ...childPids(master)]), note: 'gunicorn, 2 sync workers (master + workers)' });
  } finally {
    execFileSync('bash', [`${TOOLS}/peers/openslide-dz.sh`, 'stop', port], { env, stdio: 'ignore' });
  }
});

// ---- the viewer walk ------------------------------------------------------------------------

async function walkRow(pathName, where) {
  if (where === 'local' && localSkip) return { skip: localSkip };
  const config = { slides: { [ID]: where === 'local' ? { path: slidePath } : { url: remoteUrl } } };
  const s = await startImagebox({ name: `bench-walk-${where}`, config, args: SERVER_ARGS });
  try {
    const before = await remote.stats();
    let opened;
    const onOpened = async () => void (opened = await remote.stats());
    const r = pathName === 'stream' ? await streamSession(s.base, ID, 'jpeg', views, { dwellMs: DWELL, onOpened }) : await iiifSession(s.base, ID, index.levels, views, { dwellMs: DWELL, onOpened });
    const after = await remote.stats();
    const busyS = r.times.reduce((a, b) => a + b, 0) / 1000;
    const isRemote = where === 'remote' && before && after;
    return {
      p50: pct(r.times, 50),
      p90: pct(r.times, 90),
      p99: pct(r.times, 99),
      tilesPerSec: Math.round(r.visibleTiles / busyS),
      count: r.times.length,
      errors: 0,
      visibleTiles: r.visibleTiles,
      cachedViews: r.cachedViews,
      wireBytes: r.wireBytes,
      originRequestsPerTile: isRemote ? r3((after.requests - opened.requests) / r.visibleTiles) : undefined,
      originBytesRatio: isRemote ? r3((after.bytes - opened.bytes) / walkTileBytes) : undefined,
      openMs: r1(r.openMs),
      openRequests: isRemote ? opened.requests - before.requests : undefined,
      peakRssMb: s.peakRssMb(),
    };
  } finally {
    await s.stop();
  }
}
const walkMeta = (p, where) => ({ workload: 'walk', path: p === 'stream' ? 'imagebox WebSocket stream (jpeg)' : 'imagebox IIIF (6 connections)', where, name: p });
for (const where of ['local', 'remote']) {
  await row(`walk-iiif-${where}`, walkMeta('iiif', where), () => walkRow('iiif', where));
  await row(`walk-stream-${where}`, walkMeta('stream', where), () => walkRow('stream', where));
}

await remote.stop();

// ---- ratios, targets, the table ---------------------------------------------------------------

const get = (id) => rows.find((r) => r.id === id);
const ratio = (a, b) => (a !== undefined && b !== undefined && b !== 0 ? +(a / b).toFixed(2) : undefined);
const fl = get('paper-floor-remote');
const io = get('paper-io-remote');
const gt = get('paper-geotiff-remote');
const gd = get('paper-gdal-remote');
const ir = get('paper-iiif-remote');
const flL = get('paper-floor-local');
const il = get('paper-iiif-local');
const iip = get('paper-iip-local');
const osl = get('paper-openslide-local');
const wiL = get('walk-iiif-local');
const wiR = get('walk-iiif-remote');
const wsL = get('walk-stream-local');
const wsR = get('walk-stream-remote');

const ratios = [
  ['remote IIIF p50 / floor p50', ratio(ir?.p50, fl?.p50)],
  ['remote IIIF p90 / floor p90', ratio(ir?.p90, fl?.p90)],
  ['remote IIIF p99 / floor p99', ratio(ir?.p99, fl?.p99)],
  ['I/O layer p50 / floor p50', ratio(io?.p50, fl?.p50)],
  ['I/O layer p99 / floor p99', ratio(io?.p99, fl?.p99)],
  ['remote IIIF p50 / I/O layer p50 (the HTTP server on top of the reader)', ratio(ir?.p50, io?.p50)],
  ['geotiff.js p50 / I/O layer p50', ratio(gt?.p50, io?.p50)],
  ['geotiff.js requests per tile / I/O layer', ratio(gt?.originRequestsPerTile, io?.originRequestsPerTile)],
  ['GDAL /vsicurl/ p50 / I/O layer p50', ratio(gd?.p50, io?.p50)],
  ['GDAL /vsicurl/ requests per tile / I/O layer', ratio(gd?.originRequestsPerTile, io?.originRequestsPerTile)],
  ['GDAL /vsicurl/ bytes ratio / I/O layer', ratio(gd?.originBytesRatio, io?.originBytesRatio)],
  ['local IIIF tiles/s / local floor tiles/s', ratio(il?.tilesPerSec, flL?.tilesPerSec)],
  ['local IIIF tiles/s / IIPImage tiles/s', ratio(il?.tilesPerSec, iip?.tilesPerSec)],
  ['local IIIF p50 / IIPImage p50', ratio(il?.p50, iip?.p50)],
  ['local IIIF tiles/s / OpenSlide tiles/s', ratio(il?.tilesPerSec, osl?.tilesPerSec)],
  ['walk IIIF per-view p50 remote / local', ratio(wiR?.p50, wiL?.p50)],
  ['walk stream per-view p50 remote / local', ratio(wsR?.p50, wsL?.p50)],
  ['walk stream / IIIF per-view p50, remote', ratio(wsR?.p50, wiR?.p50)],
].filter(([, v]) => v !== undefined);

const target = (name, value, ok, goal) => ({ name, value, goal, met: value === undefined ? undefined : ok });
const targets = [
  target('remote paper p50 <= 1.1x floor p50', ratio(ir?.p50, fl?.p50), ratio(ir?.p50, fl?.p50) <= 1.1, '<= 1.1'),
  target('remote paper p99 <= 1.2x floor p99', ratio(ir?.p99, fl?.p99), ratio(ir?.p99, fl?.p99) <= 1.2, '<= 1.2'),
  target(`local paper tiles/s >= 0.9x ${flL?.origin === 'nginx' ? 'nginx' : 'our origin (no nginx)'} floor`, ratio(il?.tilesPerSec, flL?.tilesPerSec), ratio(il?.tilesPerSec, flL?.tilesPerSec) >= 0.9, '>= 0.9'),
  target('local paper tiles/s >= 2x IIPImage', ratio(il?.tilesPerSec, iip?.tilesPerSec), ratio(il?.tilesPerSec, iip?.tilesPerSec) >= 2, '>= 2'),
  target('local paper p50 below IIPImage p50', iip ? `${il?.p50} vs ${iip.p50} ms` : undefined, il?.p50 < iip?.p50, '<'),
  target('remote walk (IIIF) per view <= 1.2x local', ratio(wiR?.p50, wiL?.p50), ratio(wiR?.p50, wiL?.p50) <= 1.2, '<= 1.2'),
  target('remote walk (stream) per view <= 1.2x local', ratio(wsR?.p50, wsL?.p50), ratio(wsR?.p50, wsL?.p50) <= 1.2, '<= 1.2'),
  target('origin requests per random tile <= 1.0 (remote IIIF)', ir?.originRequestsPerTile, ir?.originRequestsPerTile <= 1.0, '<= 1.0'),
  target('origin bytes <= 1.1x tile bytes (remote IIIF)', ir?.originBytesRatio, ir?.originBytesRatio <= 1.1, '<= 1.1'),
  target('fewer requests per tile than geotiff.js (I/O layer)', gt && io ? `${io.originRequestsPerTile} vs ${gt.originRequestsPerTile}` : undefined, io?.originRequestsPerTile < gt?.originRequestsPerTile, '<'),
  target('fewer bytes per tile than geotiff.js (I/O layer)', gt && io ? `${io.originBytesRatio} vs ${gt.originBytesRatio}` : undefined, io?.originBytesRatio < gt?.originBytesRatio, '<'),
  target('fewer ms per tile than geotiff.js (I/O layer p50)', gt && io ? `${io.p50} vs ${gt.p50} ms` : undefined, io?.p50 < gt?.p50, '<'),
  target('fewer ms per tile than geotiff.js (remote IIIF p50)', gt && ir ? `${ir.p50} vs ${gt.p50} ms` : undefined, ir?.p50 < gt?.p50, '<'),
  target('fewer requests per tile than GDAL /vsicurl/ (I/O layer)', gd && io ? `${io.originRequestsPerTile} vs ${gd.originRequestsPerTile}` : undefined, io?.originRequestsPerTile < gd?.originRequestsPerTile, '<'),
  target('fewer bytes per tile than GDAL /vsicurl/ (I/O layer)', gd && io ? `${io.originBytesRatio} vs ${gd.originBytesRatio}` : undefined, io?.originBytesRatio < gd?.originBytesRatio, '<'),
  target('fewer ms per tile than GDAL /vsicurl/ (remote IIIF p50)', gd && ir ? `${ir.p50} vs ${gd.p50} ms` : undefined, ir?.p50 < gd?.p50, '<'),
];

const fmt = (v) => (v === undefined || v === null || Number.isNaN(v) ? '-' : String(v));
const started = new Date();
const md = [];
md.push(`${SMOKE ? 'SMOKE RUN (times mean nothing). ' : ''}\`npm run bench\` on ${slideArg} (${L0.width}x${L0.height}), ${started.toISOString().slice(0, 10)}, ${os.cpus().length} cores (load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}), node ${process.version}.`);
md.push(`Paper workload: ${CLIENTS} clients x ${REQUESTS} random whole level-0 tiles (seed ${SEED}), closed loop, keep-alive. Viewer walk: ${VIEWS} views of 1920x1080 (seed ${SEED}), dwell ${DWELL} ms. Remote: ${remote.kind}.`);
md.push('');
md.push('| workload | path | slide | p50 ms | p90 ms | p99 ms | tiles/s | origin req / tile | origin bytes / tile bytes | open ms | open req | server peak RSS MB |');
md.push('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  md.push(`| ${r.workload === 'paper' ? 'paper' : 'viewer walk (per view)'} | ${r.path}${r.errors ? ` (${r.errors} errors)` : ''} | ${r.where} | ${fmt(r.p50)} | ${fmt(r.p90)} | ${fmt(r.p99)} | ${fmt(r.tilesPerSec)} | ${fmt(r.originRequestsPerTile)} | ${fmt(r.originBytesRatio)} | ${fmt(r.openMs)} | ${fmt(r.openRequests)} | ${fmt(r.peakRssMb)} |`);
}
for (const s of skipped) md.push(`| - | ${s.id}: skipped (${s.reason}) | | | | | | | | | | |`);
md.push('');
md.push('Paper rows: latency per tile request. Walk rows: per-view completion; tiles/s = visible tiles per second of view time (dwell left out); origin requests per visible tile; origin bytes against the stored bytes of the distinct tiles the walk shows (paper rows: of the tiles served). Open: the first info.json on a fresh server (stream: connect + open; in-process readers: their open), and the origin requests it took. RSS: VmHWM of the server process(es); in-process rows run inside the benchmark.');
for (const r of rows) if (r.note || r.origin) md.push(`- ${r.id}: ${[r.origin, r.note].filter(Boolean).join('; ')}`);
md.push('');
md.push('Ratios: ' + ratios.map(([n, v]) => `${n} ${v}x`).join('; ') + '.');
md.push('');
md.push('| target | value | met |');
md.push('| --- | ---: | --- |');
for (const t of targets) md.push(`| ${t.name} | ${fmt(t.value)} | ${t.met === undefined ? 'not measured' : t.met ? 'met' : 'not met'} |`);
if (failures.length) {
  md.push('');
  for (const f of failures) md.push(`FAILED ${f.id}: ${f.error.split('\n')[0]}`);
}
const mdText = md.join('\n') + '\n';
const name = SMOKE ? 'bench-smoke' : 'bench';
const result = {
  startedAt: started.toISOString(),
  smoke: SMOKE,
  slide: slideArg,
  image: { width: L0.width, height: L0.height, levels: index.levels.length, tile: TW },
  options: { clients: CLIENTS, requests: REQUESTS, views: VIEWS, dwellMs: DWELL, delayMs: DELAY, bandwidth: opt.bandwidth ?? null, seed: SEED, origin: opt.origin, serverArgs: SERVER_ARGS },
  remote: remote.kind,
  tileBytes: { paper: paperTileBytes, walk: walkTileBytes },
  machine: { cpus: os.cpus().length, loadavg: os.loadavg(), node: process.version },
  rows,
  skipped,
  failures,
  ratios: Object.fromEntries(ratios),
  targets,
};
writeFileSync(`${DATA}/results/${name}.json`, JSON.stringify(result, null, 2));
writeFileSync(`${DATA}/results/${name}.md`, mdText);
log('');
log(mdText);
log(`written: ${DATA}/results/${name}.json, ${name}.md`);
process.exit(failures.length ? 1 : 0);
