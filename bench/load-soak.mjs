#!/usr/bin/env node
// npm run bench:load (issue 11, "load and soak"): many viewers and IIIF clients
// at once, for minutes, against a server that reads its slide from an origin
// that breaks a share of its answers; every tile received is checked.
//
//   - the server under test: `imagebox serve` reading the slide from the bench
//     origin (bench/lib/origin.mjs --chaos RATE: a seeded share of its range
//     answers reset, 503, hung, slow, with a wrong Content-Range, short, 200 for a
//     range, 416, multipart parts missing or reordered), a small response cache
//     (--cache-mb 32) so that it keeps reading the origin;
//   - a reference server: `imagebox serve` on the same slide as a local file, no faults;
//   - --viewers WebSocket viewers (imagebox/stream, the project's client), each a
//     pathologist: opens the slide, pans (momentum), zooms in and out, jumps, with a
//     dwell between moves; after a session of views it hangs up and comes back on a
//     new connection. A share of them (--rgba-share) take decoded rgba, the rest jpeg;
//   - --clients IIIF clients (one keep-alive connection each, undici), one request at
//     a time with a think time: random tiles of random levels (the scale factors of
//     info.json, native ones mostly) and some scaled regions (transcoded), IIIF 3 and 2.
// Every tile from the server under test is hashed (sha256) and compared with the
// reference: the same URL from the reference server (IIIF), or the same tile and
// encoding from a reference stream client (one tile-sized view each), fetched the
// first time a tile is seen and remembered. Corrupt = a 200 / a TILE whose bytes
// differ. Both servers are the same build on the same bytes, and their encoders are
// deterministic, so the bytes must be equal (--fault-rate 0: none differ).
//
// Reports every --report-s and at the end: tiles served (IIIF, stream), IIIF
// errors by status and code, stream error frames by code, corrupt tiles, latency
// p50/p99 (IIIF tile: request to last byte; stream: view sent to all its tiles
// arrived), the origin's requests and broken answers by kind, the server's RSS
// (VmRSS every 5 s) at the end of the warm-up (--warmup-s, default 20 % of the run,
// at most 60 s), half-way, its max and at the end of the load, and a verdict: "flat"
// when the end is within --rss-bound (10 %) of the warm-up value; "filling after the
// warm-up, flat over the second half" when only the second half is (caches and
// buffers that fill stop, a leak does not); else "growing". The summary goes to
// .bench-data/results/load-soak[-smoke].json. Exit status 1 if a tile was corrupt,
// a server crashed, or the server under test no longer serves a clean tile after
// the soak (the error rate and the times are reported, not judged).
// Loopback only; bounded in time; every process it started is stopped at the end
// (also on Ctrl-C).
//
//   npm run bench:load -- [--slide .bench-data/generated.svs] [--seconds 300] [--viewers 200] [--clients 100]
//                         [--fault-rate 0.2] [--fault-kinds reset,503,...] [--chaos-seed 1] [--cache-mb 32] [--delay-ms 10] [--warmup-s 60]
//                         [--report-s 30] [--rgba-share 0.1] [--think-ms 100] [--seed 1] [--direct] [--heap-reports] [--smoke]
//
// --heap-reports: the server under test runs with node's diagnostic report on SIGUSR2,
// sent every --report-s: the JS heap of its main thread and of each pixel worker next
// to the RSS (is a growth in the JS heap, or outside it?).
//
// --smoke: the small fixture slide, 15 s, 20 viewers, 10 clients (CI).
import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { connectTileStream } from 'imagebox/stream';
import { DATA, SMOKE_SLIDE, pct, rng, startImagebox, startRemote } from './harness.mjs';
import { procMb } from './lib/util.mjs';

const { values: opt } = parseArgs({
  options: {
    slide: { type: 'string' },
    seconds: { type: 'string' },
    viewers: { type: 'string' },
    clients: { type: 'string' },
    'fault-rate': { type: 'string', default: '0.2' },
    'chaos-seed': { type: 'string', default: '1' },
    'fault-kinds': { type: 'string' },
    'hang-ms': { type: 'string' },
    'cache-mb': { type: 'string', default: '32' },
    'delay-ms': { type: 'string' },
    'warmup-s': { type: 'string' },
    'report-s': { type: 'string' },
    'rgba-share': { type: 'string', default: '0.1' },
    'think-ms': { type: 'string', default: '100' },
    'view-timeout-s': { type: 'string' },
    'rss-bound': { type: 'string', default: '0.1' },
    'idle-s': { type: 'string' },
    seed: { type: 'string', default: '1' },
    direct: { type: 'boolean', default: false },
    'heap-reports': { type: 'boolean', default: false },
    smoke: { type: 'boolean', default: false },
  },
});
const smoke = opt.smoke;
opt.slide ??= smoke ? SMOKE_SLIDE : '.bench-data/generated.svs';
const SECONDS = Number(opt.seconds ?? (smoke ? 15 : 300));
const VIEWERS = Number(opt.viewers ?? (smoke ? 20 : 200));
const CLIENTS = Number(opt.clients ?? (smoke ? 10 : 100));
const FAULT_RATE = Number(opt['fault-rate']);
const CHAOS_SEED = Number(opt['chaos-seed']);
const FAULT_KINDS = opt['fault-kinds']; // e.g. reset,503,hang (bench/lib/origin.mjs CHAOS_KINDS; default all)
const HANG_MS = Number(opt['hang-ms'] ?? (smoke ? 500 : 2000));
const DELAY_MS = Number(opt['delay-ms'] ?? (smoke ? 2 : 10));
const WARMUP_S = Number(opt['warmup-s'] ?? Math.min(60, Math.round(SECONDS * 0.2)));
const REPORT_S = Number(opt['report-s'] ?? (smoke ? 5 : 30));
const RGBA_SHARE = Number(opt['rgba-share']);
const THINK_MS = Number(opt['think-ms']);
const VIEW_TIMEOUT_MS = Number(opt['view-timeout-s'] ?? (smoke ? 20 : 60)) * 1000;
const RSS_BOUND = Number(opt['rss-bound']);
const IDLE_S = Number(opt['idle-s'] ?? (smoke ? 0 : 10));
const SEED = Number(opt.seed);
const DWELL = smoke ? [100, 600] : [300, 3000]; // ms between a view's completion and the next move
const SESSION_VIEWS = smoke ? [4, 12] : [40, 200]; // views before a viewer hangs up and comes back
const RSS_EVERY_MS = smoke ? 1000 : 5000;
const GRACE_MS = 10_000; // after the deadline, for what is in flight
const MAX_STREAM_CONNECTIONS = 256; // src/server/uws/stream-endpoint.ts (not a CLI flag)
const ID = 'soak';

