#!/usr/bin/env node
// The benchmarks' remote origin: a static HTTP origin in plain Node that stands
// for an object store across a WAN. It serves the files below --root on
// 127.0.0.1 with what a slide reader needs from S3/GCS/nginx:
//   - Range: one range -> 206 + Content-Range; several -> 206 multipart/byteranges
//     (--no-multirange: only the first range is answered, as some CDNs do);
//     suffix and open ranges; none satisfiable -> 416 (Content-Range: bytes */size);
//   - ETag / Last-Modified, If-Range (a stale validator -> the whole file, 200),
//     HEAD (the headers a GET would send), CORS with Range allowed and
//     Content-Range exposed (a browser's direct mode reads it too);
// and shapes every answer:
//   - --delay-ms D: each request is held D ms before it is answered (first-byte
//     latency of a far origin; Node's timers fire ~1 ms late, as the proxy's did);
//   - --bandwidth B (100mbit, 12.5MB, bytes/s; 0 = none): bodies are paced
//     through one global token bucket (a client's downlink shared by all its
//     connections).
// --target URL turns it into a shaping, counting proxy in front of another
// origin (nginx: what a real static origin is) instead of serving files itself.
// Faults (files mode; off by default): --chaos RATE breaks that share of the
// range answers, drawn from a seeded generator (--chaos-seed N, default 1), each
// in one of the ways a flaky origin or a confused cache does (the kinds of the
// tests' chaos origin, test/helpers/origin.ts):
//   reset (half the body, then the connection dropped), 503, hang (no answer for
//   --chaos-hang-ms, default 2000, then the connection dropped), slow (the right
//   answer, 150 ms late), wrongRange (another range's bytes, headers consistent),
//   short (10 bytes short, headers consistent), 200 (the whole file), 416,
//   partMissing / reordered (multipart only: the last part left out / the parts
//   in reverse order). --chaos-kinds a,b picks some. POST /__chaos?rate=R[&seed=N]
//   changes the rate (and reseeds) while running.
// Counters: GET /__stats -> { requests, rangeRequests, multiRange, bytes, broken:
// { kind: n }, chaos: { rate, seed }, ... } (body bytes sent; /__stats, /__reset
// and /__chaos are not counted), POST /__reset.
//
//   node bench/lib/origin.mjs --root DIR [--port 0] [--delay-ms 0] [--bandwidth 0] [--no-multirange] [--target URL]
//                             [--chaos 0] [--chaos-seed 1] [--chaos-kinds reset,503,...] [--chaos-hang-ms 2000]
//
// Prints "ORIGIN=http://127.0.0.1:PORT" once listening; stops on SIGTERM.
// Loopback only. Also importable: startOrigin(options) -> { base, stats, close }.
import http from 'node:http';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { rng } from './util.mjs';
import { pathToFileURL } from 'node:url';

/** "100mbit" | "12.5MB" | "800KB" | "1e6" -> bytes per second (0 = no cap). */
export function parseBandwidth(s) {
  if (s === undefined || s === null || s === '' || s === '0' || s === 0) return 0;
  const m = /^([\d.e+]+)\s*([kmg]?)(bit|b|B)?(\/s|ps)?$/i.exec(String(s).trim());
  if (!m) throw new Error(`bad bandwidth ${s} (e.g. 100mbit, 12.5MB, 1000000)`);
  const mult = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[m[2].toLowerCase()];
  const bits = m[3] !== undefined && (m[3].toLowerCase() === 'bit' || m[3] === 'b');
  return (Number(m[1]) * mult) / (bits ? 8 : 1);
}

/** The ranges of a Range header: [[start, end], ...] (inclusive), 'unsatisfiable', or null (absent / not bytes / malformed: serve the whole file). */
export function parseRange(header, size) {
  const m = /^\s*bytes\s*=\s*(.+)$/i.exec(header ?? '');
  if (!m) return null;
  const out = [];
  for (const part of m[1].split(',')) {
    const p = /^\s*(\d*)\s*-\s*(\d*)\s*$/.exec(part);
    if (!p || (p[1] === '' && p[2] === '')) return null; // malformed: RFC 9110 says ignore the header
    let start;
    let end;
    if (p[1] === '') {
      const n = Number(p[2]);
      if (n === 0) continue;
      start = Math.max(0, size - n);
      end = size - 1;
    } else {
      start = Number(p[1]);
      end = p[2] === '' ? size - 1 : Math.min(Number(p[2]), size - 1);
      if (p[2] !== '' && Number(p[2]) < start) return null;
    }
    if (start >= size) continue; // this range is unsatisfiable; others may not be
    out.push([start, end]);
  }
  return out.length ? out : 'unsatisfiable';
}

