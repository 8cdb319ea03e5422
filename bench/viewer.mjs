#!/usr/bin/env node
// npm run bench:viewer: viewers in headless chromium (Debian's, through
// playwright-core), 1600x900 at devicePixelRatio 1, on the large benchmark
// slide behind the remote origin of bench/harness.mjs (+20 ms per request;
// BENCH_ORIGIN=nginx: nginx behind our shaping proxy), all in one run:
//   - our viewer in stream mode (/view/{id}: WebSocket to our server, which reads the origin);
//   - our viewer in direct mode (viewer.html?url=: a Web Worker reads the origin itself, no tile server);
//   - OpenSeadragon 6.1.1 on our /iiif/3 (canvas drawer, maxTilesPerFrame 16,
//     imageLoaderLimit 6, blendTime 0; settled = its world item fully loaded).
// One seeded walk for all (pans of half a view that keep their direction 70%
// of the time, zoom in / out by 2 around the centre 15% each), a dwell after
// each view (a reader looking), a fresh server and browser context per viewer.
// Reported: time from navigation to the first complete view, per-view
// completion p50/p90 (all views, and the half-view pans: adjacent fields of
// view), frame time while panning (rAF intervals during a 1 s programmatic
// drag of 600 px/s), origin requests.
//
//   npm run bench:viewer -- [--slide .bench-data/large.svs] [--views 40] [--seed 7] [--delay-ms 20] [--dwell-ms 300] [--only stream,direct,osd] [--renderer 2d|webgl2] [--smoke]
//
// Needs /usr/bin/chromium. --smoke: the small fixture slide, 3 views, no dwell
// (CI: it still runs; the times mean nothing).
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { DATA, SMOKE_SLIDE, pct, rng, startImagebox as startServer, startRemote } from './harness.mjs';

const { values: opt } = parseArgs({
  options: {
    slide: { type: 'string' },
    views: { type: 'string' },
    seed: { type: 'string', default: '7' },
    'delay-ms': { type: 'string', default: '20' },
    'dwell-ms': { type: 'string' },
    port: { type: 'string' },
    only: { type: 'string', default: 'stream,direct,osd' },
    renderer: { type: 'string', default: '' },
    smoke: { type: 'boolean', default: false },
  },
});
opt.slide ??= opt.smoke ? SMOKE_SLIDE : '.bench-data/large.svs';
opt.views ??= opt.smoke ? '3' : '40';
opt['dwell-ms'] ??= opt.smoke ? '0' : '300';
const slidePath = path.resolve(opt.slide);
if (!existsSync(slidePath)) {
  console.error(`no slide ${slidePath}: /usr/bin/python3 ../shared/fixtures/make_fixtures.py --large ${opt.slide}`);
  process.exit(2);
}
const W = 1600;
const H = 900;
const VIEWS = Number(opt.views);
const DWELL = Number(opt['dwell-ms']);
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ID = path.basename(slidePath);
let remote; // the remote origin (bench/harness.mjs startRemote), started in main

// ---- the seeded walk (level-0 centre and zoom: screen px per level-0 px) ---------------

function walk(width, height, seed, n) {
  const r = rng(seed);
  let zoom = 1 / 4;
  let x = width / 2;
  let y = height / 2;
  let dir = [1, 0];
  const out = [];
  for (let i = 0; i < n; i++) {
    const u = r();
    let kind = 'pan';
    if (u < 0.15 && zoom < 1) {
      kind = 'zoom-in';
      zoom *= 2;
    } else if (u < 0.3 && zoom > 1 / 32) {
      kind = 'zoom-out';
      zoom /= 2;
    } else {
      if (r() > 0.7) dir = [[1, 0], [-1, 0], [0, 1], [0, -1]][Math.floor(r() * 4)];
      x += (dir[0] * W) / 2 / zoom;
      y += (dir[1] * H) / 2 / zoom;
    }
    const hw = W / 2 / zoom;
    const hh = H / 2 / zoom;
    if (x < hw || x > width - hw) {
      dir = [-dir[0], dir[1]];
      x = Math.min(Math.max(x, hw), Math.max(hw, width - hw));
    }
    if (y < hh || y > height - hh) {
      dir = [dir[0], -dir[1]];
      y = Math.min(Math.max(y, hh), Math.max(hh, height - hh));
    }
    out.push({ kind, x: Math.round(x), y: Math.round(y), zoom });
  }
  return out;
}


// ---- the servers -------------------------------------------------------------------------

const slideUrl = () => `${remote.base}/${encodeURIComponent(ID)}`;
const startImagebox = () => startServer({ name: 'viewer-bench', config: { slides: { [ID]: { url: slideUrl() } } }, port: opt.port });

