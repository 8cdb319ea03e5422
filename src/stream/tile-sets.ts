// Which tiles a view needs, in the order it needs them: the visible tiles of
// its level centre outwards, then the prefetch tiers: a ring around the view
// reaching further along the motion, the next finer level under the view's
// centre, the next coarser level under the whole view (placeholders).
// Pure functions over level geometry. Isomorphic.

import type { Level } from '../slide/types.js';

/** The geometry the tile sets need: a Level. */
export type LevelGrid = Level;

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Why a tile is wanted, most urgent first. */
export const Tier = { Visible: 0, Ring: 1, Finer: 2, Coarser: 3 } as const;
export type TierCode = (typeof Tier)[keyof typeof Tier];

export interface WantedTile {
  key: number;
  level: number;
  col: number;
  row: number;
  tier: TierCode;
}

/** One number per tile: level (< 32) * 2^48 + row * 2^24 + col (cols, rows < 2^24). */
export function tileKey(level: number, col: number, row: number): number {
  return level * 2 ** 48 + row * 2 ** 24 + col;
}

export function keyParts(key: number): { level: number; col: number; row: number } {
  const level = Math.floor(key / 2 ** 48);
  const rest = key - level * 2 ** 48;
  const row = Math.floor(rest / 2 ** 24);
  return { level, row, col: rest - row * 2 ** 24 };
}

/** The tile columns and rows a rectangle (level pixels) covers, clipped to the level; undefined when none. */
export function tileRange(g: LevelGrid, r: Rect): { c0: number; c1: number; r0: number; r1: number } | undefined {
  const c0 = Math.max(0, Math.floor(r.x / g.tileWidth));
  const r0 = Math.max(0, Math.floor(r.y / g.tileHeight));
  const c1 = Math.min(g.cols - 1, Math.floor((r.x + r.width - 1) / g.tileWidth));
  const r1 = Math.min(g.rows - 1, Math.floor((r.y + r.height - 1) / g.tileHeight));
  return c0 <= c1 && r0 <= r1 ? { c0, c1, r0, r1 } : undefined;
}

/** Tiles of a range ordered by distance of their centre from (cx, cy) in level pixels, nearest first. */
function byDistance(g: LevelGrid, level: number, t: { c0: number; c1: number; r0: number; r1: number }, cx: number, cy: number, tier: TierCode, bias?: { ux: number; uy: number }): WantedTile[] {
  const out: (WantedTile & { d: number })[] = [];
  for (let row = t.r0; row <= t.r1; row++) {
    for (let col = t.c0; col <= t.c1; col++) {
      const dx = ((col + 0.5) * g.tileWidth - cx) / g.tileWidth;
      const dy = ((row + 0.5) * g.tileHeight - cy) / g.tileHeight;
      let d = Math.hypot(dx, dy);
      // ahead of the motion comes first: subtract the projection on the motion direction
      if (bias) d -= 0.75 * (dx * bias.ux + dy * bias.uy);
      out.push({ key: tileKey(level, col, row), level, col, row, tier, d });
    }
  }
  out.sort((a, b) => a.d - b.d || a.row - b.row || a.col - b.col);
  return out.map(({ d: _d, ...w }) => w);
}

/** The visible tiles of a view, centre outwards. */
export function visibleTiles(g: LevelGrid, level: number, v: Rect): WantedTile[] {
  const t = tileRange(g, v);
  if (!t) return [];
  return byDistance(g, level, t, v.x + v.width / 2, v.y + v.height / 2, Tier.Visible);
}

export interface PrefetchPlan {
  /** Seconds of motion to read ahead (default 0.5). */
  lookaheadSeconds: number;
  /** Ring tiles beyond the view on every side (default 1), and at most this many more along the motion (default 3). */
  ring: number;
  ahead: number;
  /** Most tiles per tier. */
  maxRing: number;
  maxFiner: number;
  maxCoarser: number;
}