const slidePath = path.resolve(opt.slide);
if (!existsSync(slidePath)) {
  console.error(`no slide ${slidePath}: npm run bench:data (makes .bench-data/generated.svs), or --slide PATH`);
  process.exit(2);
}
if (VIEWERS > MAX_STREAM_CONNECTIONS) {
  console.error(`--viewers ${VIEWERS}: the server takes ${MAX_STREAM_CONNECTIONS} stream connections at once (more get 503 at the upgrade)`);
  process.exit(2);
}
if (!(FAULT_RATE >= 0 && FAULT_RATE <= 1)) {
  console.error(`--fault-rate ${FAULT_RATE}: not in [0, 1]`);
  process.exit(2);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sha = (bytes) => createHash('sha256').update(bytes).digest('base64');
const bump = (o, k, n = 1) => void (o[k] = (o[k] ?? 0) + n);
const sum = (o) => Object.values(o).reduce((a, b) => a + b, 0);
const round = (x, d = 1) => (Number.isFinite(x) ? +x.toFixed(d) : null);
const errText = (e) => String(e?.code ?? e?.cause?.code ?? e?.name ?? 'Error');

/** CPU seconds (user + system, all threads) of a process so far; undefined if gone. */
function cpuSeconds(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return undefined;
  }
}

// ---- the run's state ---------------------------------------------------------------

const stopLoad = new AbortController(); // the deadline: no new requests, views or sessions
const hardStop = new AbortController(); // the grace is over: what is still in flight is cut
setMaxListeners(0, stopLoad.signal, hardStop.signal); // every viewer, client and pause listens
const stopping = () => stopLoad.signal.aborted;
/** A sleep that ends early at the deadline. */
const pause = (ms) =>
  new Promise((r) => {
    if (stopping()) return r();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      stopLoad.signal.removeEventListener('abort', done);
      r();
    }
    stopLoad.signal.addEventListener('abort', done, { once: true });
  });

const fresh = () => ({
  iiif: { requests: 0, ok: 0, bytes: 0, errors: {}, lat: [], latNative: [], latScaled: [] },
  stream: { tiles: 0, prefetched: 0, bytes: 0, views: 0, viewsNeedingTiles: 0, viewLat: [], viewLatNew: [], viewTimeouts: 0, timeoutsByEncoding: {}, viewLatNewByEncoding: {}, errorFrames: {}, connectErrors: {}, closedUnexpectedly: 0, sessions: 0 },
});
const total = fresh();
let interval = fresh();
const check = { verified: 0, corrupt: 0, pending: 0, refErrors: {}, samples: [] };
/** What the errors said: per code, the first few distinct messages (digits folded, so one shape counts once). */
const messages = { iiif: {}, stream: {} };
function sampleMessage(where, code, message) {
  if (!messages[where][code] && Object.keys(messages[where]).length >= 40) return;
  const list = (messages[where][code] ??= []);
  const shape = String(message ?? '').slice(0, 240);
  const key = shape.replace(/\d+/g, '#');
  if (list.length < 6 && !list.some((m) => m.replace(/\d+/g, '#') === key)) list.push(shape);
}
const timeoutSamples = [];
const pendingChecks = new Set();

// ---- reference hashes --------------------------------------------------------------

/** IIIF reference: the same path from the reference server, hashed, remembered. */
class IiifReference {
  constructor(base) {
    this.pool = new Pool(base, { connections: 16, pipelining: 1, headersTimeout: 120_000, bodyTimeout: 120_000 });
    this.memo = new Map();
  }
  hash(p) {
    let h = this.memo.get(p);
    if (!h) {
      h = this.fetch(p);
      this.memo.set(p, h);
      h.catch(() => this.memo.delete(p)); // a failed reference is asked again next time
    }
    return h;
  }
  async fetch(p) {
    for (let attempt = 0; ; attempt++) {
      const res = await this.pool.request({ method: 'GET', path: p });
      const body = Buffer.from(await res.body.arrayBuffer());
      if (res.statusCode === 200) return sha(body);
      if (res.statusCode !== 503 || attempt >= 5) throw new Error(`reference IIIF ${res.statusCode}`);
      await sleep(100 * (attempt + 1));
    }
  }
  close() {
    return this.pool.close();
  }
}

/**
 * Stream reference for one encoding: `n` connections to the reference server; a tile
 * not seen yet is asked for with a view of exactly that tile (no motion). Every tile
 * these connections receive (the prefetch too) is remembered.
 */
class StreamReference {
  constructor(wsUrl, encoding, n) {
    Object.assign(this, { wsUrl, encoding, n });
    this.memo = new Map(); // key -> { hash } | { waiters: [{resolve, reject}] }
    this.queue = [];
    this.wake = [];
    this.closed = false;
  }
  async start() {
    this.workers = Array.from({ length: this.n }, () => this.worker());
  }
  key(level, col, row) {
    return `${level}/${col}/${row}`;
  }
  got(key, hash) {
    const m = this.memo.get(key);
    this.memo.set(key, { hash });
    for (const w of m?.waiters ?? []) w.resolve(hash);
  }
  failed(key, e) {
    const m = this.memo.get(key);
    if (!m?.waiters) return;
    this.memo.delete(key);
    for (const w of m.waiters) w.reject(e);
  }
  hash(level, col, row) {
    const key = this.key(level, col, row);
    const m = this.memo.get(key);
    if (m?.hash) return Promise.resolve(m.hash);
    return new Promise((resolve, reject) => {
      if (m) m.waiters.push({ resolve, reject });
      else {
        this.memo.set(key, { waiters: [{ resolve, reject }] });
        this.queue.push({ key, level, col, row });
        this.wake.shift()?.();
      }
    });
  }
  async connect() {
    const s = await connectTileStream(this.wsUrl, { encodings: [this.encoding], inFlightBytes: 32 * 2 ** 20 });
    const slide = await s.open(ID);
    s.on('tile', (t) => this.got(this.key(t.level, t.col, t.row), tileHash(t)));
    s.on('error', (e) => {
      const f = e.frame;
      if (f && f.level !== undefined) this.failed(this.key(f.level, f.col, f.row), new Error(`reference stream ${f.code}`));
    });
    return { s, slide };
  }
  async worker() {
    let c;
    while (!this.closed) {
      const job = this.queue.shift();
      if (!job) {
        await new Promise((r) => this.wake.push(r));
        continue;
      }
      if (this.memo.get(job.key)?.hash) continue;
      try {
        if (!c || !c.s.connected) c = await this.connect();
        const l = c.slide.levels[job.level];
        let timer;
        await Promise.race([
          c.s.view(c.slide.handle, { level: job.level, x: job.col * l.tileWidth, y: job.row * l.tileHeight, width: l.tileWidth, height: l.tileHeight }, { vx: 0, vy: 0 }),
          new Promise((_, rej) => (timer = setTimeout(() => rej(new Error('reference view timeout')), 60_000))),
        ]).finally(() => clearTimeout(timer));
        if (!this.memo.get(job.key)?.hash) this.failed(job.key, new Error('reference stream: tile not delivered'));
      } catch (e) {
        this.failed(job.key, e);
        if (c && !c.s.connected) c = undefined;
      }
    }
    await c?.s.close().catch(() => {});
  }
  async close() {
    this.closed = true;
    for (const w of this.wake.splice(0)) w();
    await Promise.all(this.workers ?? []);
  }
}

