#!/usr/bin/env node
// npm run bench:stream: one seeded viewer session (1920x1080; pans of 1-3 tiles
// with momentum, zoom in, zoom out) on the large slide, replayed the same way
//   - over the WebSocket stream (imagebox/stream), encodings rgba and jpeg;
//   - over HTTP IIIF, six parallel keep-alive connections (a browser's), tiles
//     of the native levels (passthrough), the client prefetching nothing; once
//     with the server's neighbour prefetch for plain IIIF clients (the default)
//     and once without (--no-iiif-prefetch);
// on the slide as a local file and behind the shared latency proxy (+20 ms per
// request) in front of an nginx range origin, all in one run. Per path: view
// completion p50/p90 (all views, and the 1-tile pans), prefetch hit rate,
// origin requests and bytes per visible tile, bytes on the wire.
//
//   npm run bench:stream -- [--slide .bench-data/large.svs] [--views 120] [--seed 1] [--delay-ms 20] [--dwell-ms 150]
//
// Needs ../shared/tools (origin.sh, proxy.sh) and nginx for the remote paths.
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { connectTileStream } from 'imagebox/stream';
import { DATA, pct, proxyStats, rng, startImagebox as startServer, startRemote } from './harness.mjs';

const { values: opt } = parseArgs({
  options: {
    slide: { type: 'string', default: '.bench-data/large.svs' },
    views: { type: 'string', default: '120' },
    seed: { type: 'string', default: '1' },
    'delay-ms': { type: 'string', default: '20' },
    'dwell-ms': { type: 'string', default: '150' },
    port: { type: 'string', default: '8095' },
    only: { type: 'string' },
  },
});
const slidePath = /^https?:/.test(opt.slide) ? undefined : path.resolve(opt.slide);
if (slidePath && !existsSync(slidePath)) {
  console.error(`no slide ${slidePath}: /usr/bin/python3 ../shared/fixtures/make_fixtures.py --large ${opt.slide}`);
  process.exit(2);
}
const VIEWS = Number(opt.views);
const DWELL = Number(opt['dwell-ms']);
const W = 1920;
const H = 1080;

// ---- the seeded walk ------------------------------------------------------------------

/** Views in level pixels: pans of 1-3 tiles that keep their direction 70% of the time, zoom in / out 20% each. */
function walk(levels, seed, n) {
  const r = rng(seed);
  let level = Math.min(2, levels.length - 1);
  const L = () => levels[level];
  let cx = L().width / 2;
  let cy = L().height / 2;
  let dir = [1, 0];
  const out = [];
  for (let i = 0; i < n; i++) {
    const u = r();
    let kind = 'pan';
    let tiles = 0;
    if (u < 0.2 && level > 0) {
      kind = 'zoom-in';
      const f = L().downsample / levels[level - 1].downsample;
      level--;
      cx *= f;
      cy *= f;
    } else if (u < 0.4 && level < levels.length - 1) {
      kind = 'zoom-out';
      const f = levels[level + 1].downsample / L().downsample;
      level++;
      cx /= f;
      cy /= f;
    } else {
      if (r() > 0.7) dir = [[1, 0], [-1, 0], [0, 1], [0, -1]][Math.floor(r() * 4)];
      tiles = 1 + Math.floor(r() * 3);
      cx += dir[0] * tiles * L().tileWidth;
      cy += dir[1] * tiles * L().tileHeight;
    }
    // stay on the slide (bounce)
    const l = L();
    if (cx < W / 2 || cx > l.width - W / 2) {
      dir = [-dir[0], dir[1]];
      cx = Math.min(Math.max(cx, W / 2), Math.max(W / 2, l.width - W / 2));
    }
    if (cy < H / 2 || cy > l.height - H / 2) {
      dir = [dir[0], -dir[1]];
      cy = Math.min(Math.max(cy, H / 2), Math.max(H / 2, l.height - H / 2));
    }
    out.push({ kind, tiles, level, x: Math.round(cx - W / 2), y: Math.round(cy - H / 2), width: W, height: H });
  }
  return out;
}

function visible(l, v) {
  const out = [];
  const c0 = Math.max(0, Math.floor(v.x / l.tileWidth));
  const r0 = Math.max(0, Math.floor(v.y / l.tileHeight));
  const c1 = Math.min(l.cols - 1, Math.floor((v.x + v.width - 1) / l.tileWidth));
  const r1 = Math.min(l.rows - 1, Math.floor((v.y + v.height - 1) / l.tileHeight));
  for (let r = r0; r <= r1; r++) for (let c = c0; c <= c1; c++) out.push([c, r]);
  return out;
}


