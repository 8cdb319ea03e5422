// The view: which part of the slide is on screen, and at which resolution.
// The centre (cx, cy) is in level-0 pixels; zoom is CSS pixels per level-0
// pixel. Everything else (the level to read, its rectangle, screen <-> slide)
// follows from it and the viewport.

import type { Level } from '../../src/slide/types.js';

/** A level of the slide on screen (the geometry the stream's SLIDE frame carries). */
export type Grid = Level;

export interface ViewState {
  cx: number;
  cy: number;
  zoom: number;
}

export interface Viewport {
  /** CSS pixels. */
  width: number;
  height: number;
  /** Device pixels per CSS pixel. */
  dpr: number;
}

/** The coarsest level that still gives at least one of its pixels per device pixel (sharp at any devicePixelRatio). */
export function levelFor(levels: readonly Grid[], zoom: number, dpr: number): number {
  const want = 1 / (zoom * dpr); // level-0 px per device px
  let best = 0;
  for (let i = 0; i < levels.length; i++) if (levels[i]!.downsample <= want * 1.02) best = i;
  return best;
}

/** The view's rectangle in the pixels of `level`. */
export function levelRect(levels: readonly Grid[], level: number, v: ViewState, vp: Viewport): { x: number; y: number; width: number; height: number } {
  const ds = levels[level]!.downsample;
  const w0 = vp.width / v.zoom;
  const h0 = vp.height / v.zoom;
  return { x: (v.cx - w0 / 2) / ds, y: (v.cy - h0 / 2) / ds, width: w0 / ds, height: h0 / ds };
}

/** The zoom at which the whole slide fits the viewport. */
export function fitZoom(levels: readonly Grid[], vp: Viewport): number {
  const l0 = levels[0]!;
  return Math.min(vp.width / l0.width, vp.height / l0.height);
}

export function clampView(levels: readonly Grid[], v: ViewState, vp: Viewport, maxZoom = 4): ViewState {
  const l0 = levels[0]!;
  const fit = fitZoom(levels, vp);
  const zoom = Math.min(maxZoom, Math.max(fit / 4, v.zoom));
  // keep the centre on the slide (a margin of half a viewport is allowed)
  const cx = Math.min(l0.width, Math.max(0, v.cx));
  const cy = Math.min(l0.height, Math.max(0, v.cy));
  return { cx, cy, zoom };
}

export function screenToSlide(v: ViewState, vp: Viewport, sx: number, sy: number): [number, number] {
  return [v.cx + (sx - vp.width / 2) / v.zoom, v.cy + (sy - vp.height / 2) / v.zoom];
}

/** Zoom by `factor` keeping the slide point under (sx, sy) where it is. */
export function zoomAround(v: ViewState, vp: Viewport, factor: number, sx: number, sy: number): ViewState {
  const [px, py] = screenToSlide(v, vp, sx, sy);
  const zoom = v.zoom * factor;
  return { zoom, cx: px - (sx - vp.width / 2) / zoom, cy: py - (sy - vp.height / 2) / zoom };
}