/** A stream tile's identity: its size, flags and payload. */
function tileHash(t) {
  return `${t.width}x${t.height}${t.missing ? ' missing' : ''}${t.transcoded ? ' transcoded' : ''} ${t.missing ? '' : sha(t.data)}`;
}

/** Compare a received tile's hash with the reference's, in the background. */
function verify(what, got, want, body) {
  check.pending++;
  if (body && (body.length > 128 * 1024 || check.pending > 2000)) body = undefined; // rgba tiles, or a lagging reference: hashes only
  const p = want
    .then(
      (ref) => {
        check.verified++;
        if (ref !== got) {
          check.corrupt++;
          if (check.samples.length < 10) {
            const file = `${DATA}/results/load-soak-corrupt-${check.samples.length + 1}.bin`;
            if (body) writeFileSync(file, body);
            check.samples.push({ what, got, want: ref, at: round((performance.now() - T0) / 1000), file: body ? path.relative(process.cwd(), file) : undefined });
            console.log(`CORRUPT ${what}: ${got.slice(-16)} != reference ${ref.slice(-16)}`);
          }
        }
      },
      (e) => bump(check.refErrors, String(e?.message ?? e).slice(0, 80)),
    )
    .finally(() => {
      check.pending--;
      pendingChecks.delete(p);
    });
  pendingChecks.add(p);
}

// ---- the viewer: a pathologist on the stream -----------------------------------------

const VIEWPORTS = [
  [1280, 720],
  [1920, 1080],
  [2560, 1440],
];

/** Endless views: pans with momentum, zooms in (towards a point near the centre) and out, jumps elsewhere. */
function* pathologist(levels, r) {
  const [W, H] = VIEWPORTS[Math.floor(r() * VIEWPORTS.length)];
  let level = Math.min(levels.length - 1, Math.max(0, levels.length - 2));
  const L = () => levels[level];
  let cx = L().width * (0.2 + 0.6 * r());
  let cy = L().height * (0.2 + 0.6 * r());
  let dir = [1, 0];
  for (;;) {
    const u = r();
    let kind = 'pan';
    if (u < 0.2 && level > 0) {
      kind = 'zoom-in';
      const f = L().downsample / levels[level - 1].downsample;
      cx = (cx + (r() - 0.5) * W * 0.5) * f;
      cy = (cy + (r() - 0.5) * H * 0.5) * f;
      level--;
    } else if (u < 0.35 && level < levels.length - 1) {
      kind = 'zoom-out';
      const f = levels[level + 1].downsample / L().downsample;
      level++;
      cx /= f;
      cy /= f;
    } else if (u < 0.42) {
      kind = 'jump';
      cx += (r() - 0.5) * 3 * W;
      cy += (r() - 0.5) * 3 * H;
    } else {
      if (r() > 0.7) dir = [[1, 0], [-1, 0], [0, 1], [0, -1]][Math.floor(r() * 4)];
      const step = r() < 0.6 ? (1 + Math.floor(r() * 3)) * L().tileWidth : (0.25 + 0.35 * r()) * W;
      cx += dir[0] * step;
      cy += dir[1] * step;
    }
    const l = L();
    const clamp = (c, size, v) => Math.min(Math.max(c, v / 2), Math.max(v / 2, size - v / 2));
    if (cx < W / 2 || cx > l.width - W / 2) dir = [-dir[0], dir[1]];
    if (cy < H / 2 || cy > l.height - H / 2) dir = [dir[0], -dir[1]];
    cx = clamp(cx, l.width, W);
    cy = clamp(cy, l.height, H);
    yield { kind, level, x: Math.round(cx - W / 2), y: Math.round(cy - H / 2), width: W, height: H };
  }
}

async function viewer(i, wsUrl, refs, startDelay) {
  await pause(startDelay);
  const r = rng(SEED * 7919 + i);
  const encoding = i < Math.round(VIEWERS * RGBA_SHARE) ? 'rgba' : 'jpeg';
  while (!stopping()) {
    let s;
    try {
      s = await connectTileStream(wsUrl, { encodings: [encoding], client: `soak-viewer-${i}` });
    } catch (e) {
      bump(total.stream.connectErrors, e.code ?? errText(e));
      bump(interval.stream.connectErrors, e.code ?? errText(e));
      sampleMessage('stream', `connect ${e.code ?? errText(e)} (first at ${round((performance.now() - T0) / 1000)} s)`, e.message);
      await pause(1000);
      continue;
    }
    let bye = false;
    const cut = () => void s.close().catch(() => {});
    hardStop.signal.addEventListener('abort', cut);
    s.on('close', () => {
      if (!bye && !hardStop.signal.aborted) {
        total.stream.closedUnexpectedly++;
        interval.stream.closedUnexpectedly++;
      }
    });
    s.on('tile', (t) => {
      for (const st of [total.stream, interval.stream]) {
        st.tiles++;
        if (t.prefetched) st.prefetched++;
        st.bytes += t.data.length;
      }
      verify(`stream ${encoding} ${t.level}/${t.col}/${t.row}`, tileHash(t), refs[encoding].hash(t.level, t.col, t.row), t.data.length <= 128 * 1024 ? Buffer.from(t.data) : undefined);
    });
    s.on('error', (e) => {
      if (e.frame) {
        bump(total.stream.errorFrames, e.frame.code);
        bump(interval.stream.errorFrames, e.frame.code);
        sampleMessage('stream', e.frame.code, e.frame.message);
      }
    });
    try {
      total.stream.sessions++;
      interval.stream.sessions++;
      const slide = await s.open(ID);
      const walk = pathologist(slide.levels, r);
      const n = SESSION_VIEWS[0] + Math.floor(r() * (SESSION_VIEWS[1] - SESSION_VIEWS[0] + 1));
      for (let k = 0; k < n && !stopping(); k++) {
        const v = walk.next().value;
        let timer;
        const viewing = s.view(slide.handle, v);
        const res = await Promise.race([viewing, new Promise((resolve) => (timer = setTimeout(() => resolve('timeout'), VIEW_TIMEOUT_MS)))]).finally(() => clearTimeout(timer));
        if (res === 'timeout') {
          for (const st of [total.stream, interval.stream]) {
            st.viewTimeouts++;
            bump(st.timeoutsByEncoding, encoding);
          }
          if (timeoutSamples.length < 10) {
            // which of its tiles never came, and what the server says of this connection
            const l = slide.levels[v.level];
            let visible = 0;
            let missing = 0;
            for (let row = Math.max(0, Math.floor(v.y / l.tileHeight)); row <= Math.min(l.rows - 1, Math.floor((v.y + v.height - 1) / l.tileHeight)); row++) {
              for (let col = Math.max(0, Math.floor(v.x / l.tileWidth)); col <= Math.min(l.cols - 1, Math.floor((v.x + v.width - 1) / l.tileWidth)); col++) {
                visible++;
                if (!s.has(slide.handle, v.level, col, row)) missing++;
              }
            }
            const server = await Promise.race([s.serverStats(), sleep(3000).then(() => 'no answer in 3 s')]).catch((e) => String(e?.message ?? e));
            const sample = { viewer: i, encoding, atS: round((performance.now() - T0) / 1000), view: v, visible, missing, server };
            timeoutSamples.push(sample);
            // slow or stuck? this viewer waits up to another minute for the same view
            const late = await Promise.race([viewing.then((x) => x, () => 'closed'), sleep(60_000).then(() => 'not within another 60 s')]);
            sample.completedAfterMs = typeof late === 'object' ? (late.superseded ? 'superseded' : round(late.ms)) : late;
          }
        } else if (!res.superseded && !hardStop.signal.aborted) {
          for (const st of [total.stream, interval.stream]) {
            st.views++;
            st.viewLat.push(res.ms);
            if (!res.cached) {
              st.viewsNeedingTiles++;
              st.viewLatNew.push(res.ms);
              (st.viewLatNewByEncoding[encoding] ??= []).push(res.ms);
            }
          }
        }
        await pause(DWELL[0] + r() * (DWELL[1] - DWELL[0]));
      }
    } catch (e) {
      if (!hardStop.signal.aborted) {
        bump(total.stream.connectErrors, `session: ${e.code ?? errText(e)}`);
        bump(interval.stream.connectErrors, `session: ${e.code ?? errText(e)}`);
        sampleMessage('stream', `session ${e.code ?? errText(e)} (first at ${round((performance.now() - T0) / 1000)} s)`, e.message);
        await pause(1000);
      }
    } finally {
      bye = true;
      hardStop.signal.removeEventListener('abort', cut);
      await s.close().catch(() => {});
    }
  }
}