// ---- in the page: the same driver for every viewer -------------------------------------------

/** Per viewer: how to set a view, and when it is complete. Installed as window.bench. */
const DRIVERS = {
  ours: () => {
    const v = () => window.imagebox.viewer;
    window.bench = {
      ready: () => v().ready,
      set: (s) => v().setView({ x: s.x, y: s.y, zoom: s.zoom }),
      idle: () => v().whenIdle(60_000),
      pan: (dx) => v().panBy(-dx, 0),
      info: () => v().stats(),
    };
  },
  osd: () => {
    const osd = window.osd;
    const item = () => osd.world.getItemAt(0);
    const rect = (s) => {
      const w0 = item().source.dimensions.x;
      const vw = 1600 / s.zoom / w0;
      const vh = 900 / s.zoom / w0;
      return new OpenSeadragon.Rect(s.x / w0 - vw / 2, s.y / w0 - vh / 2, vw, vh);
    };
    window.bench = {
      ready: () => new Promise((r) => (item() ? r() : osd.world.addOnceHandler('add-item', () => r()))),
      set: (s) => osd.viewport.fitBounds(rect(s), true),
      idle: () =>
        new Promise((resolve) => {
          // OSD updates in its own animation frame: complete once it has drawn with every tile loaded
          let frames = 0;
          const check = () => {
            frames++;
            if (frames >= 2 && item().getFullyLoaded()) resolve();
            else requestAnimationFrame(check);
          };
          requestAnimationFrame(check);
        }),
      pan: (dx) => osd.viewport.panBy(new OpenSeadragon.Point(dx / osd.viewport.getContainerSize().x * osd.viewport.getBounds(true).width, 0), true),
      info: () => ({}),
    };
  },
};

async function runViewer(browser, name, url, setup, walkViews) {
  const ctx = await browser.newContext({ viewport: { width: W, height: H }, deviceScaleFactor: 1 });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const before = await remote.stats();
  const first = walkViews[0];
  await setup(page, url, first);
  await page.evaluate(DRIVERS[name === 'osd' ? 'osd' : 'ours']);
  const readyMs = await page.evaluate(async () => {
    await window.bench.ready();
    return performance.now();
  });
  // the first complete view: from navigation start (performance.now() counts from it)
  const firstMs = await page.evaluate(async (s) => {
    window.bench.set(s);
    await window.bench.idle();
    return performance.now();
  }, first);
  const times = [];
  const pans = [];
  for (const s of walkViews.slice(1)) {
    const ms = await page.evaluate(async (s) => {
      const t0 = performance.now();
      window.bench.set(s);
      await window.bench.idle();
      return performance.now() - t0;
    }, s);
    times.push(ms);
    if (s.kind === 'pan') pans.push(ms);
    await page.waitForTimeout(DWELL);
  }
  // frame time while panning: 1 s of a steady drag, 10 px per frame
  const frames = await page.evaluate(
    () =>
      new Promise((resolve) => {
        const out = [];
        let last = 0;
        const t0 = performance.now();
        const step = (now) => {
          if (last) out.push(now - last);
          last = now;
          window.bench.pan(10);
          if (now - t0 < 1000) requestAnimationFrame(step);
          else resolve(out);
        };
        requestAnimationFrame(step);
      }),
  );
  const info = await page.evaluate(() => window.bench.info());
  const after = await remote.stats();
  await ctx.close();
  return {
    name,
    readyMs,
    firstMs,
    times,
    pans,
    frames,
    info,
    originRequests: after.requests - before.requests,
    errors,
  };
}

// ---- main ------------------------------------------------------------------------------

