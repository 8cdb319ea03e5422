// The production pixel backend, one per worker thread: the neutral kernel
// backend (kernel-backend.ts) with this thread's kernels and decoders, PNG
// deflated by Node's zlib.
import { kernels } from '../../codecs/kernels-node.js';
import { nodePixelReader } from '../../codecs/pixel-reader-node.js';
import { encodePngNode } from '../../codecs/png-encode-node.js';
import type { PixelBackend } from './backend.js';
import { kernelBackend } from './kernel-backend.js';

export { regionRenderer } from './kernel-backend.js';

export async function createBackend(): Promise<PixelBackend> {
  return kernelBackend(await kernels(), await nodePixelReader(), encodePngNode);
}