// ---- the IIIF client ---------------------------------------------------------------

/** Random tiles as a IIIF viewer asks for them: a scale factor of info.json (native levels 80 %), a tile of its grid; 10 % scaled regions (transcoded). */
function iiifPicker(info, levels, r) {
  const { width: W, height: H } = info;
  const tile = info.tiles[0];
  const T = tile.width;
  const native = levels.map((l) => Math.round(l.downsample));
  const other = tile.scaleFactors.filter((f) => !native.includes(f));
  return (version) => {
    const u = r();
    let x;
    let y;
    let rw;
    let rh;
    let w;
    let kind;
    if (u < 0.1) {
      // a 2x2-tile region of level 0 scaled to one tile (decoded, resized, encoded)
      kind = 'scaled';
      const cols = Math.max(1, Math.floor(W / (2 * T)));
      const rows = Math.max(1, Math.floor(H / (2 * T)));
      x = Math.floor(r() * cols) * 2 * T;
      y = Math.floor(r() * rows) * 2 * T;
      rw = Math.min(2 * T, W - x);
      rh = Math.min(2 * T, H - y);
      w = Math.ceil(rw / 2);
    } else {
      // native levels, the fine ones more often (55 %, 25 %, 11 %, 9 % on four levels); 10 % the other scale factors
      let k = 0;
      while (k < native.length - 1 && r() < 0.45) k++;
      const f = u < 0.9 || other.length === 0 ? native[k] : other[Math.floor(r() * other.length)];
      kind = native.includes(f) ? 'native' : 'scaled';
      const span = T * f;
      const cols = Math.ceil(W / span);
      const rows = Math.ceil(H / span);
      x = Math.floor(r() * cols) * span;
      y = Math.floor(r() * rows) * span;
      rw = Math.min(span, W - x);
      rh = Math.min(span, H - y);
      w = Math.ceil(rw / f);
    }
    return { kind, path: `/iiif/${version}/${ID}/${x},${y},${rw},${rh}/${w},/0/default.jpg` };
  };
}

async function iiifClient(i, base, info, levels, ref, startDelay) {
  await pause(startDelay);
  const r = rng(SEED * 104729 + i);
  const version = i % 5 === 4 ? 2 : 3;
  const pick = iiifPicker(info, levels, r);
  const pool = new Pool(base, { connections: 1, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 120_000, bodyTimeout: 120_000 });
  try {
    while (!stopping()) {
      const { kind, path: p } = pick(version);
      const t0 = performance.now();
      let status;
      let body;
      try {
        const res = await pool.request({ method: 'GET', path: p, signal: hardStop.signal });
        body = Buffer.from(await res.body.arrayBuffer());
        status = res.statusCode;
      } catch (e) {
        if (hardStop.signal.aborted) break;
        status = `client ${errText(e)}`;
      }
      const ms = performance.now() - t0;
      for (const st of [total.iiif, interval.iiif]) {
        st.requests++;
        if (status === 200) {
          st.ok++;
          st.bytes += body.length;
          st.lat.push(ms);
          (kind === 'native' ? st.latNative : st.latScaled).push(ms);
        } else {
          let code = '';
          try {
            code = JSON.parse(body.toString('utf8')).error?.code ?? '';
          } catch {
            /* not JSON */
          }
          bump(st.errors, `${status}${code ? ` ${code}` : ''}`);
        }
      }
      if (status !== 200) {
        let message = typeof status === 'string' ? status : '';
        try {
          message = JSON.parse(body.toString('utf8')).error?.message ?? message;
        } catch {
          /* not JSON */
        }
        sampleMessage('iiif', String(status), message);
      }
      if (status === 200) verify(`iiif ${p}`, sha(body), ref.hash(p), body);
      if (THINK_MS > 0) await pause(r() * 2 * THINK_MS);
    }
  } finally {
    await pool.close().catch(() => {});
  }
}

// ---- report ------------------------------------------------------------------------

function iiifLine(st, secs) {
  const errs = st.requests - st.ok;
  return `IIIF ${round(st.ok / secs)} tiles/s, ${errs} errors (${round((100 * errs) / Math.max(1, st.requests), 2)} %), p50 ${pct(st.lat, 50)} p99 ${pct(st.lat, 99)} ms`;
}
function streamLine(st, secs) {
  return `stream ${round(st.tiles / secs)} tiles/s, ${round(st.views / secs)} views/s, view p50 ${pct(st.viewLatNew, 50)} p99 ${pct(st.viewLatNew, 99)} ms (needing tiles), ${sum(st.errorFrames)} error frames, ${st.viewTimeouts} view timeouts`;
}

// ---- the run -------------------------------------------------------------------------

const stops = [];
let T0 = performance.now();
let crashed;
let shuttingDown = false;
const stopAll = async () => {
  shuttingDown = true;
  for (const s of stops.splice(0).reverse()) await s().catch((e) => console.error(`stop: ${e.message}`));
};
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, async () => {
    console.log(`\n${sig}: stopping`);
    stopLoad.abort();
    hardStop.abort();
    await stopAll();
    process.exit(130);
  });
}

