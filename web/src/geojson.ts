// GeoJSON features (QuPath's export: a FeatureCollection of Polygon,
// MultiPolygon, LineString, Point in level-0 pixels) drawn as outlines over
// the slide, on a 2D canvas above the tiles.
import type { ViewState, Viewport } from './view.js';

type Position = number[];
interface Geometry {
  type: string;
  coordinates?: unknown;
  geometries?: Geometry[];
}
interface Feature {
  type: 'Feature';
  geometry: Geometry | null;
  properties?: { classification?: { color?: number[] | number; name?: string }; color?: string; name?: string } | null;
}
export interface FeatureCollection {
  type: 'FeatureCollection';
  features: Feature[];
}

function colourOf(f: Feature): string {
  const c = f.properties?.classification?.color;
  if (Array.isArray(c) && c.length >= 3) return `rgb(${c[0]},${c[1]},${c[2]})`;
  if (typeof c === 'number') return `rgb(${(c >> 16) & 255},${(c >> 8) & 255},${c & 255})`;
  return f.properties?.color ?? '#ffd400';
}

export function normalise(g: unknown): FeatureCollection {
  const o = g as { type?: string };
  if (g === null || g === undefined) return { type: 'FeatureCollection', features: [] };
  if (o?.type === 'FeatureCollection') {
    const f = (o as { features?: unknown }).features;
    if (!Array.isArray(f)) throw new Error('a FeatureCollection without a features array');
    return o as FeatureCollection;
  }
  if (o?.type === 'Feature') return { type: 'FeatureCollection', features: [o as Feature] };
  if (Array.isArray(g)) return { type: 'FeatureCollection', features: g as Feature[] };
  if (o?.type) return { type: 'FeatureCollection', features: [{ type: 'Feature', geometry: o as Geometry, properties: {} }] };
  throw new Error('not GeoJSON');
}

export class GeoJsonLayer {
  visible = true;
  constructor(
    private readonly canvas: HTMLCanvasElement,
    public features: FeatureCollection,
  ) {}

  draw(v: ViewState, vp: Viewport, scale = 1): void {
    const c = this.canvas;
    const w = Math.round(vp.width * vp.dpr);
    const h = Math.round(vp.height * vp.dpr);
    if (c.width !== w || c.height !== h) {
      c.width = w;
      c.height = h;
    }
    const ctx = c.getContext('2d')!;
    ctx.clearRect(0, 0, w, h);
    if (!this.visible) return;
    const s = v.zoom * vp.dpr * scale;
    const ox = (vp.width / 2) * vp.dpr - v.cx * vp.dpr * v.zoom;
    const oy = (vp.height / 2) * vp.dpr - v.cy * vp.dpr * v.zoom;
    const P = (p: Position): [number, number] => [ox + p[0]! * s, oy + p[1]! * s];
    ctx.lineWidth = Math.max(1, 1.5 * vp.dpr);
    const ring = (r: Position[], close: boolean): void => {
      r.forEach((p, i) => {
        const [x, y] = P(p);
        if (i === 0) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      });
      if (close) ctx.closePath();
    };
    const geom = (g: Geometry): void => {
      const k = g.coordinates as never;
      switch (g.type) {
        case 'Polygon':
          for (const r of k as Position[][]) ring(r, true);
          break;
        case 'MultiPolygon':
          for (const poly of k as Position[][][]) for (const r of poly) ring(r, true);
          break;
        case 'LineString':
          ring(k as Position[], false);
          break;
        case 'MultiLineString':
          for (const l of k as Position[][]) ring(l, false);
          break;
        case 'Point': {
          const [x, y] = P(k as Position);
          ctx.moveTo(x + 4 * vp.dpr, y);
          ctx.arc(x, y, 4 * vp.dpr, 0, Math.PI * 2);
          break;
        }
        case 'GeometryCollection':
          for (const c2 of g.geometries ?? []) geom(c2);
          break;
      }
    };
    for (const f of this.features.features) {
      if (!f.geometry) continue;
      ctx.beginPath();
      ctx.strokeStyle = colourOf(f);
      geom(f.geometry);
      ctx.stroke();
    }
  }
}
