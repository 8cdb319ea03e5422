// The valid top-left part of a decoded tile: decoders give the padded stored
// size (JPEG's MCU-aligned tile, JPEG 2000's full codestream), edge tiles are smaller.
import type { RGBA } from '../contracts/pixels.js';

export function cropTo(img: RGBA, width: number, height: number): RGBA {
  if (img.width === width && img.height === height) return img;
  const w = Math.min(width, img.width);
  const h = Math.min(height, img.height);
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) data.set(img.data.subarray(y * img.width * 4, (y * img.width + w) * 4), y * w * 4);
  return { width: w, height: h, data };
}
