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
