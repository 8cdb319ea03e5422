// Node only: CharLS's WASM decoder from @cornerstonejs/codec-charls (its
// `decodewasmjs` factory + `decodewasm` bytes).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { ImageboxError } from '../errors.js';
import { JpegLsDecoder, type CharlsFactory } from './jpegls.js';

const require = createRequire(import.meta.url);

let shared: Promise<JpegLsDecoder> | undefined;

/** One decoder (one CharLS instance) per thread, loaded on first use. */
export function jpegLsDecoder(): Promise<JpegLsDecoder> {
  if (!shared) {
    shared = (async () => {
      const factory = require('@cornerstonejs/codec-charls/decodewasmjs') as CharlsFactory;
      const wasmBinary = await readFile(require.resolve('@cornerstonejs/codec-charls/decodewasm'));
      return JpegLsDecoder.create(factory, { wasmBinary });
    })().catch((e) => {
      shared = undefined;
      throw new ImageboxError('E_INTERNAL', `cannot load the CharLS decoder: ${(e as Error).message}`, undefined, e);
    });
  }
  return shared;
}
