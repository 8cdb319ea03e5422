// Node only: load build/kernels.wasm once per thread.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ImageboxError } from '../errors.js';
import { Kernels } from './kernels.js';

/** build/kernels.wasm, from src/codecs (vitest) or dist/codecs (built). */
export const KERNELS_WASM_PATH = fileURLToPath(new URL('../../build/kernels.wasm', import.meta.url));

let shared: Promise<Kernels> | undefined;

export function kernels(): Promise<Kernels> {
  if (!shared) {
    shared = readFile(KERNELS_WASM_PATH).then(
      (bytes) => Kernels.fromBytes(bytes),
      () => {
        shared = undefined;
        throw new ImageboxError('E_INTERNAL', `missing ${KERNELS_WASM_PATH}: run npm run build`);
      },
    );
  }
  return shared;
}
