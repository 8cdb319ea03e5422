// Node only: the OpenJPEG WASM decoder from @cornerstonejs/codec-openjpeg
// (its `decodewasmjs` factory + `decodewasm` bytes, not the slow asm.js default).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { ImageboxError } from '../errors.js';
import { Jpeg2000Decoder, type OpenJpegFactory } from './jpeg2000.js';

const require = createRequire(import.meta.url);

let shared: Promise<Jpeg2000Decoder> | undefined;

/** One decoder (one OpenJPEG instance) per thread. */
export function jpeg2000Decoder(): Promise<Jpeg2000Decoder> {
  if (!shared) {
    shared = (async () => {
      const factory = require('@cornerstonejs/codec-openjpeg/decodewasmjs') as OpenJpegFactory;
      const wasmBinary = await readFile(require.resolve('@cornerstonejs/codec-openjpeg/decodewasm'));
      return Jpeg2000Decoder.create(factory, { wasmBinary });
    })().catch((e) => {
      shared = undefined;
      throw new ImageboxError('E_INTERNAL', `cannot load the OpenJPEG decoder: ${(e as Error).message}`, undefined, e);
    });
  }
  return shared;
}
