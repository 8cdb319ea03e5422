// A pixel backend for tests (bundled into the worker by helpers.ts): renders a
// solid colour chosen by the region, encodes with sharp, and for regions at
// x = 666 waits until the job is cancelled (to test aborts and the queue); at
// x = 777 it computes for 400 ms without yielding (a WASM kernel cannot be
// interrupted either); at x = 888 it never returns (a kernel that hangs).
import sharp from 'sharp';
import type { PixelBackend } from '../../src/server/pixels/backend.js';
import type { RGBA } from '../../src/contracts/pixels.js';

function solid(w: number, h: number, r: number, g: number, b: number): RGBA {
  const data = new Uint8Array(w * h * 4);
  for (let i = 0; i < data.length; i += 4) data.set([r, g, b, 255], i);
  return { width: w, height: h, data };
}

export async function createBackend(): Promise<PixelBackend> {
  const id = (img: RGBA): RGBA => img;
  return {
    renderer: {
      async region(_slide, level, x0, _y0, _w, _h, outW, outH, signal) {
        if (x0 === 777) {
          const until = Date.now() + 400;
          while (Date.now() < until) {
            /* deaf to cancellation, as a running kernel is */
          }
          return solid(outW, outH, 77, 77, 77);
        }
        if (x0 === 888) {
          for (;;) {
            /* hung */
          }
        }
        if (x0 === 666) {
          await new Promise<void>((resolve) => {
            if (signal?.aborted) resolve();
            signal?.addEventListener('abort', () => resolve(), { once: true });
          });
          throw Object.assign(new Error('cancelled'), { name: 'AbortError' });
        }
        return solid(outW, outH, 10 + level, 200, 30);
      },
    },
    async encode(img, format) {
      const s = sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), { raw: { width: img.width, height: img.height, channels: 4 } });
      return new Uint8Array(format === 'png' ? await s.png().toBuffer() : await s.jpeg().toBuffer());
    },
    rotate: id,
    mirror: id,
    gray: id,
    bitonal: id,
    resize: id,
  };
}