const started = [];
try {
  remote = await startRemote(path.dirname(slidePath), opt['delay-ms']);
  started.push(remote.stop);
  console.log(`origin: ${remote.kind}`);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: FLAGS, headless: true });
  started.push(() => browser.close());
  // the slide's size, from a throw-away server
  let dims;
  {
    const s = await startImagebox();
    const info = await (await fetch(`${s.base}/iiif/3/${encodeURIComponent(ID)}/info.json`)).json();
    dims = { width: info.width, height: info.height };
    await s.stop();
  }
  const views = walk(dims.width, dims.height, Number(opt.seed), VIEWS + 1);
  const only = new Set(opt.only.split(','));
  const query = opt.renderer ? `&renderer=${opt.renderer}` : '';
  const hash = (s) => `${query}#x=${s.x}&y=${s.y}&z=${s.zoom}`;
  const runs = [];
  for (const name of ['stream', 'direct', 'osd']) {
    if (!only.has(name)) continue;
    const s = await startImagebox(); // a fresh server for each: no warm caches
    try {
      let r;
      if (name === 'stream') {
        r = await runViewer(browser, name, `${s.base}/view/${encodeURIComponent(ID)}?mode=stream`, (page, url, f) => page.goto(url + hash(f)), views);
      } else if (name === 'direct') {
        r = await runViewer(browser, name, `${s.base}/viewer.html?url=${encodeURIComponent(slideUrl())}`, (page, url, f) => page.goto(url + hash(f)), views);
      } else {
        r = await runViewer(
          browser,
          name,
          s.base,
          async (page, base, f) => {
            await page.goto(`${base}/health`);
            await page.setContent(`<!doctype html><html><body style="margin:0"><div id="v" style="width:${W}px;height:${H}px"></div></body></html>`);
            await page.addScriptTag({ url: `${base}/osd/openseadragon.min.js` });
            // the first view is set before the first tile is asked for: the same start as ours (its hash)
            await page.evaluate(
              ([base, id, f, w, h]) =>
                new Promise((resolve) => {
                  const osd = OpenSeadragon({
                    element: document.getElementById('v'),
                    prefixUrl: `${base}/osd/images/`,
                    tileSources: `${base}/iiif/3/${encodeURIComponent(id)}/info.json`,
                    drawer: 'canvas',
                    maxTilesPerFrame: 16,
                    imageLoaderLimit: 6,
                    blendTime: 0,
                    showNavigationControl: false,
                  });
                  window.osd = osd;
                  osd.addOnceHandler('open', () => {
                    const w0 = osd.world.getItemAt(0).source.dimensions.x;
                    const vw = w / f.zoom / w0;
                    const vh = h / f.zoom / w0;
                    osd.viewport.fitBounds(new OpenSeadragon.Rect(f.x / w0 - vw / 2, f.y / w0 - vh / 2, vw, vh), true);
                    resolve();
                  });
                }),
              [base, ID, f, W, H],
            );
          },
          views,
        );
      }
      runs.push(r);
    } finally {
      await s.stop();
    }
  }
  const FRAME = 1000 / 60;
  const rows = runs.map((r) => ({
    viewer: { stream: 'ours, stream mode', direct: 'ours, direct mode (no tile server)', osd: 'OpenSeadragon 6.1.1 on /iiif/3' }[r.name],
    first: +r.firstMs.toFixed(0),
    p50: pct(r.times, 50),
    p90: pct(r.times, 90),
    pan50: pct(r.pans, 50),
    pan90: pct(r.pans, 90),
    frame50: pct(r.frames, 50),
    frame95: pct(r.frames, 95),
    drawP95: r.info?.drawMs?.p95,
    origin: r.originRequests,
    errors: r.errors.length,
  }));
  console.log(`\n${VIEWS} views after the first (${views.filter((v) => v.kind === 'pan').length - 1} half-view pans), seed ${opt.seed}, dwell ${DWELL} ms, ${W}x${H}, origin +${opt['delay-ms']} ms per request\n`);
  console.log('| viewer | first complete view ms | view p50 ms | view p90 ms | half-view pan p50 | pan p90 | frame p50 ms | frame p95 ms | origin requests |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) console.log(`| ${r.viewer} | ${r.first} | ${r.p50} | ${r.p90} | ${r.pan50} | ${r.pan90} | ${r.frame50} | ${r.frame95} | ${r.origin} |`);
  const get = (n) => rows[runs.findIndex((r) => r.name === n)];
  const st = get('stream');
  const di = get('direct');
  const os = get('osd');
  if (st && os) console.log(`\nstream / OpenSeadragon: view p50 ${(st.p50 / os.p50).toFixed(2)}x, p90 ${(st.p90 / os.p90).toFixed(2)}x, pan p50 ${(st.pan50 / os.pan50).toFixed(2)}x, first view ${(st.first / os.first).toFixed(2)}x`);
  if (st && di) console.log(`direct / stream: first view ${(di.first / st.first).toFixed(2)}x, view p50 ${(di.p50 / st.p50).toFixed(2)}x`);
  if (st) console.log(`stream adjacent view p50 = ${(st.pan50 / FRAME).toFixed(2)} frames of 16.7 ms; frame p95 ${st.frame95} ms`);
  for (const r of runs) if (r.errors.length) console.log(`${r.name}: page errors: ${r.errors.slice(0, 3).join(' | ')}`);
  if (runs.some((r) => r.errors.length)) process.exitCode = 1; // a viewer that throws is a failed run (CI's smoke run too)
  writeFileSync(`${DATA}/results/viewer-bench${opt.smoke ? '-smoke' : ''}.json`, JSON.stringify({ opt, views, runs }, null, 1));
} finally {
  for (const stop of started.reverse()) {
    try {
      await stop();
    } catch {
      /* already gone */
    }
  }
}
