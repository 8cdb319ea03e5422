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
// Counters: GET /__stats -> { requests, rangeRequests, multiRange, bytes, ... }
// (body bytes sent; /__stats and /__reset are not counted), POST /__reset.
//
//   node bench/lib/origin.mjs --root DIR [--port 0] [--delay-ms 0] [--bandwidth 0] [--no-multirange] [--target URL]
//
// Prints "ORIGIN=http://127.0.0.1:PORT" once listening; stops on SIGTERM.
// Loopback only. Also importable: startOrigin(options) -> { base, stats, close }.
import http from 'node:http';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
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

const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Start an origin. options: { root, port = 0, delayMs = 0, bandwidth = 0 (bytes/s or "100mbit"),
 * multiRange = true, target (proxy mode: URL of the origin to forward to) }.
 */
export async function startOrigin(options = {}) {
  const root = options.root ? path.resolve(options.root) : undefined;
  const delayMs = Number(options.delayMs ?? 0);
  const bw = parseBandwidth(options.bandwidth);
  const multiRange = options.multiRange !== false;
  const target = options.target ? new URL(options.target) : undefined;
  if (!root && !target) throw new Error('origin: need root or target');
  if (target && !/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(target.hostname)) throw new Error(`origin: refusing non-loopback target ${target.hostname}`);

  const fresh = () => ({ requests: 0, rangeRequests: 0, multiRange: 0, bytes: 0, notFound: 0, status: {} });
  let stats = fresh();
  const info = { delayMs, bandwidthBytesPerSec: bw, multiRangeAnswered: multiRange, mode: target ? `proxy to ${target.origin}` : 'files' };

  // one global link: busy until `until` (ms, performance.now())
  const link = { until: 0 };
  const STEP = 16384;
  async function send(res, chunk) {
    stats.bytes += chunk.length;
    if (!bw) {
      if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
      return;
    }
    for (let o = 0; o < chunk.length; o += STEP) {
      const part = chunk.subarray(o, o + STEP);
      const start = Math.max(performance.now(), link.until);
      link.until = start + (part.length / bw) * 1000;
      const wait = link.until - performance.now();
      if (wait > 1) await sleep(wait);
      if (!res.write(part)) await new Promise((r) => res.once('drain', r));
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
        await send(res, await read(ranges[0]));
        res.end();
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
      await send(res, Buffer.concat(ranges.flatMap((_, i) => [heads[i], bodies[i]]).concat([tail])));
      res.end();
    } finally {
      await fh.close();
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
      res.end(JSON.stringify({ ...stats, ...info }));
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
    stats: () => ({ ...stats, ...info }),
    reset: () => void (stats = fresh()),
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
  const o = await startOrigin({ root: opt.root, port: opt.port, delayMs: opt['delay-ms'], bandwidth: opt.bandwidth, multiRange: opt.multiRange, target: opt.target });
  console.log(`ORIGIN=${o.base}`);
  const stop = () => o.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
