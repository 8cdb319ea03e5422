// JPEG-LS frames (DICOM transfer syntaxes 1.2.840.10008.1.2.4.80 lossless and
// .81 near-lossless) through CharLS compiled to WebAssembly
// (@cornerstonejs/codec-charls, its WASM decoder build): a kept codec, as for
// JPEG 2000. Isomorphic: the Emscripten factory and its wasm bytes are
// injected (Node: jpegls-node.ts).
//
// CharLS hands back samples pixel-interleaved (RGBRGB) for line- and
// sample-interleaved streams and plane by plane for non-interleaved ones;
// 8-bit grey or RGB only (whole-slide images; 16-bit would need a wider path).
import { ImageboxError } from '../errors.js';
import type { RGBA } from '../contracts/pixels.js';
import { samplesToRgba } from './image-ops.js';
import type { Kernels } from './kernels.js';

export interface CharlsModule {
  JpegLSDecoder: new () => CharlsDecoder;
}

interface CharlsDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number };
  /** 0 none (planar), 1 line, 2 sample. */
  getInterleaveMode(): number;
  getNearLossless(): number;
  delete?(): void;
}

export type CharlsFactory = (opts: { wasmBinary?: ArrayBuffer | Uint8Array; print?: (s: string) => void; printErr?: (s: string) => void }) => Promise<CharlsModule>;

/** Largest frame accepted (pixels), as for JPEG 2000 tiles. */
export const JPEGLS_MAX_PIXELS = 16 * 1024 * 1024;
/** Largest codestream accepted (bytes): more than an uncompressed frame of the largest size is not JPEG-LS. */
const MAX_INPUT = JPEGLS_MAX_PIXELS * 4;

export class JpegLsDecoder {
  private constructor(private readonly m: CharlsModule) {}

  static async create(factory: CharlsFactory, opts: { wasmBinary?: ArrayBuffer | Uint8Array } = {}): Promise<JpegLsDecoder> {
    const quiet = (): void => undefined;
    return new JpegLsDecoder(await factory({ ...opts, print: quiet, printErr: quiet }));
  }

  /** One frame -> RGBA (grey replicated), cropped to validWidth x validHeight. */
  decode(k: Kernels, bytes: Uint8Array, validWidth?: number, validHeight?: number): RGBA {
    if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) throw new ImageboxError('E_CORRUPT_TILE', 'not a JPEG-LS stream (no SOI)');
    if (bytes.length > MAX_INPUT) throw new ImageboxError('E_TOO_LARGE', `JPEG-LS stream of ${bytes.length} bytes`);
    const d = new this.m.JpegLSDecoder();
    try {
      d.getEncodedBuffer(bytes.length).set(bytes);
      try {
        d.decode();
      } catch (e) {
        // CharLS throws Emscripten exceptions (numbers or Errors): the stream is damaged
        throw new ImageboxError('E_CORRUPT_TILE', `JPEG-LS: ${e instanceof Error ? e.message : 'the stream does not decode'}`);
      }
      const f = d.getFrameInfo();
      if (f.bitsPerSample !== 8) throw new ImageboxError('E_UNSUPPORTED_CODEC', `JPEG-LS with ${f.bitsPerSample} bits per sample (8 only)`);
      if (f.componentCount !== 1 && f.componentCount !== 3) throw new ImageboxError('E_UNSUPPORTED_CODEC', `JPEG-LS with ${f.componentCount} components`);
      if (f.width < 1 || f.height < 1 || f.width * f.height > JPEGLS_MAX_PIXELS) throw new ImageboxError('E_TOO_LARGE', `JPEG-LS frame of ${f.width}x${f.height}`);
      const n = f.width * f.height;
      let samples = d.getDecodedBuffer();
      if (samples.length < n * f.componentCount) throw new ImageboxError('E_CORRUPT_TILE', `JPEG-LS gave ${samples.length} samples for ${f.width}x${f.height}x${f.componentCount}`);
      if (f.componentCount === 3 && d.getInterleaveMode() === 0) {
        const planar = samples;
        samples = new Uint8Array(n * 3);
        for (let i = 0; i < n; i++) {
          samples[i * 3] = planar[i]!;
          samples[i * 3 + 1] = planar[n + i]!;
          samples[i * 3 + 2] = planar[2 * n + i]!;
        }
      } else {
        samples = samples.slice(0, n * f.componentCount); // the decoder's heap view is only valid until its next use
      }
      return samplesToRgba(k, samples, f.width, f.height, f.componentCount, Math.min(validWidth ?? f.width, f.width), Math.min(validHeight ?? f.height, f.height));
    } finally {
      d.delete?.();
    }
  }
}
