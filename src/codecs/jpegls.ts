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

/** SOF55's sample precision, size and components, or E_CORRUPT_TILE (no SOI, no frame header in the first 64 KiB). */
export function frameHeader(b: Uint8Array): { bits: number; width: number; height: number; components: number } {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) throw new ImageboxError('E_CORRUPT_TILE', 'not a JPEG-LS stream (no SOI)');
  let i = 2;
  const end = Math.min(b.length, 64 * 1024);
  while (i + 4 <= end) {
    if (b[i] !== 0xff) throw new ImageboxError('E_CORRUPT_TILE', 'JPEG-LS: no marker where one belongs');
    const m = b[i + 1]!;
    if (m === 0xff) {
      i++;
      continue;
    }
    const len = (b[i + 2]! << 8) | b[i + 3]!;
    if (len < 2) throw new ImageboxError('E_CORRUPT_TILE', 'JPEG-LS: a marker segment of length < 2');
    if (m === 0xf7) {
      if (i + 2 + len > b.length || len < 8) throw new ImageboxError('E_CORRUPT_TILE', 'JPEG-LS: a short frame header');
      return { bits: b[i + 4]!, height: (b[i + 5]! << 8) | b[i + 6]!, width: (b[i + 7]! << 8) | b[i + 8]!, components: b[i + 9]! };
    }
    if (m === 0xda || m === 0xd9) break; // a scan before any frame header
    i += 2 + len;
  }
  throw new ImageboxError('E_CORRUPT_TILE', 'JPEG-LS: no frame header (SOF55)');
}

export class JpegLsDecoder {
  private constructor(private readonly m: CharlsModule) {}

  static async create(factory: CharlsFactory, opts: { wasmBinary?: ArrayBuffer | Uint8Array } = {}): Promise<JpegLsDecoder> {
    const quiet = (): void => undefined;
    return new JpegLsDecoder(await factory({ ...opts, print: quiet, printErr: quiet }));
  }

  /**
   * One frame -> RGBA (grey replicated), cropped to validWidth x validHeight.
   * `expect`: the frame size the container gives (DICOM Columns x Rows); a stream
   * that says otherwise is refused before CharLS sees it.
   */
  decode(k: Kernels, bytes: Uint8Array, expect?: { width: number; height: number }, validWidth?: number, validHeight?: number): RGBA {
    if (bytes.length > MAX_INPUT) throw new ImageboxError('E_TOO_LARGE', `JPEG-LS stream of ${bytes.length} bytes`);
    // the frame header is checked here: CharLS would take a hostile one's size at its word (minutes of decoding)
    const h = frameHeader(bytes);
    if (h.bits !== 8) throw new ImageboxError('E_UNSUPPORTED_CODEC', `JPEG-LS with ${h.bits} bits per sample (8 only)`);
    if (h.components !== 1 && h.components !== 3) throw new ImageboxError('E_UNSUPPORTED_CODEC', `JPEG-LS with ${h.components} components`);
    if (h.width * h.height > JPEGLS_MAX_PIXELS) throw new ImageboxError('E_TOO_LARGE', `JPEG-LS frame of ${h.width}x${h.height}`);
    if (expect && (h.width !== expect.width || h.height !== expect.height)) {
      throw new ImageboxError('E_CORRUPT_TILE', `JPEG-LS frame of ${h.width}x${h.height} where the file says ${expect.width}x${expect.height}`);
    }
    // CharLS spends seconds (7-17 s measured, 256x256) failing on a stream cut short: a complete one ends with EOI (a DICOM fragment may pad one zero byte after it)
    let end = bytes.length;
    while (end > 2 && bytes.length - end < 3 && bytes[end - 1] === 0) end--;
    if (bytes[end - 2] !== 0xff || bytes[end - 1] !== 0xd9) throw new ImageboxError('E_CORRUPT_TILE', 'JPEG-LS stream without its end marker (cut short)');
    // a scan far smaller than any coding of the frame could be (JPEG-LS codes a run of equal samples in a few bits, not less than 1 bit per 64): damaged
    if (bytes.length * 8 * 64 < h.width * h.height) throw new ImageboxError('E_CORRUPT_TILE', `JPEG-LS stream of ${bytes.length} bytes for a ${h.width}x${h.height} frame`);
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
      if (f.width !== h.width || f.height !== h.height || f.componentCount !== h.components || f.bitsPerSample !== 8) {
        throw new ImageboxError('E_CORRUPT_TILE', `JPEG-LS: CharLS decoded ${f.width}x${f.height}x${f.componentCount} (${f.bitsPerSample} bits) of a ${h.width}x${h.height}x${h.components} frame`);
      }
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
