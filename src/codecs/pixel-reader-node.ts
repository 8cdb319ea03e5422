// Node only: the PixelReader with this thread's kernels, OpenJPEG and CharLS.
import type { PixelReader } from '../contracts/pixels.js';
import { jpeg2000Decoder } from './jpeg2000-node.js';
import { jpegLsDecoder } from './jpegls-node.js';
import { kernels } from './kernels-node.js';
import { pixelReader } from './pixel-reader.js';

let shared: Promise<PixelReader> | undefined;

export function nodePixelReader(): Promise<PixelReader> {
  shared ??= kernels().then(
    (k) => pixelReader({ kernels: k, jpeg2000: jpeg2000Decoder, jpegls: jpegLsDecoder }),
    (e: unknown) => {
      shared = undefined;
      throw e;
    },
  );
  return shared;
}
