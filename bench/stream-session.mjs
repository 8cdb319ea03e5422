#!/usr/bin/env node
// npm run bench:stream: one seeded viewer session (1920x1080; pans of 1-3 tiles
// with momentum, zoom in, zoom out) on the large slide, replayed the same way
//   - over the WebSocket stream (imagebox/stream), encodings rgba and jpeg;
//   - over HTTP IIIF, six parallel keep-alive connections (a browser's), tiles
//     of the native levels (passthrough), the client prefetching nothing; once
//     with the server's neighbour prefetch for plain IIIF clients (the default)
//     and once without (--no-iiif-prefetch);
// on the slide as a local file and behind the remote origin of bench/harness.mjs
// (+20 ms per request; BENCH_ORIGIN=nginx: nginx behind our shaping proxy), all
// in one run. Per path: view
// completion p50/p90 (all views, and the 1-tile pans), prefetch hit rate,
// origin requests and bytes per visible tile, bytes on the wire.
//
//   npm run bench:stream -- [--slide .bench-data/large.svs] [--views 120] [--seed 1] [--delay-ms 20] [--dwell-ms 150] [--smoke]
//
// --smoke: the small fixture slide, 6 views, no dwell, +2 ms (CI: it still runs).
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DATA, SMOKE_SLIDE, pct, startImagebox as startServer, startRemote } from './harness.mjs';
import { iiifSession, streamSession, walk } from './lib/viewer-walk.mjs';

const { values: opt } = parseArgs({
  options: {
    slide: { type: 'string' },
    views: { type: 'string' },
    seed: { type: 'string', default: '1' },
    'delay-ms': { type: 'string' },
    'dwell-ms': { type: 'string' },
    port: { type: 'string' },
    only: { type: 'string' },
    smoke: { type: 'boolean', default: false },
  },
});
const smoke = opt.smoke;
opt.slide ??= smoke ? SMOKE_SLIDE : '.bench-data/large.svs';
opt.views ??= smoke ? '6' : '120';
opt['delay-ms'] ??= smoke ? '2' : '20';
opt['dwell-ms'] ??= smoke ? '0' : '150';
const slidePath = /^https?:/.test(opt.slide) ? undefined : path.resolve(opt.slide);
if (slidePath && !existsSync(slidePath)) {
  console.error(`no slide ${slidePath}: /usr/bin/python3 ../shared/fixtures/make_fixtures.py --large ${opt.slide}`);
  process.exit(2);
}
const VIEWS = Number(opt.views);
const DWELL = Number(opt['dwell-ms']);

// ---- the servers ------------------------------------------------------------------------

const startImagebox = (config, extra = []) => startServer({ name: 'stream-bench', config, port: opt.port, args: ['--direct', ...extra] });

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
let remote;
if (slidePath) {
  remote = await startRemote(path.dirname(slidePath), opt['delay-ms']);
  remoteUrl = `${remote.base}/${encodeURIComponent(path.basename(slidePath))}`;
  stopRemote = remote.stop;
  console.log(`origin: ${remote.kind}`);
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
    ['WebSocket rgba', (b, id) => streamSession(b, id, 'rgba', views, { dwellMs: DWELL }), []],
    ['WebSocket jpeg', (b, id) => streamSession(b, id, 'jpeg', views, { dwellMs: DWELL }), []],
    ['HTTP IIIF, 6 connections', (b, id) => iiifSession(b, id, levels, views, { dwellMs: DWELL }), []],
    ['HTTP IIIF, 6 connections, no server prefetch', (b, id) => iiifSession(b, id, levels, views, { dwellMs: DWELL }), ['--no-iiif-prefetch']],
  ].filter(([name]) => !opt.only || name.includes(opt.only));
  for (const where of slidePath ? ['local', 'remote'] : ['remote']) {
    for (const [name, run, extra] of paths) {
      if (where === 'local' && name.includes('no server prefetch')) continue; // the same as with: local slides are not prefetched
      const s = await startImagebox(config, extra); // a fresh server: no warm caches from the run before
      try {
        const before = where === 'remote' && remote ? await remote.stats() : undefined;
        const r = await run(s.base, where);
        const after = where === 'remote' && remote ? await remote.stats() : undefined;
        record(name, where, r, before ? { requests: after.requests - before.requests, bytes: after.bytes - before.bytes } : undefined);
      } finally {
        await s.stop();
      }
    }
  }
} finally {
  await stopRemote();
}

const out = `${DATA}/results/stream-session${smoke ? '-smoke' : ''}-dwell${DWELL}.json`;
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
