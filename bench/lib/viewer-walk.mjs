// The seeded viewer session of bench/stream-session.mjs (and of npm run bench):
// a 1920x1080 view walking a slide's native levels (pans of 1-3 tiles that keep
// their direction 70% of the time, zoom in / out 20% each), replayed over the
// WebSocket stream or over HTTP IIIF (six keep-alive connections, a browser's,
// each tile of a view asked for once). Per view: the time until every tile of
// it has arrived, then a dwell (a reader looking).
import { Pool } from 'undici';
import { connectTileStream } from 'imagebox/stream';
import { rng } from '../harness.mjs';

const W = 1920;
const H = 1080;

// ---- the seeded walk ------------------------------------------------------------------

/** Views in level pixels: pans of 1-3 tiles that keep their direction 70% of the time, zoom in / out 20% each. */
export function walk(levels, seed, n) {
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

export function visible(l, v) {
  const out = [];
  const c0 = Math.max(0, Math.floor(v.x / l.tileWidth));
  const r0 = Math.max(0, Math.floor(v.y / l.tileHeight));
  const c1 = Math.min(l.cols - 1, Math.floor((v.x + v.width - 1) / l.tileWidth));
  const r1 = Math.min(l.rows - 1, Math.floor((v.y + v.height - 1) / l.tileHeight));
  for (let r = r0; r <= r1; r++) for (let c = c0; c <= c1; c++) out.push([c, r]);
  return out;
}


// ---- one session over the stream ----------------------------------------------------------

/** `onOpened(openMs)` is awaited once the slide is open (connect + open), before the first view. */
export async function streamSession(base, id, encoding, views, { dwellMs = 150, onOpened } = {}) {
  const o0 = performance.now();
  const s = await connectTileStream(base.replace('http', 'ws') + '/stream', { encodings: [encoding] });
  const slide = await s.open(id);
  const openMs = performance.now() - o0;
  await onOpened?.(openMs);
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
    if (dwellMs > 0) await new Promise((res) => setTimeout(res, dwellMs));
  }
  const st = s.stats();
  await s.close();
  return { times, panTimes, newTimes, visibleTiles, cachedViews, prefetchHit: st.prefetchedUsed / Math.max(1, visibleTiles), wireBytes: st.bytesReceived, openMs };
}

// ---- the same session over HTTP IIIF (6 keep-alive connections, nothing prefetched) ------------

/** `onOpened(openMs)`: given, info.json is asked for first (as a viewer does) and this is awaited after it. */
export async function iiifSession(base, id, levels, views, { dwellMs = 150, connections = 6, onOpened } = {}) {
  const pool = new Pool(base, { connections, pipelining: 1 });
  let openMs;
  if (onOpened) {
    const o0 = performance.now();
    const res = await pool.request({ method: 'GET', path: `/iiif/3/${encodeURIComponent(id)}/info.json` });
    await res.body.arrayBuffer();
    if (res.statusCode !== 200) throw new Error(`info.json: HTTP ${res.statusCode}`);
    openMs = performance.now() - o0;
    await onOpened(openMs);
  }
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
    await Promise.all(Array.from({ length: connections }, worker));
    const ms = performance.now() - t0;
    times.push(ms);
    if (v.kind === 'pan' && v.tiles === 1) panTimes.push(ms);
    if (need.length > 0) newTimes.push(ms);
    if (dwellMs > 0) await new Promise((res) => setTimeout(res, dwellMs));
  }
  await pool.close();
  return { times, panTimes, newTimes, visibleTiles, cachedViews, prefetchHit: 0, wireBytes, openMs };
}
