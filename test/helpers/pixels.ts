// Reading reference PNGs and comparing pixels (PSNR, max abs difference).
import sharp from 'sharp';
import type { RGBA } from '../../src/contracts/pixels.js';

export async function loadPng(path: string): Promise<RGBA> {
  const { data, info } = await sharp(path).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/** Decode any image sharp reads (JPEG, PNG) to RGBA. */
export async function decodeImage(bytes: Uint8Array): Promise<RGBA> {
  const { data, info } = await sharp(bytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/** PSNR over all channels (alpha too when withAlpha), and the largest channel difference. */
export function compare(a: RGBA, b: RGBA, withAlpha: boolean): { psnr: number; maxDiff: number } {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`sizes differ: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  let se = 0;
  let n = 0;
  let maxDiff = 0;
  for (let i = 0; i < a.width * a.height * 4; i++) {
    if (!withAlpha && (i & 3) === 3) continue;
    const d = a.data[i]! - b.data[i]!;
    se += d * d;
    n++;
    if (Math.abs(d) > maxDiff) maxDiff = Math.abs(d);
  }
  return { psnr: se === 0 ? Infinity : 10 * Math.log10((255 * 255 * n) / se), maxDiff };
}

/**
 * PSNR and largest difference over the colour channels of `n` pixels of two
 * interleaved buffers (1 = grey, broadcast to R, G, B; 3 = RGB; 4 = RGBA).
 */
export function colourError(a: Uint8Array, aChannels: number, b: Uint8Array, bChannels: number, n = a.length / aChannels): { psnr: number; maxDiff: number } {
  let se = 0;
  let maxDiff = 0;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const d = a[i * aChannels + (aChannels === 1 ? 0 : c)]! - b[i * bChannels + (bChannels === 1 ? 0 : c)]!;
      se += d * d;
      if (d > maxDiff || -d > maxDiff) maxDiff = Math.abs(d);
    }
  }
  return { psnr: se === 0 ? Infinity : 10 * Math.log10((255 * 255 * n * 3) / se), maxDiff };
}

/** Area-average (exact coverage, alpha-weighted) downscale in plain JS: an independent reference for the kernel. */
export function areaRef(src: RGBA, dw: number, dh: number): Uint8Array {
  const sx = src.width / dw, sy = src.height / dh;
  const out = new Uint8Array(dw * dh * 4);
  for (let oy = 0; oy < dh; oy++) for (let ox = 0; ox < dw; ox++) {
    const x0 = ox * sx, x1 = Math.min((ox + 1) * sx, src.width), y0 = oy * sy, y1 = Math.min((oy + 1) * sy, src.height);
    const s = [0, 0, 0, 0];
    for (let j = Math.floor(y0); j < Math.min(Math.ceil(y1), src.height); j++) for (let i = Math.floor(x0); i < Math.min(Math.ceil(x1), src.width); i++) {
      const w = (Math.min(i + 1, x1) - Math.max(i, x0)) * (Math.min(j + 1, y1) - Math.max(j, y0));
      const p = (j * src.width + i) * 4, a = src.data[p + 3]!;
      for (let c = 0; c < 3; c++) s[c]! += w * a * src.data[p + c]!;
      s[3]! += w * a;
    }
    const o = (oy * dw + ox) * 4;
    if (s[3]! > 0) for (let c = 0; c < 3; c++) out[o + c] = Math.round(s[c]! / s[3]!);
    out[o + 3] = s[3]! > 0 ? Math.round(s[3]! / ((x1 - x0) * (y1 - y0))) : 0;
  }
  return out;
}
