// Node only: the PixelReader with this thread's kernels and OpenJPEG.
import type { PixelReader } from '../contracts/pixels.js';
import { jpeg2000Decoder } from './jpeg2000-node.js';
import { kernels } from './kernels-node.js';
import { pixelReader } from './pixel-reader.js';

let shared: Promise<PixelReader> | undefined;

export function nodePixelReader(): Promise<PixelReader> {
  shared ??= kernels().then(
    (k) => pixelReader({ kernels: k, jpeg2000: jpeg2000Decoder }),
    (e: unknown) => {
      shared = undefined;
      throw e;
    },
  );
  return shared;
}
