// Procedural "H&E tissue on glass" for synthetic benchmark slides: every pixel
// is a pure function of (seed, x, y) in level-0 coordinates, so any tile can be
// rendered on its own, in any order, on any thread, with the same bytes.
//
// - Where the tissue is: a low-frequency noise field (scaled to the slide, so a
//   small CI slide has tissue and glass too) under an elliptical envelope,
//   thresholded (~55-65 % of the area), with lumens (holes) at ~150 px.
// - What it looks like: eosin pink stroma with wavy fibres, lilac cellular
//   areas (a ~600 px "cellularity" field), nuclei (dark purple ellipses of
//   2.5-5.5 px radius, one per 14 px cell at most, denser where cellular), and
//   per-pixel grain. Glass is near-white with faint noise, so glass tiles
//   compress to a few kB as they do in scans.
//
// Slow (large-scale) fields are evaluated on a 16 px grid aligned to level-0
// multiples of 16 and interpolated, which is exact for any tiling.

const GRID = 16;
const CELL = 14;

// colours (sRGB), written out as literals in the pixel loop:
// glass (241, 240, 243), stroma (233, 156, 196), cellular (196, 150, 206), nucleus (82, 48, 132)

export interface TissueOptions {
  seed: number;
  /** Level-0 size of the slide (the tissue layout scales with it; the cells do not). */
  slideWidth: number;
  slideHeight: number;
}

function hash(ix: number, iy: number, salt: number): number {
  let h = (Math.imul(ix | 0, 0x27d4eb2d) + Math.imul(iy | 0, 0x165667b1)) ^ salt;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) * 2.3283064365386963e-10;
}

/** Value noise in [0, 1) with lattice spacing `l` (smoothstep-interpolated). */
function noise(x: number, y: number, l: number, salt: number): number {
  const fx = x / l;
  const fy = y / l;
  const ix = Math.floor(fx);
  const iy = Math.floor(fy);
  let tx = fx - ix;
  let ty = fy - iy;
  tx = tx * tx * (3 - 2 * tx);
  ty = ty * ty * (3 - 2 * ty);
  const a = hash(ix, iy, salt);
  const b = hash(ix + 1, iy, salt);
  const c = hash(ix, iy + 1, salt);
  const d = hash(ix + 1, iy + 1, salt);
  return a + (b - a) * tx + (c - a) * ty + (a - b - c + d) * tx * ty;
}

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

export class TissueField {
  private readonly salt: number;
  private readonly span: number;
  private readonly cx: number;
  private readonly cy: number;
  private readonly rx: number;
  private readonly ry: number;
  private readonly fdx: number;
  private readonly fdy: number;

  constructor(readonly options: TissueOptions) {
    const { seed, slideWidth, slideHeight } = options;
    this.salt = Math.imul((seed | 0) ^ 0x5bd1e995, 0x9e3779b1) | 0;
    this.span = Math.max(slideWidth, slideHeight);
    this.cx = slideWidth / 2;
    this.cy = slideHeight / 2;
    this.rx = slideWidth * 0.5;
    this.ry = slideHeight * 0.5;
    const angle = hash(seed, 0, 0x1234) * Math.PI;
    this.fdx = Math.cos(angle) / 9;
    this.fdy = Math.sin(angle) / 9;
  }

  /** Tissue coverage at a level-0 point: 0 glass .. 1 tissue (before the per-pixel edge grain). */
  alpha(x: number, y: number): number {
    const s = this.salt;
    const L = this.span;
    const n =
      noise(x, y, L / 3, s + 1) * 0.5 +
      noise(x, y, L / 7, s + 2) * 0.28 +
      noise(x, y, L / 16, s + 3) * 0.14 +
      noise(x, y, L / 40, s + 4) * 0.08;
    const ex = (x - this.cx) / this.rx;
    const ey = (y - this.cy) / this.ry;
    const envelope = 1 - (ex * ex + ey * ey);
    const m = n * 0.9 + envelope * 0.55 - 0.62;
    const section = clamp01(m / 0.025);
    if (section === 0) return 0;
    const lumen = noise(x, y, 150, s + 5) * 0.7 + noise(x, y, 60, s + 6) * 0.3;
    return section * clamp01((lumen - 0.22) / 0.12);
  }