export const DEFAULT_PREFETCH: PrefetchPlan = { lookaheadSeconds: 0.5, ring: 1, ahead: 3, maxRing: 64, maxFiner: 16, maxCoarser: 24 };

/**
 * The prefetch tiers of a view, most useful first, without the visible tiles:
 * ring (biased along the motion vx, vy in level px/s), finer under the centre,
 * coarser under the whole view.
 */
export function prefetchTiles(levels: readonly LevelGrid[], level: number, v: Rect, vx: number, vy: number, p: PrefetchPlan = DEFAULT_PREFETCH): WantedTile[] {
  const g = levels[level]!;
  const out: WantedTile[] = [];
  const visible = tileRange(g, v);
  const inView = (w: WantedTile): boolean =>
    visible !== undefined && w.col >= visible.c0 && w.col <= visible.c1 && w.row >= visible.r0 && w.row <= visible.r1;
  // ring: one tile around, and up to `ahead` more along the motion
  const speed = Math.hypot(vx, vy);
  const moving = speed > 1e-6;
  // up to `ahead` tiles, or half the view where that is more (a reader's pan is about half a view)
  const ahead = (d: number, tile: number, extent: number): number =>
    moving ? Math.min(Math.max(p.ahead, Math.ceil(extent / 2 / tile)), Math.ceil((Math.abs(d) * p.lookaheadSeconds) / tile)) : 0;
  const ax = ahead(vx, g.tileWidth, v.width);
  const ay = ahead(vy, g.tileHeight, v.height);
  const grow = {
    left: p.ring * g.tileWidth + (vx < 0 ? ax * g.tileWidth : 0),
    right: p.ring * g.tileWidth + (vx > 0 ? ax * g.tileWidth : 0),
    up: p.ring * g.tileHeight + (vy < 0 ? ay * g.tileHeight : 0),
    down: p.ring * g.tileHeight + (vy > 0 ? ay * g.tileHeight : 0),
  };
  const ringRect = { x: v.x - grow.left, y: v.y - grow.up, width: v.width + grow.left + grow.right, height: v.height + grow.up + grow.down };
  const rt = tileRange(g, ringRect);
  if (rt) {
    const bias = moving ? { ux: vx / speed, uy: vy / speed } : undefined;
    const ring = byDistance(g, level, rt, v.x + v.width / 2, v.y + v.height / 2, Tier.Ring, bias).filter((w) => !inView(w));
    // at most maxRing, or as many as the view has where that is more (half a view ahead of a large view)
    const visibleCount = visible ? (visible.c1 - visible.c0 + 1) * (visible.r1 - visible.r0 + 1) : 0;
    out.push(...ring.slice(0, Math.max(p.maxRing, visibleCount)));
  }
  // finer: the level below (more detail) under the central quarter of the view
  const finer = levels[level - 1];
  if (finer && level > 0) {
    const f = g.downsample / finer.downsample;
    const cx = (v.x + v.width / 2) * f;
    const cy = (v.y + v.height / 2) * f;
    const rect = { x: cx - (v.width * f) / 4, y: cy - (v.height * f) / 4, width: (v.width * f) / 2, height: (v.height * f) / 2 };
    const ft = tileRange(finer, rect);
    if (ft) out.push(...byDistance(finer, level - 1, ft, cx, cy, Tier.Finer).slice(0, p.maxFiner));
  }
  // coarser: the level above (less detail) under the whole view: what to draw while zooming out
  const coarser = levels[level + 1];
  if (coarser) {
    const f = g.downsample / coarser.downsample;
    const rect = { x: v.x * f, y: v.y * f, width: v.width * f, height: v.height * f };
    const ct = tileRange(coarser, rect);
    if (ct) out.push(...byDistance(coarser, level + 1, ct, (v.x + v.width / 2) * f, (v.y + v.height / 2) * f, Tier.Coarser).slice(0, p.maxCoarser));
  }
  return out;
}