// ---- the servers ------------------------------------------------------------------------

const startImagebox = (config, extra = []) => startServer({ name: 'stream-bench', config, port: opt.port, args: ['--direct', ...extra] });

// ---- one session over the stream ----------------------------------------------------------

async function streamSession(base, id, encoding, views) {
  const s = await connectTileStream(base.replace('http', 'ws') + '/stream', { encodings: [encoding] });
  const slide = await s.open(id);
  const times = [];
  const panTimes = [];
  const newTimes = [];
  let visibleTiles = 0;
  let cachedViews = 0;
  for (const v of views) {
    const t0 = performance.now();
    const r = await s.view(slide.handle, v);
    const ms = performance.now() - t0;
    times.push(ms);
    if (v.kind === 'pan' && v.tiles === 1) panTimes.push(ms);
    visibleTiles += r.tiles;
    if (r.cached) cachedViews++;
    else newTimes.push(ms);
    await new Promise((res) => setTimeout(res, DWELL));
  }
  const st = s.stats();
  await s.close();
  return { times, panTimes, newTimes, visibleTiles, cachedViews, prefetchHit: st.prefetchedUsed / Math.max(1, visibleTiles), wireBytes: st.bytesReceived };
}

// ---- the same session over HTTP IIIF (6 keep-alive connections, nothing prefetched) ------------

async function iiifSession(base, id, levels, views) {
  const pool = new Pool(base, { connections: 6, pipelining: 1 });
  const have = new Set();
  const times = [];
  const panTimes = [];
  const newTimes = [];
  let visibleTiles = 0;
  let wireBytes = 0;
  let cachedViews = 0;
  const url = (lvl, c, r) => {
    const l = levels[lvl];
    const ds = Math.round(l.downsample);
    const x = c * l.tileWidth * ds;
    const y = r * l.tileHeight * ds;
    const w = Math.min(l.tileWidth, l.width - c * l.tileWidth);
    const h = Math.min(l.tileHeight, l.height - r * l.tileHeight);
    const rw = Math.min(w * ds, levels[0].width - x);
    const rh = Math.min(h * ds, levels[0].height - y);
    return `/iiif/3/${encodeURIComponent(id)}/${x},${y},${rw},${rh}/${w},${h}/0/default.jpg`;
  };
  for (const v of views) {
    const t0 = performance.now();
    const tiles = visible(levels[v.level], v);
    visibleTiles += tiles.length;
    const need = tiles.filter(([c, r]) => !have.has(`${v.level}/${c}/${r}`));
    if (need.length === 0) cachedViews++;
    let next = 0;
    const worker = async () => {
      while (next < need.length) {
        const [c, r] = need[next++];
        const res = await pool.request({ method: 'GET', path: url(v.level, c, r) });
        const body = Buffer.from(await res.body.arrayBuffer());
        if (res.statusCode !== 200) throw new Error(`IIIF ${res.statusCode}`);
        wireBytes += body.length;
        have.add(`${v.level}/${c}/${r}`);
      }
    };
    await Promise.all(Array.from({ length: 6 }, worker));
    const ms = performance.now() - t0;
    times.push(ms);
    if (v.kind === 'pan' && v.tiles === 1) panTimes.push(ms);
    if (need.length > 0) newTimes.push(ms);
    await new Promise((res) => setTimeout(res, DWELL));
  }
  await pool.close();
  return { times, panTimes, newTimes, visibleTiles, cachedViews, prefetchHit: 0, wireBytes };
}

// ---- the run ---------------------------------------------------------------------------

const rows = [];
const record = (name, where, r, origin) => {
  const row = {
    name,
    where,
    p50: pct(r.times, 50),
    p90: pct(r.times, 90),
    pan1p50: pct(r.panTimes, 50),
    pan1n: r.panTimes.length,
    newP50: pct(r.newTimes, 50),
    newP90: pct(r.newTimes, 90),
    cachedViews: r.cachedViews,
    prefetchHit: +r.prefetchHit.toFixed(3),
    originRequestsPerTile: origin ? +(origin.requests / r.visibleTiles).toFixed(3) : undefined,
    originBytesPerTile: origin ? Math.round(origin.bytes / r.visibleTiles) : undefined,
    wireBytesPerTile: Math.round(r.wireBytes / r.visibleTiles),
    wireMB: +(r.wireBytes / 2 ** 20).toFixed(1),
  };
  rows.push(row);
  console.log(JSON.stringify(row));
};