/** The ways a range answer can be broken (--chaos): the kinds of test/helpers/origin.ts. */
export const CHAOS_KINDS = ['reset', '503', 'hang', 'slow', 'wrongRange', 'short', '200', '416', 'partMissing', 'reordered'];
const MULTIPART_ONLY = new Set(['partMissing', 'reordered']);


const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Start an origin. options: { root, port = 0, delayMs = 0, bandwidth = 0 (bytes/s or "100mbit"),
 * multiRange = true, target (proxy mode: URL of the origin to forward to),
 * chaos (files mode: a rate, or { rate, seed = 1, kinds = CHAOS_KINDS, hangMs = 2000, slowMs = 150 }) }.
 * Returns { base, stats(), reset(), setChaos({ rate, seed }), close() }.
 */
export async function startOrigin(options = {}) {
  const root = options.root ? path.resolve(options.root) : undefined;
  const delayMs = Number(options.delayMs ?? 0);
  const bw = parseBandwidth(options.bandwidth);
  const multiRange = options.multiRange !== false;
  const target = options.target ? new URL(options.target) : undefined;
  if (!root && !target) throw new Error('origin: need root or target');
  const c = typeof options.chaos === 'object' && options.chaos !== null ? options.chaos : { rate: options.chaos };
  const chaos = {
    rate: Number(c.rate ?? 0),
    seed: Number(c.seed ?? 1),
    kinds: c.kinds ? [...c.kinds] : [...CHAOS_KINDS],
    hangMs: Number(c.hangMs ?? 2000),
    slowMs: Number(c.slowMs ?? 150),
  };
  for (const k of chaos.kinds) if (!CHAOS_KINDS.includes(k)) throw new Error(`origin: unknown chaos kind ${k} (${CHAOS_KINDS.join(', ')})`);
  if (!(chaos.rate >= 0 && chaos.rate <= 1)) throw new Error(`origin: chaos rate ${c.rate} is not in [0, 1]`);
  if (chaos.rate > 0 && target) throw new Error('origin: --chaos needs files mode (--root), not --target');
  let draw = rng(chaos.seed);
  if (target && !/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(target.hostname)) throw new Error(`origin: refusing non-loopback target ${target.hostname}`);

  const fresh = () => ({ requests: 0, rangeRequests: 0, multiRange: 0, bytes: 0, notFound: 0, status: {}, broken: {} });
  let stats = fresh();
  const info = { delayMs, bandwidthBytesPerSec: bw, multiRangeAnswered: multiRange, mode: target ? `proxy to ${target.origin}` : 'files' };
  const chaosInfo = () => ({ chaos: { rate: chaos.rate, seed: chaos.seed, kinds: chaos.kinds, hangMs: chaos.hangMs } });
  /** The fault this range answer gets, if any (multi: a multipart answer is coming). */
  function chaosKind(multi) {
    if (chaos.rate <= 0 || draw() >= chaos.rate) return undefined;
    const kinds = chaos.kinds.filter((k) => multi || !MULTIPART_ONLY.has(k));
    if (kinds.length === 0) return undefined;
    const k = kinds[Math.floor(draw() * kinds.length)];
    stats.broken[k] = (stats.broken[k] ?? 0) + 1;
    return k;
  }

  // one global link: busy until `until` (ms, performance.now())
  const link = { until: 0 };
  const STEP = 16384;
  // a 'drain' never comes once the client has gone (an aborted answer): wait for either
  const drained = (res) =>
    new Promise((r) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        r();
      };
      res.once('drain', done);
      res.once('close', done);
    });
  async function send(res, chunk) {
    if (res.destroyed) throw new Error('client gone');
    stats.bytes += chunk.length;
    if (!bw) {
      if (!res.write(chunk)) await drained(res);
      return;
    }
    for (let o = 0; o < chunk.length; o += STEP) {
      if (res.destroyed) throw new Error('client gone');
      const part = chunk.subarray(o, o + STEP);
      const start = Math.max(performance.now(), link.until);
      link.until = start + (part.length / bw) * 1000;
      const wait = link.until - performance.now();
      if (wait > 1) await sleep(wait);
      if (!res.write(part)) await drained(res);
    }
  }
  const status = (res, code) => {
    res.statusCode = code;
    stats.status[code] = (stats.status[code] ?? 0) + 1;
  };

  const cors = (res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Headers', 'range, if-range');
    res.setHeader('Access-Control-Expose-Headers', 'content-range, content-length, etag, accept-ranges, last-modified');
  };

  async function serveFile(req, res, pathname) {
    const file = path.join(root, pathname);
    if (file !== root && !file.startsWith(root + path.sep)) {
      status(res, 403);
      res.end();
      return;
    }
    let st;
    try {
      st = await stat(file);
    } catch {
      st = undefined;
    }
    if (!st || !st.isFile()) {
      stats.notFound++;
      status(res, 404);
      res.end();
      return;
    }
    const size = st.size;
    const etag = `"${size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    const lastModified = st.mtime.toUTCString();
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('ETag', etag);
    res.setHeader('Last-Modified', lastModified);
    let ranges = parseRange(req.headers.range, size);
    const ifRange = req.headers['if-range'];
    if (ranges && ifRange !== undefined && ifRange !== etag && ifRange !== lastModified) ranges = null; // changed: the whole file
    if (ranges) stats.rangeRequests++;
    const head = req.method === 'HEAD';
    if (ranges === 'unsatisfiable') {
      status(res, 416);
      res.setHeader('Content-Range', `bytes */${size}`);
      res.end();
      return;
    }
    if (!ranges) {
      status(res, 200);
      res.setHeader('Content-Type', 'application/octet-stream');
      res.setHeader('Content-Length', size);
      if (head) return void res.end();
      for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) await send(res, chunk);
      res.end();
      return;
    }
    if (!multiRange) ranges = ranges.slice(0, 1);
    const kind = head ? undefined : chaosKind(ranges.length > 1);
    if (kind === '503' || kind === '416') {
      status(res, Number(kind));
      if (kind === '416') res.setHeader('Content-Range', `bytes */${size}`);
      res.setHeader('Content-Length', 0);
      res.end();
      return;
    }
    if (kind === '200') {
      status(res, 200);
      res.setHeader('Content-Type', 'application/octet-stream');
      res.setHeader('Content-Length', size);
      for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) await send(res, chunk);
      res.end();
      return;
    }
    if (kind === 'hang') {
      const t = setTimeout(() => res.socket?.destroy(), chaos.hangMs);
      await new Promise((r) => res.once('close', r));
      clearTimeout(t);
      return;
    }
    if (kind === 'slow') await sleep(chaos.slowMs);
    if (kind === 'wrongRange' || kind === 'short') {
      const [s, e] = ranges[0];
      ranges = kind === 'wrongRange' ? [[Math.min(s + 7, size - 1), Math.min(e + 7, size - 1)]] : [[s, Math.max(s, e - 10)]];
    }
    if (kind === 'partMissing') ranges = ranges.slice(0, -1);
    if (kind === 'reordered') ranges = [...ranges].reverse();
    // reset: half the body, then the connection dropped once the written bytes have left
    const write = async (body) => {
      if (kind !== 'reset') return send(res, body);
      await send(res, body.subarray(0, Math.floor(body.length / 2)));
      await sleep(20);
      res.socket?.destroy();
    };
    const fh = await open(file, 'r');
    try {
      const read = async ([s, e]) => {
        const b = Buffer.allocUnsafe(e - s + 1);
        let got = 0;
        while (got < b.length) {
          const { bytesRead } = await fh.read(b, got, b.length - got, s + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        return b.subarray(0, got);
      };
      status(res, 206);
      if (ranges.length === 1) {
        const [s, e] = ranges[0];
        res.setHeader('Content-Type', 'application/octet-stream');
        res.setHeader('Content-Range', `bytes ${s}-${e}/${size}`);
        res.setHeader('Content-Length', e - s + 1);
        if (head) return void res.end();
        await write(await read(ranges[0]));
        if (kind !== 'reset') res.end();
        return;
      }
      stats.multiRange++;
      const boundary = `imagebox-bench-${Math.random().toString(16).slice(2)}`;
      const heads = ranges.map(([s, e]) => Buffer.from(`\r\n--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${s}-${e}/${size}\r\n\r\n`));
      const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
      const length = heads.reduce((n, h) => n + h.length, 0) + ranges.reduce((n, [s, e]) => n + e - s + 1, 0) + tail.length;
      res.setHeader('Content-Type', `multipart/byteranges; boundary=${boundary}`);
      res.setHeader('Content-Length', length);
      if (head) return void res.end();
      const bodies = await Promise.all(ranges.map(read));
      await write(Buffer.concat(ranges.flatMap((_, i) => [heads[i], bodies[i]]).concat([tail])));
      if (kind !== 'reset') res.end();
    } finally {
      await fh.close();
    }
  }

  function setChaos({ rate, seed } = {}) {
    if (rate !== undefined) {
      const r = Number(rate);
      if (!(r >= 0 && r <= 1)) throw new Error(`chaos rate ${rate} is not in [0, 1]`);
      if (r > 0 && target) throw new Error('chaos needs files mode');
      chaos.rate = r;
    }
    if (seed !== undefined) {
      chaos.seed = Number(seed);
      draw = rng(chaos.seed);
    }
  }

  const agent = target ? new http.Agent({ keepAlive: true, maxSockets: 256 }) : undefined;
  function forward(req, res) {
    if (req.headers.range) stats.rangeRequests++;
    if (multiRange && req.headers.range?.includes(',')) stats.multiRange++;
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k)) headers[k] = v;
    headers.host = target.host;
    if (!multiRange && headers.range?.includes(',')) headers.range = headers.range.split(',')[0]; // only the first range
    return new Promise((resolve) => {
      const up = http.request({ host: target.hostname, port: target.port || 80, method: req.method, path: req.url, headers, agent }, async (ur) => {
        for (const [k, v] of Object.entries(ur.headers)) if (!HOP.has(k)) res.setHeader(k, v);
        status(res, ur.statusCode);
        try {
          for await (const c of ur) await send(res, c);
          res.end();
        } catch {
          res.destroy();
        }
        resolve();
      });
      up.on('error', (e) => {
        if (!res.headersSent) {
          status(res, 502);
          res.end(`origin proxy: ${e.message}\n`);
        } else res.destroy();
        resolve();
      });
      req.pipe(up);
    });
  }

  const server = http.createServer({ noDelay: true, keepAliveTimeout: 75_000, headersTimeout: 80_000 }, async (req, res) => {
    const url = new URL(req.url, 'http://origin');
    if (url.pathname === '/__stats') {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ ...stats, ...info, ...chaosInfo() }));
      return;
    }
    if (url.pathname === '/__chaos' && req.method === 'POST') {
      try {
        setChaos({ rate: url.searchParams.get('rate') ?? undefined, seed: url.searchParams.get('seed') ?? undefined });
      } catch (e) {
        res.statusCode = 400;
        res.end(`${e.message}\n`);
        return;
      }
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(chaosInfo()));
      return;
    }
    if (url.pathname === '/__reset') {
      stats = fresh();
      res.end('ok\n');
      return;
    }
    stats.requests++;
    cors(res);
    if (req.method === 'OPTIONS') {
      status(res, 204);
      res.end();
      return;
    }
    if (delayMs > 0) await sleep(delayMs);
    try {
      if (target) await forward(req, res);
      else if (req.method !== 'GET' && req.method !== 'HEAD') {
        status(res, 405);
        res.end();
      } else {
        let pathname;
        try {
          pathname = decodeURIComponent(url.pathname);
        } catch {
          status(res, 400);
          res.end();
          return;
        }
        await serveFile(req, res, pathname);
      }
    } catch (e) {
      if (!res.headersSent) {
        status(res, 500);
        res.end(String(e?.message ?? e));
      } else res.destroy();
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(options.port ?? 0), '127.0.0.1', resolve);
  });
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    base,
    stats: () => ({ ...stats, ...info, ...chaosInfo() }),
    reset: () => void (stats = fresh()),
    setChaos,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        agent?.destroy();
        server.close(() => resolve());
      }),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const argv = process.argv.slice(2);
  const opt = {};
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '');
    if (k === 'no-multirange') opt.multiRange = false;
    else opt[k] = argv[++i];
  }
  const chaos = { rate: opt.chaos ?? 0, seed: opt['chaos-seed'], kinds: opt['chaos-kinds']?.split(','), hangMs: opt['chaos-hang-ms'] };
  const o = await startOrigin({ root: opt.root, port: opt.port, delayMs: opt['delay-ms'], bandwidth: opt.bandwidth, multiRange: opt.multiRange, target: opt.target, chaos });
  console.log(`ORIGIN=${o.base}`);
  const stop = () => o.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
