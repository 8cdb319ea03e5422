// Transparent pixels over a background (white, OpenSlide's default): what JPEG,
// which has no alpha, and thumbnails show where a slide has no data.
import type { RGBA } from '../contracts/pixels.js';

/** `img` composited over an opaque background; the same object when already opaque. */
export function flatten(img: RGBA, background: [number, number, number] = [255, 255, 255]): RGBA {
  const d = img.data;
  const n = img.width * img.height * 4;
  let opaque = true;
  for (let i = 3; i < n; i += 4) {
    if (d[i] !== 255) {
      opaque = false;
      break;
    }
  }
  if (opaque) return img;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 4) {
    const a = d[i + 3]!;
    const inv = 255 - a;
    out[i] = (d[i]! * a + background[0] * inv + 127) / 255;
    out[i + 1] = (d[i + 1]! * a + background[1] * inv + 127) / 255;
    out[i + 2] = (d[i + 2]! * a + background[2] * inv + 127) / 255;
    out[i + 3] = 255;
  }
  return { width: img.width, height: img.height, data: out };
}