let remoteUrl = opt.slide;
let stopRemote = async () => {};
if (slidePath) {
  const remote = startRemote(path.dirname(slidePath), opt['delay-ms']);
  remoteUrl = `${remote.base}/${path.basename(slidePath)}`;
  stopRemote = remote.stop;
}

try {
  const config = { slides: { remote: { url: remoteUrl }, ...(slidePath ? { local: { path: slidePath } } : {}) } };
  // the levels, from a throw-away server
  let levels;
  {
    const s = await startImagebox(config);
    levels = (await (await fetch(`${s.base}/slides/remote`)).json()).levels;
    await s.stop();
  }
  const views = walk(levels, Number(opt.seed), VIEWS);
  console.log(`session: ${views.length} views (${views.filter((v) => v.kind === 'pan').length} pans, ${views.filter((v) => v.kind === 'pan' && v.tiles === 1).length} of one tile, ${views.filter((v) => v.kind !== 'pan').length} zooms), dwell ${DWELL} ms`);
  const paths = [
    ['WebSocket rgba', (b, id) => streamSession(b, id, 'rgba', views), []],
    ['WebSocket jpeg', (b, id) => streamSession(b, id, 'jpeg', views), []],
    ['HTTP IIIF, 6 connections', (b, id) => iiifSession(b, id, levels, views), []],
    ['HTTP IIIF, 6 connections, no server prefetch', (b, id) => iiifSession(b, id, levels, views), ['--no-iiif-prefetch']],
  ].filter(([name]) => !opt.only || name.includes(opt.only));
  for (const where of slidePath ? ['local', 'remote'] : ['remote']) {
    for (const [name, run, extra] of paths) {
      if (where === 'local' && name.includes('no server prefetch')) continue; // the same as with: local slides are not prefetched
      const s = await startImagebox(config, extra); // a fresh server: no warm caches from the run before
      try {
        const before = where === 'remote' && slidePath ? await proxyStats() : undefined;
        const r = await run(s.base, where);
        const after = where === 'remote' && slidePath ? await proxyStats() : undefined;
        record(name, where, r, before ? { requests: after.requests - before.requests, bytes: after.bytesOut - before.bytesOut } : undefined);
      } finally {
        await s.stop();
      }
    }
  }
} finally {
  await stopRemote();
}

const out = `${DATA}/results/stream-session-dwell${DWELL}.json`;
writeFileSync(out, JSON.stringify({ slide: opt.slide, views: VIEWS, seed: +opt.seed, delayMs: +opt['delay-ms'], dwellMs: DWELL, rows }, null, 2));
console.log(`\n| path | slide | view p50 ms | p90 ms | 1-tile pan p50 ms | views needing tiles: p50 / p90 ms | views complete on arrival | prefetch hit | origin req / tile | origin bytes / tile | wire bytes / tile |`);
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  console.log(`| ${r.name} | ${r.where} | ${r.p50} | ${r.p90} | ${r.pan1p50} (${r.pan1n}) | ${r.newP50} / ${r.newP90} | ${r.cachedViews}/${VIEWS} | ${r.prefetchHit} | ${r.originRequestsPerTile ?? '-'} | ${r.originBytesPerTile ?? '-'} | ${r.wireBytesPerTile} |`);
}
const find = (n, w) => rows.find((r) => r.name === n && r.where === w);
for (const enc of ['rgba', 'jpeg']) {
  const rl = find(`WebSocket ${enc}`, 'local');
  const rr = find(`WebSocket ${enc}`, 'remote');
  const h = find('HTTP IIIF, 6 connections, no server prefetch', 'remote') ?? find('HTTP IIIF, 6 connections', 'remote');
  if (rl && rr) console.log(`WebSocket ${enc}: remote / local p50 ${(rr.p50 / rl.p50).toFixed(2)}x (target <= 1.2x); 1-tile pan p50 on the remote slide ${rr.pan1p50} ms (target <= 17)`);
  if (rr && h) console.log(`WebSocket ${enc} / HTTP IIIF (no prefetch) per view on the remote slide: ${(rr.p50 / h.p50).toFixed(2)}x p50 (target <= 0.5x)`);
}
console.log(`written: ${out}`);
