#!/usr/bin/env node
// Remote slide I/O, end to end: open + random level-0 tiles of a slide behind a
// remote origin with 20 ms per request (bench/harness.mjs startRemote: our
// origin, or with BENCH_ORIGIN=nginx nginx behind our shaping proxy), our
// reader vs geotiff.js 3.0.5 in the same process on the same tile sequence.
// Measures wall time, requests (counted by the origin) and bytes; no decoding
// (geotiff.js is given a pass-through decoder), so this is I/O only.
//
//   npm run build && node bench/remote-io.mjs [--slide .bench-data/large.svs] [--delay-ms 20] [--tiles 200] [--seed 1] [--smoke]
//
// --smoke: the small fixture slide, 10 tiles (CI). Prints a JSON summary and a markdown table.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fromUrl } from 'geotiff';
import { openSlide } from '../dist/index.js';
import { SMOKE_SLIDE, startRemote } from './harness.mjs';

const { values: opt } = parseArgs({
  options: {
    slide: { type: 'string' },
    'delay-ms': { type: 'string', default: '20' },
    tiles: { type: 'string' },
    seed: { type: 'string', default: '1' },
    smoke: { type: 'boolean', default: false },
  },
});
opt.slide ??= opt.smoke ? SMOKE_SLIDE : '.bench-data/large.svs';
opt.tiles ??= opt.smoke ? '10' : '200';
const slidePath = path.resolve(opt.slide);
if (!existsSync(slidePath)) {
  console.error(`no slide at ${slidePath}: make it with\n  /usr/bin/python3 ../shared/fixtures/make_fixtures.py --large .bench-data/large.svs`);
  process.exit(2);
}

function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x / 0x100000000;
  };
}
const median = (a) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
const remote = await startRemote(path.dirname(slidePath), opt['delay-ms']);
const proxyStats = remote.stats;
const url = `${remote.base}/${encodeURIComponent(path.basename(slidePath))}`;
console.error(`origin: ${remote.kind}`);
const results = {};
try {
  // The same random tile sequence for both readers.
  const probe = await openSlide(url);
  const l0 = probe.levels[0];
  await probe.close();
  const rand = rng(Number(opt.seed));
  const seq = Array.from({ length: Number(opt.tiles) }, () => [Math.floor(rand() * l0.cols), Math.floor(rand() * l0.rows)]);

  const readers = {
    imagebox: async () => {
      const s = await openSlide(url);
      return { tile: async (c, r) => (await s.tile(0, c, r)).bytes.length, close: () => s.close() };
    },
    'geotiff.js 3.0.5': async () => {
      const tiff = await fromUrl(url, { allowFullFile: false });
      // Walk every IFD, as our open does (it reports the whole pyramid and the associated images).
      await tiff.getImageCount();
      const image = await tiff.getImage(0);
      const raw = { decode: async (slice) => slice.data ?? slice };
      return { tile: async (c, r) => (await image.getTileOrStrip(c, r, 0, raw)).data.byteLength, close: async () => tiff.close?.() };
    },
  };
  for (const [name, make] of Object.entries(readers)) {
    const s0 = await proxyStats();
    const t0 = performance.now();
    const reader = await make();
    const openMs = performance.now() - t0;
    const s1 = await proxyStats();
    const lat = [];
    const reqs = [];
    let bytes = 0;
    for (const [c, r] of seq) {
      const b = await proxyStats();
      const t = performance.now();
      bytes += await reader.tile(c, r);
      lat.push(performance.now() - t);
      const a = await proxyStats();
      reqs.push(a.requests - b.requests);
    }
    await reader.close();
    const half = Math.floor(seq.length / 2);
    results[name] = {
      openMs: +openMs.toFixed(1),
      openRequests: s1.requests - s0.requests,
      firstTileMs: +lat[0].toFixed(1),
      firstTileRequests: reqs[0],
      tileP50Ms: +median(lat).toFixed(1),
      tileP90Ms: +pct(lat, 0.9).toFixed(1),
      secondHalfTileP50Ms: +median(lat.slice(half)).toFixed(1),
      requestsPerTile: +(reqs.reduce((x, y) => x + y, 0) / reqs.length).toFixed(2),
      secondHalfRequestsPerTile: +(reqs.slice(half).reduce((x, y) => x + y, 0) / (seq.length - half)).toFixed(2),
      tileBytes: bytes,
    };
  }
} finally {
  await remote.stop();
}
const ours = results.imagebox;
const theirs = results['geotiff.js 3.0.5'];
console.log(JSON.stringify({ slide: opt.slide, delayMs: Number(opt['delay-ms']), tiles: Number(opt.tiles), results }, null, 2));
console.log(`\n| reader | open ms | open requests | tile p50 ms | tile p90 ms | requests/tile | 2nd-half p50 ms | 2nd-half requests/tile |`);
console.log(`| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`);
for (const [n, r] of Object.entries(results)) {
  console.log(`| ${n} | ${r.openMs} | ${r.openRequests} | ${r.tileP50Ms} | ${r.tileP90Ms} | ${r.requestsPerTile} | ${r.secondHalfTileP50Ms} | ${r.secondHalfRequestsPerTile} |`);
}
console.log(`\nratio geotiff.js / imagebox: open ${(theirs.openMs / ours.openMs).toFixed(2)}x, tile p50 ${(theirs.tileP50Ms / ours.tileP50Ms).toFixed(2)}x, requests/tile ${(theirs.requestsPerTile / ours.requestsPerTile).toFixed(2)}x`);