const summary = {
  bench: 'load-soak',
  date: new Date().toISOString(),
  smoke,
  machine: { cores: os.availableParallelism(), memGB: Math.round(os.totalmem() / 2 ** 30), node: process.version, loadavgBefore: os.loadavg().map((x) => round(x, 2)) },
  options: { slide: opt.slide, seconds: SECONDS, viewers: VIEWERS, clients: CLIENTS, faultRate: FAULT_RATE, faultKinds: FAULT_KINDS ?? 'all', chaosSeed: CHAOS_SEED, hangMs: HANG_MS, delayMs: DELAY_MS, cacheMb: Number(opt['cache-mb']), warmupS: WARMUP_S, rgbaShare: RGBA_SHARE, thinkMs: THINK_MS, dwellMs: DWELL, sessionViews: SESSION_VIEWS, seed: SEED, direct: opt.direct },
};
let exitCode = 0;
const fail = (why) => {
  console.log(`FAIL: ${why}`);
  (summary.failures ??= []).push(why);
  exitCode = 1;
};

try {
  // the origin (faults off until the slide is open), the server under test, the reference
  const remote = await startRemote(path.dirname(slidePath), DELAY_MS, { origin: 'node', args: ['--chaos', '0', '--chaos-seed', String(CHAOS_SEED), '--chaos-hang-ms', String(HANG_MS), ...(FAULT_KINDS ? ['--chaos-kinds', FAULT_KINDS] : [])] });
  stops.push(remote.stop);
  const slideUrl = `${remote.base}/${encodeURIComponent(path.basename(slidePath))}`;
  const logOf = (n) => `${DATA}/results/load-soak-${n}.log`;
  for (const n of ['server', 'reference']) writeFileSync(logOf(n), '');
  for (const f of readdirSync(`${DATA}/results`)) if (/^load-soak-corrupt-\d+\.bin$/.test(f)) rmSync(`${DATA}/results/${f}`);
  const direct = opt.direct ? ['--direct'] : [];
  // --heap-reports: node's diagnostic report on SIGUSR2 (the JS heaps of the main thread and of each pixel worker)
  const reportDir = `${DATA}/results/load-soak-reports`;
  if (opt['heap-reports']) {
    rmSync(reportDir, { recursive: true, force: true });
    mkdirSync(reportDir, { recursive: true });
  }
  const nodeArgs = opt['heap-reports'] ? ['--report-on-signal', '--report-signal=SIGUSR2', `--report-directory=${reportDir}`, '--report-compact'] : [];
  const tested = await startImagebox({ name: 'load-soak-server', config: { slides: { [ID]: { url: slideUrl } } }, args: ['--cache-mb', String(opt['cache-mb']), ...direct], log: logOf('server'), nodeArgs });
  stops.push(tested.stop);
  const reference = await startImagebox({ name: 'load-soak-reference', config: { slides: { [ID]: { path: slidePath } } }, args: direct, log: logOf('reference') });
  stops.push(reference.stop);
  for (const [name, s] of [['server under test', tested], ['reference server', reference]]) {
    s.child.once('exit', (code, signal) => {
      if (shuttingDown) return;
      crashed ??= [];
      crashed.push({ name, code, signal, atS: round((performance.now() - T0) / 1000) });
      console.log(`CRASH: the ${name} exited (${signal ?? code}) at ${round((performance.now() - T0) / 1000)} s; its stderr: ${path.relative(process.cwd(), logOf(name === 'reference server' ? 'reference' : 'server'))}`);
      stopLoad.abort();
      hardStop.abort();
    });
  }
  const slideInfo = await (await fetch(`${tested.base}/slides/${ID}`)).json();
  const levels = slideInfo.levels;
  const info = await (await fetch(`${tested.base}/iiif/3/${ID}/info.json`)).json();
  await (await fetch(`${reference.base}/iiif/3/${ID}/info.json`)).arrayBuffer();
  await fetch(`${remote.base}/__chaos?rate=${FAULT_RATE}&seed=${CHAOS_SEED}`, { method: 'POST' });
  const originAtStart = await remote.stats();

  const wsTested = `${tested.base.replace('http', 'ws')}/stream`;
  const wsRef = `${reference.base.replace('http', 'ws')}/stream`;
  const iiifRef = new IiifReference(reference.base);
  const refs = { jpeg: new StreamReference(wsRef, 'jpeg', smoke ? 2 : 4), rgba: new StreamReference(wsRef, 'rgba', smoke ? 2 : 4) };
  for (const r of Object.values(refs)) await r.start();
  stops.push(async () => {
    for (const r of Object.values(refs)) await r.close();
    await iiifRef.close();
  });

  console.log(`slide ${opt.slide}: ${slideInfo.width} x ${slideInfo.height}, ${levels.length} levels, ${levels.reduce((n, l) => n + l.cols * l.rows, 0)} tiles`);
  console.log(`origin: ${remote.kind}; chaos ${FAULT_RATE} (${FAULT_KINDS ?? 'every kind'}; seed ${CHAOS_SEED}, hang ${HANG_MS} ms) from now on`);
  console.log(`load: ${VIEWERS} viewers (${Math.round(VIEWERS * RGBA_SHARE)} rgba, the rest jpeg), ${CLIENTS} IIIF clients, ${SECONDS} s (warm-up ${WARMUP_S} s); server --cache-mb ${opt['cache-mb']}${opt.direct ? ' --direct' : ''}; ${os.availableParallelism()} cores, load average ${os.loadavg()[0].toFixed(2)}`);

  // samplers: RSS, CPU, the event loop of this process (is the load generator keeping up?)
  const rss = [];
  // with the server's own caches (bounded: the response cache, the stream's decoded tiles) to tell a cache filling from a leak
  const value = (text, name) => {
    const at = text.indexOf(`\n${name} `);
    return at < 0 ? undefined : Number(text.slice(at + name.length + 2, text.indexOf('\n', at + 1)));
  };
  const gauge = (text, name) => round(value(text, name) / 2 ** 20);
  const sample = () => {
    const row = { t: round((performance.now() - T0) / 1000), mb: procMb(tested.pid, 'VmRSS'), refMb: procMb(reference.pid, 'VmRSS') };
    rss.push(row);
    if (crashed || row.mb === undefined) return;
    fetch(`${tested.base}/metrics`, { signal: AbortSignal.timeout(4000) })
      .then((r) => r.text())
      .then((t) =>
        Object.assign(row, {
          responseCacheMb: gauge(t, 'imagebox_cache_bytes'),
          decodedCacheMb: gauge(t, 'imagebox_stream_decoded_cache_bytes'),
          // is work piling up? (the pixel pool: IIIF transcodes and stream decodes; the stream's fair queue in front of it)
          pixelJobs: [value(t, 'imagebox_pixel_jobs_running'), value(t, 'imagebox_pixel_jobs_queued')],
          streamDecodes: [value(t, 'imagebox_stream_decodes{state="running"}'), value(t, 'imagebox_stream_decodes{state="queued"}')],
        }),
      )
      .catch(() => {});
  };
  const loop = monitorEventLoopDelay({ resolution: 20 });
  loop.enable();
  const cpu0 = { tested: cpuSeconds(tested.pid), reference: cpuSeconds(reference.pid), origin: cpuSeconds(remote.pid), driver: process.cpuUsage() };
  const loads = [];

  T0 = performance.now();
  sample();
  const rssTimer = setInterval(sample, RSS_EVERY_MS);
  const heaps = [];
  const heapReport = async () => {
    if (!opt['heap-reports'] || crashed) return;
    const t = round((performance.now() - T0) / 1000);
    const before = new Set(readdirSync(reportDir));
    process.kill(tested.pid, 'SIGUSR2');
    for (let k = 0; k < 50; k++) {
      await sleep(100);
      const f = readdirSync(reportDir).find((x) => !before.has(x) && x.endsWith('.json'));
      if (!f) continue;
      try {
        const r = JSON.parse(readFileSync(`${reportDir}/${f}`, 'utf8'));
        const mb = (x) => round(x / 2 ** 20);
        heaps.push({ t, rssMb: procMb(tested.pid, 'VmRSS'), mainHeapUsedMb: mb(r.javascriptHeap.usedMemory), mainHeapTotalMb: mb(r.javascriptHeap.totalMemory), workersHeapUsedMb: (r.workers ?? []).map((w) => mb(w.javascriptHeap?.usedMemory ?? 0)), workersHeapTotalMb: (r.workers ?? []).map((w) => mb(w.javascriptHeap?.totalMemory ?? 0)) });
        rmSync(`${reportDir}/${f}`);
        return;
      } catch {
        /* still being written */
      }
    }
  };
  const heapTimer = opt['heap-reports'] ? setInterval(() => void heapReport(), REPORT_S * 1000) : undefined;
  let lastReport = T0;
  const reportTimer = setInterval(async () => {
    const now = performance.now();
    const secs = (now - lastReport) / 1000;
    lastReport = now;
    const st = interval;
    interval = fresh();
    loads.push(os.loadavg()[0]);
    let o = {};
    try {
      o = await remote.stats();
    } catch {
      /* origin gone: reported at the end */
    }
    const last = rss.findLast((x) => x.responseCacheMb !== undefined) ?? rss.at(-1);
    console.log(`[${Math.round((now - T0) / 1000)} s] ${iiifLine(st.iiif, secs)} | ${streamLine(st.stream, secs)} | verified ${check.verified}, corrupt ${check.corrupt}, pending ${check.pending} | origin ${o.requests ?? '?'} requests (${o.multiRange ?? '?'} multipart), ${sum(o.broken ?? {})} broken | RSS ${last?.mb} MB (caches: response ${last?.responseCacheMb ?? '?'}, decoded ${last?.decodedCacheMb ?? '?'} MB; pixel jobs running/queued ${last?.pixelJobs?.join('/') ?? '?'}, stream decodes ${last?.streamDecodes?.join('/') ?? '?'}) | load ${os.loadavg()[0].toFixed(2)}`);
  }, REPORT_S * 1000);

  const ramp = Math.min(10_000, SECONDS * 100);
  const work = [
    ...Array.from({ length: VIEWERS }, (_, i) => viewer(i, wsTested, refs, (i * ramp) / VIEWERS)),
    ...Array.from({ length: CLIENTS }, (_, i) => iiifClient(i, tested.base, info, levels, iiifRef, (i * ramp) / CLIENTS)),
  ];
  const deadline = setTimeout(() => stopLoad.abort(), SECONDS * 1000);
  stopLoad.signal.addEventListener('abort', () => setTimeout(() => hardStop.abort(), GRACE_MS).unref(), { once: true });
  await Promise.all(work);
  clearTimeout(deadline);
  const loadSecs = Math.min(SECONDS, (performance.now() - T0) / 1000);
  clearInterval(reportTimer);
  loop.disable();
  const cpu1 = { tested: cpuSeconds(tested.pid), reference: cpuSeconds(reference.pid), origin: cpuSeconds(remote.pid), driver: process.cpuUsage(cpu0.driver) };
  // the last RSS sample while the load ran, and one now that every connection is closed
  const rssEndOfLoad = rss.findLast((x) => x.t <= loadSecs && x.mb !== undefined)?.mb;
  sample();
  const rssStopped = rss.at(-1).mb;

  // after the load: faults off, every received tile checked, the server still serves a clean tile
  await fetch(`${remote.base}/__chaos?rate=0`, { method: 'POST' }).catch(() => {});
  const originEnd = await remote.stats().catch(() => undefined);
  const waitChecks = Promise.allSettled([...pendingChecks]);
  const checksDone = await Promise.race([waitChecks.then(() => true), sleep(120_000).then(() => false)]);
  if (!checksDone) fail(`${check.pending} tile checks still waiting for the reference after 120 s`);
  const after = {};
  if (!crashed) {
    try {
      // five level-0 tiles (most likely not in the response cache: read from the origin again)
      const pick = iiifPicker(info, [levels[0]], rng(SEED + 31337));
      const bad = [];
      for (let k = 0; k < 5; k++) {
        let p;
        do p = pick(3);
        while (p.kind !== 'native');
        const res = await fetch(`${tested.base}${p.path}`);
        const body = Buffer.from(await res.arrayBuffer());
        if (res.status !== 200 || sha(body) !== (await iiifRef.hash(p.path))) bad.push(`${p.path}: HTTP ${res.status}${res.status === 200 ? ', differs from the reference' : ''}`);
      }
      after.iiif = bad.length === 0 ? 'ok' : bad.join('; ');
      const s = await connectTileStream(wsTested, { encodings: ['jpeg'] });
      const slide = await s.open(ID);
      let differ = 0;
      const seen = [];
      s.on('tile', (t) => seen.push(refs.jpeg.hash(t.level, t.col, t.row).then((h) => void (h !== tileHash(t) && differ++))));
      const l = slide.levels.length - 1;
      const v = await s.view(slide.handle, { level: l, x: 0, y: 0, width: 1024, height: 768 });
      await Promise.all(seen);
      await s.close();
      after.stream = v.tiles > 0 && differ === 0 ? 'ok' : `${v.tiles} tiles, ${differ} differ`;
    } catch (e) {
      after.error = String(e?.message ?? e);
    }
    if (after.iiif !== 'ok' || after.stream !== 'ok') fail(`the server under test after the soak: ${JSON.stringify(after)}`);
  }
  let rssIdle;
  if (IDLE_S > 0 && !crashed) {
    await sleep(IDLE_S * 1000);
    rssIdle = procMb(tested.pid, 'VmRSS');
  }
  clearInterval(rssTimer);
  clearInterval(heapTimer);
  await heapReport();
  const hwm = procMb(tested.pid, 'VmHWM');
  const metricsText = crashed ? '' : await (await fetch(`${tested.base}/metrics`)).text().catch(() => '');
  const metric = (name) => {
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(metricsText);
    return m ? Number(m[1]) : undefined;
  };

  // ---- the summary ----
  const T = total;
  const afterWarm = rss.filter((s) => s.t >= WARMUP_S && s.mb !== undefined && s.t <= loadSecs);
  const warm = afterWarm[0]?.mb;
  const maxAfter = Math.max(...afterWarm.map((s) => s.mb));
  const end = rssEndOfLoad;
  const growth = warm ? (end - warm) / warm : NaN;
  // a leak keeps growing; caches and buffers that fill stop: the second half of the run on its own
  const half = rss.find((s) => s.t >= loadSecs / 2 && s.mb !== undefined)?.mb;
  const secondHalf = half ? (end - half) / half : NaN;
  // least-squares slope over the samples after the warm-up, MB per minute
  let slope = NaN;
  if (afterWarm.length >= 3) {
    const n = afterWarm.length;
    const mt = afterWarm.reduce((a, s) => a + s.t, 0) / n;
    const mm = afterWarm.reduce((a, s) => a + s.mb, 0) / n;
    const cov = afterWarm.reduce((a, s) => a + (s.t - mt) * (s.mb - mm), 0);
    const vt = afterWarm.reduce((a, s) => a + (s.t - mt) ** 2, 0);
    slope = vt ? (cov / vt) * 60 : NaN;
  }
  const broken = {};
  for (const [k, v] of Object.entries(originEnd?.broken ?? {})) broken[k] = v - (originAtStart.broken?.[k] ?? 0);
  const originRanges = (originEnd?.rangeRequests ?? 0) - originAtStart.rangeRequests;
  const iiifErrors = T.iiif.requests - T.iiif.ok;
  Object.assign(summary, {
    durationS: round(loadSecs),
    loadavgDuring: loads.length ? round(loads.reduce((a, b) => a + b, 0) / loads.length, 2) : round(os.loadavg()[0], 2),
    crashed: crashed ?? null,
    iiif: {
      requests: T.iiif.requests,
      ok: T.iiif.ok,
      tilesPerSec: round(T.iiif.ok / loadSecs),
      errors: iiifErrors,
      errorRate: round(iiifErrors / Math.max(1, T.iiif.requests), 4),
      errorsByStatus: T.iiif.errors,
      latencyMs: { p50: pct(T.iiif.lat, 50), p90: pct(T.iiif.lat, 90), p99: pct(T.iiif.lat, 99), max: pct(T.iiif.lat, 100) },
      nativeLatencyMs: { n: T.iiif.latNative.length, p50: pct(T.iiif.latNative, 50), p99: pct(T.iiif.latNative, 99) },
      scaledLatencyMs: { n: T.iiif.latScaled.length, p50: pct(T.iiif.latScaled, 50), p99: pct(T.iiif.latScaled, 99) },
      mbPerSec: round(T.iiif.bytes / 2 ** 20 / loadSecs),
    },
    stream: {
      sessions: T.stream.sessions,
      tiles: T.stream.tiles,
      prefetched: T.stream.prefetched,
      tilesPerSec: round(T.stream.tiles / loadSecs),
      mbPerSec: round(T.stream.bytes / 2 ** 20 / loadSecs),
      views: T.stream.views,
      viewsPerSec: round(T.stream.views / loadSecs),
      viewsNeedingTiles: T.stream.viewsNeedingTiles,
      viewLatencyMs: { p50: pct(T.stream.viewLat, 50), p99: pct(T.stream.viewLat, 99) },
      viewNeedingTilesLatencyMs: { p50: pct(T.stream.viewLatNew, 50), p90: pct(T.stream.viewLatNew, 90), p99: pct(T.stream.viewLatNew, 99), max: pct(T.stream.viewLatNew, 100) },
      viewNeedingTilesLatencyByEncoding: Object.fromEntries(Object.entries(T.stream.viewLatNewByEncoding).map(([e, a]) => [e, { n: a.length, p50: pct(a, 50), p99: pct(a, 99), timeouts: T.stream.timeoutsByEncoding[e] ?? 0 }])),
      viewTimeouts: T.stream.viewTimeouts,
      errorFrames: T.stream.errorFrames,
      errorFrameRate: round(sum(T.stream.errorFrames) / Math.max(1, T.stream.tiles + sum(T.stream.errorFrames)), 4),
      viewTimeoutSamples: timeoutSamples,
      connectErrors: T.stream.connectErrors,
      closedUnexpectedly: T.stream.closedUnexpectedly,
    },
    errorMessages: messages,
    check: { verified: check.verified, corrupt: check.corrupt, unverified: check.pending, referenceErrors: check.refErrors, corruptSamples: check.samples, reference: { iiifTiles: iiifRef.memo.size, streamTiles: refs.jpeg.memo.size + refs.rgba.memo.size } },
    origin: originEnd
      ? { requests: originEnd.requests - originAtStart.requests, rangeRequests: originRanges, broken, brokenTotal: sum(broken), brokenShare: round(sum(broken) / Math.max(1, originRanges), 3), multiRange: originEnd.multiRange - originAtStart.multiRange, mb: round((originEnd.bytes - originAtStart.bytes) / 2 ** 20) }
      : null,
    rss: {
      warmupEndMb: warm,
      maxAfterWarmupMb: Number.isFinite(maxAfter) ? maxAfter : undefined,
      endMb: end,
      halfMb: half,
      stoppedMb: rssStopped,
      idleMb: rssIdle,
      peakMb: hwm,
      growth: round(growth, 3),
      secondHalfGrowth: round(secondHalf, 3),
      slopeMbPerMin: round(slope, 2),
      bound: RSS_BOUND,
      verdict: `${!Number.isFinite(growth) ? 'unknown' : growth < RSS_BOUND ? 'flat' : secondHalf < RSS_BOUND ? 'filling after the warm-up, flat over the second half' : 'growing'}${smoke ? ' (smoke: too short to judge)' : ''}`,
      referenceEndMb: rss.at(-1)?.refMb,
      heaps: heaps.length ? heaps : undefined,
      samples: rss,
    },
    server: { responseCacheBytes: metric('imagebox_cache_bytes'), streamDecodedCacheBytes: metric('imagebox_stream_decoded_cache_bytes'), streamConnections: metric('imagebox_stream_connections'), openSlides: metric('imagebox_open_slides'), originRequests: metric('imagebox_origin_requests_total') },
    cpuSeconds: {
      tested: round(cpu1.tested - cpu0.tested),
      reference: round(cpu1.reference - cpu0.reference),
      origin: round(cpu1.origin - cpu0.origin),
      loadGenerator: round((cpu1.driver.user + cpu1.driver.system) / 1e6),
    },
    loadGeneratorEventLoopMs: { p50: round(loop.percentile(50) / 1e6), p99: round(loop.percentile(99) / 1e6), max: round(loop.max / 1e6) },
    after,
  });

  if (crashed) fail(`crashed: ${JSON.stringify(crashed)}`);
  if (check.corrupt > 0) fail(`${check.corrupt} corrupt tiles`);
  if (smoke && (T.iiif.ok === 0 || T.stream.tiles === 0 || check.verified === 0)) fail('smoke: nothing served or nothing verified');

  const s = summary;
  const out = `${DATA}/results/load-soak${smoke ? '-smoke' : ''}.json`;
  writeFileSync(out, JSON.stringify(s, null, 2));
  const kv = (o) => Object.entries(o ?? {}).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  console.log(`\n| load and soak, ${s.durationS} s: ${VIEWERS} viewers, ${CLIENTS} IIIF clients, fault rate ${FAULT_RATE} | |`);
  console.log('| --- | --- |');
  console.log(`| IIIF tiles | ${s.iiif.ok} (${s.iiif.tilesPerSec}/s, ${s.iiif.mbPerSec} MB/s) |`);
  console.log(`| IIIF errors | ${s.iiif.errors} of ${s.iiif.requests} (${round(100 * s.iiif.errorRate, 2)} %): ${kv(s.iiif.errorsByStatus)} |`);
  console.log(`| IIIF tile latency p50 / p90 / p99 / max ms | ${s.iiif.latencyMs.p50} / ${s.iiif.latencyMs.p90} / ${s.iiif.latencyMs.p99} / ${s.iiif.latencyMs.max} (native ${s.iiif.nativeLatencyMs.p50} / p99 ${s.iiif.nativeLatencyMs.p99}; scaled ${s.iiif.scaledLatencyMs.p50} / p99 ${s.iiif.scaledLatencyMs.p99}) |`);
  console.log(`| stream tiles | ${s.stream.tiles} (${s.stream.tilesPerSec}/s, ${s.stream.mbPerSec} MB/s; ${s.stream.prefetched} prefetched), ${s.stream.sessions} sessions |`);
  console.log(`| stream views | ${s.stream.views} (${s.stream.viewsPerSec}/s), ${s.stream.viewsNeedingTiles} needing tiles; ${s.stream.viewTimeouts} timed out (${VIEW_TIMEOUT_MS / 1000} s) |`);
  console.log(`| stream view -> tiles complete p50 / p90 / p99 / max ms (views needing tiles) | ${s.stream.viewNeedingTilesLatencyMs.p50} / ${s.stream.viewNeedingTilesLatencyMs.p90} / ${s.stream.viewNeedingTilesLatencyMs.p99} / ${s.stream.viewNeedingTilesLatencyMs.max} (all views: ${s.stream.viewLatencyMs.p50} / p99 ${s.stream.viewLatencyMs.p99}) |`);
  for (const [e, x] of Object.entries(s.stream.viewNeedingTilesLatencyByEncoding)) console.log(`| ... ${e} viewers | p50 ${x.p50} / p99 ${x.p99} ms (${x.n} views needing tiles), ${x.timeouts} timed out |`);
  console.log(`| stream error frames | ${sum(s.stream.errorFrames)} (${round(100 * s.stream.errorFrameRate, 2)} % of tiles): ${kv(s.stream.errorFrames)}; connection errors: ${kv(s.stream.connectErrors)}; closed by the server: ${s.stream.closedUnexpectedly} |`);
  console.log(`| tiles checked against the reference | ${s.check.verified}, corrupt ${s.check.corrupt}, unverified ${s.check.unverified}, reference errors: ${kv(s.check.referenceErrors)} |`);
  if (s.origin) console.log(`| origin | ${s.origin.requests} requests (${s.origin.rangeRequests} ranges, ${s.origin.multiRange} multipart, ${s.origin.mb} MB); broken ${s.origin.brokenTotal} (${round(100 * s.origin.brokenShare, 1)} %): ${kv(s.origin.broken)} |`);
  console.log(`| server RSS MB: end of warm-up (${WARMUP_S} s) / half-way / max after warm-up / end of load / peak (HWM) | ${s.rss.warmupEndMb} / ${s.rss.halfMb} / ${s.rss.maxAfterWarmupMb} / ${s.rss.endMb} / ${s.rss.peakMb}; ${s.rss.stoppedMb} once the clients had gone${rssIdle !== undefined ? `, ${rssIdle} after ${IDLE_S} s idle` : ''} |`);
  if (heaps.length) {
    const h0 = heaps.find((h) => h.t >= WARMUP_S) ?? heaps[0];
    const h1 = heaps.at(-1);
    const w = (h) => h.workersHeapUsedMb.reduce((a, b) => a + b, 0);
    console.log(`| JS heap used MB, main thread / pixel workers (node report): end of warm-up / end | ${h0.mainHeapUsedMb} / ${round(w(h0))} -> ${h1.mainHeapUsedMb} / ${round(w(h1))} (heap total ${h0.mainHeapTotalMb} -> ${h1.mainHeapTotalMb}) |`);
  }
  console.log(`| RSS verdict | ${s.rss.verdict}: ${s.rss.growth === null ? '?' : `${round(100 * s.rss.growth, 1)} %`} from the end of the warm-up to the end of the load, ${s.rss.secondHalfGrowth === null ? '?' : `${round(100 * s.rss.secondHalfGrowth, 1)} %`} over the second half (bound ${100 * RSS_BOUND} %); slope ${s.rss.slopeMbPerMin} MB/min after the warm-up |`);
  console.log(`| CPU seconds: server / reference / origin / load generator | ${s.cpuSeconds.tested} / ${s.cpuSeconds.reference} / ${s.cpuSeconds.origin} / ${s.cpuSeconds.loadGenerator} (${os.availableParallelism()} cores x ${s.durationS} s; load average ${s.loadavgDuring}) |`);
  console.log(`| load generator event loop delay p99 / max ms | ${s.loadGeneratorEventLoopMs.p99} / ${s.loadGeneratorEventLoopMs.max} |`);
  console.log(`| crashed | ${crashed ? JSON.stringify(crashed) : 'no'}; after the soak: ${JSON.stringify(after)} |`);
  for (const [where, byCode] of Object.entries(messages)) for (const [code, list] of Object.entries(byCode)) for (const m of list) console.log(`${where} ${code}: ${m}`);
  for (const t of timeoutSamples.slice(0, 3)) console.log(`view timeout: ${JSON.stringify(t)}`);
  console.log(`written: ${path.relative(process.cwd(), out)}`);
} catch (e) {
  fail(`the run failed: ${e?.stack ?? e}`);
} finally {
  stopLoad.abort();
  hardStop.abort();
  await stopAll();
}
process.exit(exitCode);