  /** 0 stroma (pink) .. 1 cellular (lilac, many nuclei). */
  cellularity(x: number, y: number): number {
    const s = this.salt;
    return clamp01((noise(x, y, 640, s + 7) * 0.65 + noise(x, y, 210, s + 8) * 0.35 - 0.3) * 2.2);
  }

  /**
   * Level-0 RGBA of the w x h rectangle at (x0, y0), opaque. `glass` says the
   * whole rectangle is glass (no tissue at all).
   */
  render(x0: number, y0: number, w: number, h: number, out: Uint8Array = new Uint8Array(w * h * 4)): { data: Uint8Array; glass: boolean } {
    if (out.length < w * h * 4) throw new RangeError('render: output buffer too small');
    const s = this.salt;
    // slow fields on the global 16 px grid covering the rectangle
    const gx0 = Math.floor(x0 / GRID);
    const gy0 = Math.floor(y0 / GRID);
    const gw = Math.floor((x0 + w - 1) / GRID) - gx0 + 2;
    const gh = Math.floor((y0 + h - 1) / GRID) - gy0 + 2;
    const ga = new Float64Array(gw * gh);
    const gc = new Float64Array(gw * gh);
    const go = new Float64Array(gw * gh);
    let any = false;
    for (let j = 0; j < gh; j++) {
      for (let i = 0; i < gw; i++) {
        const gx = (gx0 + i) * GRID;
        const gy = (gy0 + j) * GRID;
        const a = this.alpha(gx, gy);
        ga[j * gw + i] = a;
        if (a > 0) any = true;
      }
    }
    const data = out;
    if (!any) {
      for (let y = 0; y < h; y++) {
        let p = y * w * 4;
        for (let x = 0; x < w; x++, p += 4) {
          const g = (hash(x0 + x, y0 + y, s + 9) * 5) | 0;
          data[p] = 239 + g;
          data[p + 1] = 238 + g;
          data[p + 2] = 241 + g;
          data[p + 3] = 255;
        }
      }
      return { data, glass: true };
    }
    for (let j = 0; j < gh; j++) {
      for (let i = 0; i < gw; i++) {
        const gx = (gx0 + i) * GRID;
        const gy = (gy0 + j) * GRID;
        gc[j * gw + i] = this.cellularity(gx, gy);
        go[j * gw + i] = (noise(gx, gy, 260, s + 10) * 0.7 + noise(gx, gy, 90, s + 19) * 0.3) * 14;
      }
    }
    // nuclei: at most one per 14 px cell, kept inside its cell; odd cell rows
    // are shifted half a cell (a staggered grid reads less like a lattice)
    const half = CELL / 2;
    const cx0 = Math.floor(x0 / CELL);
    const cy0 = Math.floor(y0 / CELL);
    const cw = Math.floor((x0 + w - 1 + half) / CELL) - cx0 + 1;
    const ch = Math.floor((y0 + h - 1) / CELL) - cy0 + 1;
    const ncx = new Float64Array(cw * ch);
    const ncy = new Float64Array(cw * ch);
    const nia = new Float64Array(cw * ch); // 1/a^2 along the major axis (0: no nucleus)
    const nib = new Float64Array(cw * ch);
    const ncs = new Float64Array(cw * ch);
    const nsn = new Float64Array(cw * ch);
    const ndk = new Float64Array(cw * ch);
    for (let j = 0; j < ch; j++) {
      const cj = cy0 + j;
      const off = (cj & 1) * half;
      for (let i = 0; i < cw; i++) {
        const ci = cx0 + i;
        const k = j * cw + i;
        const mx = (ci + 0.5) * CELL - off;
        const my = (cj + 0.5) * CELL;
        const a = this.alpha(mx, my);
        if (a <= 0) continue;
        const c = this.cellularity(mx, my);
        if (hash(ci, cj, s + 11) > (0.1 + 0.55 * c) * a) continue;
        const r = 2.4 + hash(ci, cj, s + 12) * 2.8;
        const elong = 1 + hash(ci, cj, s + 13) * 0.8;
        const ra = Math.min(r * elong, half - 0.6);
        const rb = r / elong + 0.4;
        const room = half - ra;
        ncx[k] = mx + (hash(ci, cj, s + 14) * 2 - 1) * room;
        ncy[k] = my + (hash(ci, cj, s + 15) * 2 - 1) * room;
        const th = hash(ci, cj, s + 16) * Math.PI;
        ncs[k] = Math.cos(th);
        nsn[k] = Math.sin(th);
        nia[k] = 1 / (ra * ra);
        nib[k] = 1 / (rb * rb);
        ndk[k] = 0.75 + hash(ci, cj, s + 17) * 0.25;
      }
    }
    // fine texture lattice (24 px), bilinear
    const T = 24;
    const tx0 = Math.floor(x0 / T);
    const ty0 = Math.floor(y0 / T);
    const tw = Math.floor((x0 + w - 1) / T) - tx0 + 2;
    const th = Math.floor((y0 + h - 1) / T) - ty0 + 2;
    const tex = new Float64Array(tw * th);
    for (let j = 0; j < th; j++) for (let i = 0; i < tw; i++) tex[j * tw + i] = hash(tx0 + i, ty0 + j, s + 18) * 2 - 1;

    // per-column lookups
    const colG = new Int32Array(w);
    const colGf = new Float64Array(w);
    const colC0 = new Int32Array(w);
    const colC1 = new Int32Array(w);
    const colT = new Int32Array(w);
    const colTf = new Float64Array(w);
    for (let x = 0; x < w; x++) {
      const X = x0 + x;
      const g = X / GRID - gx0;
      colG[x] = Math.floor(g);
      colGf[x] = g - Math.floor(g);
      colC0[x] = Math.floor(X / CELL) - cx0;
      colC1[x] = Math.floor((X + half) / CELL) - cx0;
      const t = X / T - tx0;
      colT[x] = Math.floor(t);
      colTf[x] = t - Math.floor(t);
    }
    // the grid rows interpolated to the current pixel row (y first, then x per pixel)
    const va = new Float64Array(gw);
    const vc = new Float64Array(gw);
    const vo = new Float64Array(gw);
    const vt = new Float64Array(tw);
    const fdx = this.fdx;
    const fdy = this.fdy;
    for (let y = 0; y < h; y++) {
      const Y = y0 + y;
      const g = Y / GRID - gy0;
      const gj = Math.floor(g);
      const fy = g - gj;
      const r0 = gj * gw;
      for (let i = 0; i < gw; i++) {
        va[i] = ga[r0 + i]! + (ga[r0 + gw + i]! - ga[r0 + i]!) * fy;
        vc[i] = gc[r0 + i]! + (gc[r0 + gw + i]! - gc[r0 + i]!) * fy;
        vo[i] = go[r0 + i]! + (go[r0 + gw + i]! - go[r0 + i]!) * fy;
      }
      const t = Y / T - ty0;
      const tj = Math.floor(t);
      const tfy = t - tj;
      const t0 = tj * tw;
      for (let i = 0; i < tw; i++) vt[i] = tex[t0 + i]! + (tex[t0 + tw + i]! - tex[t0 + i]!) * tfy;
      const cj = Math.floor(Y / CELL);
      const crow = (cj - cy0) * cw;
      const colC = cj & 1 ? colC1 : colC0;
      const fyY = Y * fdy;
      let p = y * w * 4;
      for (let x = 0; x < w; x++, p += 4) {
        const X = x0 + x;
        const gi = colG[x]!;
        const fx = colGf[x]!;
        let a = va[gi]! + (va[gi + 1]! - va[gi]!) * fx;
        const grain = hash(X, Y, s + 9);
        if (a <= 0) {
          const gn = (grain * 5) | 0;
          data[p] = 239 + gn;
          data[p + 1] = 238 + gn;
          data[p + 2] = 241 + gn;
          data[p + 3] = 255;
          continue;
        }
        const ti = colT[x]!;
        const tq = vt[ti]! + (vt[ti + 1]! - vt[ti]!) * colTf[x]!; // -1..1, smooth at 24 px
        if (a < 1) {
          a += tq * 1.4 * a * (1 - a);
          a = a < 0 ? 0 : a > 1 ? 1 : a;
        }
        const c = vc[gi]! + (vc[gi + 1]! - vc[gi]!) * fx;
        // wavy fibres in the stroma: a triangle wave along the slide's direction, warped by a smooth field
        const u = X * fdx + fyY + vo[gi]! + (vo[gi + 1]! - vo[gi]!) * fx + tq * 1.2;
        const fr = u - Math.floor(u);
        const fibre = (fr < 0.5 ? fr : 1 - fr) * 4 - 1; // -1..1
        const shade = 1 + tq * 0.06 + fibre * 0.07 * (1 - c) + (grain - 0.5) * 0.08;
        // stroma (233, 156, 196) .. cellular (196, 150, 206)
        let r = (233 - 37 * c) * shade;
        let gg = (156 - 6 * c) * shade;
        let b = (196 + 10 * c) * shade;
        const k = crow + colC[x]!;
        const ia = nia[k]!;
        if (ia > 0) {
          const dx = X + 0.5 - ncx[k]!;
          const dy = Y + 0.5 - ncy[k]!;
          const cs = ncs[k]!;
          const sn = nsn[k]!;
          const u1 = dx * cs + dy * sn;
          const v1 = dy * cs - dx * sn;
          const d = u1 * u1 * ia + v1 * v1 * nib[k]!;
          if (d < 2.2) {
            // a darker cytoplasm halo, then the nucleus (82, 48, 132) with a soft edge and chromatin grain
            const halo = d < 1 ? 1 : (2.2 - d) / 1.2;
            let wn = d < 1 ? (d < 0.667 ? 1 : (1 - d) * 3) : 0;
            wn *= ndk[k]! * (0.85 + grain * 0.3);
            r *= 1 - 0.08 * halo;
            gg *= 1 - 0.12 * halo;
            b *= 1 - 0.04 * halo;
            r += (82 - r) * wn;
            gg += (48 - gg) * wn;
            b += (132 - b) * wn;
          }
        }
        if (a < 1) {
          // over glass (241, 240, 243)
          const ia2 = 1 - a;
          const gl = 239 + grain * 5;
          r = r * a + gl * ia2;
          gg = gg * a + (gl - 1) * ia2;
          b = b * a + (gl + 2) * ia2;
        }
        data[p] = r < 0 ? 0 : r > 255 ? 255 : r;
        data[p + 1] = gg < 0 ? 0 : gg > 255 ? 255 : gg;
        data[p + 2] = b < 0 ? 0 : b > 255 ? 255 : b;
        data[p + 3] = 255;
      }
    }
    return { data, glass: false };
  }
}

/** Area-average a 4*w x 4*h RGBA block down by 4 (each output pixel the mean of 16, rounded). */
export function reduce4(src: Uint8Array, sw: number, sh: number): { data: Uint8Array; width: number; height: number } {
  const w = sw >> 2;
  const h = sh >> 2;
  const out = new Uint8Array(w * h * 4);
  const row = sw * 4;
  for (let y = 0; y < h; y++) {
    const base = y * 4 * row;
    let q = y * w * 4;
    for (let x = 0; x < w; x++, q += 4) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      let p = base + x * 16;
      for (let j = 0; j < 4; j++, p += row) {
        r += src[p]! + src[p + 4]! + src[p + 8]! + src[p + 12]!;
        g += src[p + 1]! + src[p + 5]! + src[p + 9]! + src[p + 13]!;
        b += src[p + 2]! + src[p + 6]! + src[p + 10]! + src[p + 14]!;
        a += src[p + 3]! + src[p + 7]! + src[p + 11]! + src[p + 15]!;
      }
      out[q] = (r + 8) >> 4;
      out[q + 1] = (g + 8) >> 4;
      out[q + 2] = (b + 8) >> 4;
      out[q + 3] = (a + 8) >> 4;
    }
  }
  return { data: out, width: w, height: h };
}
